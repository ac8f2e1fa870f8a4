"""`check_augmentation_target`: refuse augmentation that cannot apply to a model's inputs (text, audio)."""

from keras_transfer.augmentation.pipeline import AugmentationPipeline
from keras_transfer.augmentation.random_resized_crop import RandomResizedCrop
from keras_transfer.augmentation.spec_augment import SpecAugment
from keras_transfer.augmentation.token_masking import RandomTokenMask
from keras_transfer.errors import InvalidConfigError

__all__ = ["check_augmentation_target"]


def _layers(augmentation):
    found = [augmentation]
    for attribute in ("augmentation_layers", "layers"):
        found.extend(getattr(augmentation, attribute, None) or [])
    return found


def check_augmentation_target(backbone, augmentation) -> None:
    """Check that ``augmentation`` fits the raw inputs of ``backbone`` (``TransferModel`` calls this).

    ``TransferModel`` applies its augmentation to the raw model inputs. For image backbones those are pixels;
    text backbones take raw strings (the tokenizer is inside), where no augmentation can run, and audio backbones
    raw waveforms (the front end is inside), where image augmentation, SpecAugment and token masking cannot run
    (a waveform layer of the user's own, e.g. ``keras.layers.GaussianNoise``, is allowed). The modality is read from the
    backbone's ``input_kind`` (``"image"`` when absent).

    Args:
        backbone: the model's backbone.
        augmentation: a Keras layer or None.

    Raises:
        InvalidConfigError: augmentation on a text or audio backbone, or a spectrogram / token layer on images.

    Examples:
    >>> backbone = keras_transfer.backbones.get("mobilenet_v2", weights=None, input_shape=(32, 32))
    >>> keras_transfer.augmentation.check_augmentation_target(backbone, keras_transfer.augmentation.get("light"))
    """
    if augmentation is None:
        return
    kind = getattr(backbone, "input_kind", "image") or "image"
    name = getattr(backbone, "backbone_name", getattr(backbone, "name", type(backbone).__name__))
    layers = _layers(augmentation)
    if kind == "text":
        raise InvalidConfigError(
            f"Augmentation cannot run on a text model: backbone {name!r} takes raw strings and tokenizes them "
            f"inside the model. Received: augmentation={type(augmentation).__name__} with input_kind='text'. "
            "Use augmentation=None; to mask tokens, apply keras_transfer.augmentation.RandomTokenMask to the "
            "token ids between the tokenizer and the encoder."
        )
    ours = (AugmentationPipeline, RandomResizedCrop, SpecAugment, RandomTokenMask)
    if kind == "audio" and any(isinstance(layer, ours) for layer in layers):
        raise InvalidConfigError(
            f"TransferModel's augmentation runs on raw inputs, which are waveforms for audio backbone {name!r}. "
            f"Received: augmentation={type(augmentation).__name__} with input_kind='audio'. Use augmentation=None "
            "and put keras_transfer.augmentation.SpecAugment after the spectrogram front end."
        )
    wrong = [type(layer).__name__ for layer in layers if isinstance(layer, (SpecAugment, RandomTokenMask))]
    if kind == "image" and wrong:
        raise InvalidConfigError(
            f"{wrong[0]} does not apply to images. Received: augmentation containing {wrong[0]} for image backbone "
            f"{name!r}. Use keras_transfer.augmentation.get('light' | 'medium' | 'strong') for images."
        )
