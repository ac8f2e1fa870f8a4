"""The backbone registry: the built-in specs, and `get`, which builds a backbone from any registered spec.

Specs live in :mod:`keras_transfer.backbones.catalog` (``register``, ``get_spec``, ``list_backbones`` are
re-exported here); every spec kind (image, text, audio) builds its own backbone with ``spec.create(...)``.
"""

from keras_transfer.backbones.audio import audio_specs
from keras_transfer.backbones.catalog import _SPECS, find_spec, get_spec, list_backbones, register
from keras_transfer.backbones.converted import converted_specs
from keras_transfer.backbones.image import keras_application_specs
from keras_transfer.backbones.text import preset_spec, text_specs

__all__ = ["register", "get_spec", "list_backbones", "get"]

for _spec in converted_specs() + keras_application_specs() + text_specs() + audio_specs():
    _SPECS.setdefault(_spec.name, _spec)
del _spec


def get(name, weights="imagenet", input_shape=None, pooling="avg", trainable="frozen", train_bn="auto"):
    """Build a backbone layer from the registry.

    Args:
        name: str. Registry name, e.g. ``"mobilenet_v2"`` (see ``list_backbones()``); text: ``"minilm_l6"``,
            a KerasHub preset name or a local preset directory (``TextBackbone``); audio: ``"audio_cnn"``
            (``AudioBackbone``). For text ``input_shape=(sequence_length,)``, ``pooling="avg"`` is mean
            pooling and ``weights="imagenet"`` means the preset's pretrained weights; for audio
            ``input_shape=(num_samples,)``.
        weights: ``"imagenet"``, ``None`` (random init) or a path to a ``.weights.h5`` / ``.npz`` file.
        input_shape: tuple ``(height, width)`` or ``(height, width, 3)``: the resolution the network runs
            at. Raw images of any size and 1 or 3 channels are resized and mapped to it inside the layer.
            ``None`` uses the size the weights were trained at.
        pooling: ``"avg"``, ``"max"`` or ``None`` (feature maps).
        trainable: ``"frozen"``, ``"last:N"`` (last N layer groups trainable) or ``"full"``.
        train_bn: bool or ``"auto"``. Let BatchNorm layers train when unfrozen. ``"auto"`` (default): off for
            pretrained weights (fine-tuning with BatchNorm in training mode lost 9 accuracy points in our
            measurements), on for ``weights=None`` (a network from random weights cannot learn without it).

    Returns:
        ImageBackbone, TextBackbone or AudioBackbone: a Keras layer mapping raw inputs (for images
        ``(batch, H, W, C)`` in ``[0, 255]``) to features.

    Raises:
        UnknownBackboneError: ``name`` is neither registered nor a KerasHub text preset.

    Examples:
    >>> backbone = keras_transfer.backbones.get("mobilenet_v2", weights=None, input_shape=(96, 96))
    >>> backbone.output_dim
    1280
    """
    # Unregistered KerasHub text presets and local preset directories become text backbones.
    spec = find_spec(name) or preset_spec(name) or get_spec(name)  # get_spec raises the helpful error
    return spec.create(weights=weights, input_shape=input_shape, pooling=pooling, trainable=trainable,
                       train_bn=train_bn)
