"""`predict`: predictions with test-time augmentation (seeded views from the model's own augmentation, blended
with the plain prediction), for Keras models and exported files."""

import copy

import numpy as np

from keras_transfer.checks import check_int, check_number
from keras_transfer.errors import InvalidConfigError, InvalidInputError
from keras_transfer.evaluation.model_source import resolve_model
from keras_transfer.export import ExportedModel, read_model_card
from keras_transfer.models.inputs import input_arrays

__all__ = ["DEFAULT_TTA_AUGMENTATION", "augmentation_of", "predict", "tta_views"]

#: The views' augmentation for a model trained without one (and an exported file without a model card).
DEFAULT_TTA_AUGMENTATION = "light"


def _reseed(config, seed: int, counter: list):
    """Replace every ``seed`` entry of a serialised layer config (at any depth) with a distinct int."""
    if isinstance(config, dict):
        for key, value in config.items():
            if key == "seed" and (value is None or isinstance(value, int)):
                config[key] = seed + counter[0]
                counter[0] += 1
            else:
                _reseed(value, seed, counter)
    elif isinstance(config, list):
        for value in config:
            _reseed(value, seed, counter)
    return config


def augmentation_of(model, augmentation=None):
    """The augmentation layer TTA views come from, and where it came from.

    Order: ``augmentation`` when given (a preset name, a config or a layer:
    ``keras_transfer.augmentation.get``), else the model's own (``model.augmentation`` of a Keras model; the
    ``augmentation.config`` of an exported file's ``model_card.json``), else ``DEFAULT_TTA_AUGMENTATION``.

    Args:
        model: keras.Model or ExportedModel.
        augmentation: None, or anything ``keras_transfer.augmentation.get`` takes.

    Returns:
        tuple ``(layer, source)``: the layer and ``"argument"``, ``"model"``, ``"model card"`` or ``"default"``.

    Examples:
    >>> layer, source = keras_transfer.evaluation.augmentation_of(None, "medium")
    >>> type(layer).__name__, source
    ('AugmentationPipeline', 'argument')
    """
    import keras

    from keras_transfer.augmentation import get

    if augmentation is not None:
        return get(augmentation), "argument"
    own = getattr(model, "augmentation", None)
    if isinstance(own, keras.layers.Layer):
        return own, "model"
    if isinstance(model, ExportedModel):
        card = read_model_card(model.path) or {}
        config = (card.get("augmentation") or {}).get("config")
        if config:
            return keras.saving.deserialize_keras_object(config, safe_mode=True), "model card"
    return get(DEFAULT_TTA_AUGMENTATION), "default"


def tta_views(augmentation, n: int, seed: int = 0) -> list:
    """``n`` fresh, seeded copies of an augmentation layer: view ``i`` draws the same transforms on every call
    sequence, whatever the global random state.

    Args:
        augmentation: keras.layers.Layer (serialisable: every toolkit and Keras augmentation layer is).
        n: int ≥ 1.
        seed: int.

    Returns:
        list of keras.layers.Layer.

    Examples:
    >>> views = keras_transfer.evaluation.tta_views(keras_transfer.augmentation.get("light"), 2)
    >>> len(views)
    2
    """
    import keras

    config = keras.saving.serialize_keras_object(augmentation)
    return [
        keras.saving.deserialize_keras_object(_reseed(copy.deepcopy(config), 1_000_003 * seed + 1009 * view, [0]),
                                              safe_mode=True)
        for view in range(n)
    ]


def _runner(model):
    """``(run(x) -> float32 probabilities, the resolved model)`` for any model form."""
    import keras

    model = resolve_model(model)
    if isinstance(model, ExportedModel):
        return (lambda x: model.predict(x, batch_size=len(x))), model
    return (lambda x: np.asarray(keras.ops.convert_to_numpy(model(x, training=False)), dtype="float32")), model


def predict(model, x, tta: int = 0, *, augmentation=None, blend: float = 0.5, seed: int = 0,
            batch_size: int = 32) -> np.ndarray:
    """Class probabilities, optionally averaged over ``tta`` augmented views of every input.

    Each batch is predicted plainly and through ``tta`` views of the model's own augmentation (its
    ``augmentation`` layer; an exported file's ``model_card.json``; else ``DEFAULT_TTA_AUGMENTATION``), each view
    a fresh copy of the layer with its own seed, so the result is the same run after run. The output is
    ``blend * plain + (1 - blend) * mean(views)``. Works on live and reloaded Keras models and on every exported
    format that takes a batch (SavedModel, TFLite, ONNX: ``keras_transfer.export.load_exported``).

    Args:
        model: keras.Model (e.g. a ``TransferModel``, also one reloaded from ``.keras``), an ``ExportedModel``, or a
            model path (``.keras``, SavedModel directory, ``.tflite``, ``.onnx``).
        x: raw inputs ``(n, H, W, C)`` (or ``(x, y)`` / a dataset: its inputs), fitting the model's input.
        tta: int ≥ 0. Augmented views per input; 0: the plain prediction.
        augmentation: None (the model's own), or a preset / config / layer for the views.
        blend: float in [0, 1]. Weight of the plain prediction.
        seed: int. Seed of the views.
        batch_size: int ≥ 1.

    Returns:
        float32 array ``(n, outputs)``.

    Raises:
        InvalidConfigError: bad ``tta`` / ``blend`` / ``batch_size``.
        InvalidInputError: an unsupported model, or no inputs.

    Examples:
    >>> import numpy as np
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> backbone = keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32))
    >>> model = keras_transfer.TransferModel(backbone, keras_transfer.ClassificationHead(3),
    ...                                      augmentation=keras_transfer.augmentation.get("light"))
    >>> images = np.random.default_rng(0).integers(0, 255, (4, 32, 32, 1)).astype("uint8")
    >>> keras_transfer.predict(model, images, tta=4).shape
    (4, 3)
    >>> bool(np.allclose(keras_transfer.predict(model, images, tta=4), keras_transfer.predict(model, images, tta=4)))
    True
    """
    check_int("tta", tta, minimum=0, expected="a number of augmented views ≥ 0")
    check_int("batch_size", batch_size, minimum=1, expected="a positive int")
    check_int("seed", seed, expected="an int")
    check_number("blend", blend, minimum=0.0, maximum=1.0, expected="a weight in [0, 1] of the plain prediction")
    run, model = _runner(model)
    if not isinstance(x, np.ndarray):
        if isinstance(model, ExportedModel):
            raise InvalidInputError(
                f"An exported model takes an array of inputs. Received: x of type {type(x).__name__}. Pass a NumPy "
                "array (batch, ...)."
            )
        x = input_arrays(model, x)[0]
    x = np.asarray(x)
    if len(x) == 0:
        raise InvalidInputError("No inputs to predict on. Received: an empty batch. Pass at least one input.")
    views = []
    if tta:
        if x.ndim != 4:
            raise InvalidConfigError(
                f"Test-time augmentation augments images (batch, height, width, channels). Received: inputs of "
                f"shape {x.shape}. Use tta=0 for other inputs."
            )
        views = tta_views(augmentation_of(model, augmentation)[0], tta, seed)
    outputs = []
    for start in range(0, len(x), batch_size):
        batch = x[start: start + batch_size]
        plain = run(batch)
        if not views:
            outputs.append(plain)
            continue
        images = batch.astype("float32")
        augmented = np.mean([run(_as_input(view(images, training=True), batch.dtype)) for view in views], axis=0)
        outputs.append(blend * plain + (1.0 - blend) * augmented)
    return np.concatenate(outputs, axis=0).astype("float32")


def _as_input(images, dtype) -> np.ndarray:
    """Augmented float images back in the inputs' dtype (uint8 inputs: rounded and clipped)."""
    images = np.asarray(images)
    if np.dtype(dtype) == np.uint8:
        return np.clip(np.round(images), 0, 255).astype("uint8")
    return images.astype(dtype)

