"""`resolve_model`: a Keras model or an ``ExportedModel`` from any model form the evaluation functions take."""

import os

from keras_transfer.errors import InvalidInputError
from keras_transfer.export import ExportedModel, detect_format, load_exported

__all__ = ["resolve_model"]


def resolve_model(model):
    """A Keras model stays as it is; an ``ExportedModel`` too; a path loads: a ``.keras`` file as a Keras model
    (``keras_transfer.load_model``, safe mode, so gradients and the model's augmentation are available), a
    SavedModel directory, ``.tflite`` or ``.onnx`` file as an ``ExportedModel``.

    Args:
        model: keras.Model, ExportedModel, or str / os.PathLike.

    Returns:
        keras.Model or ExportedModel.

    Raises:
        InvalidInputError: anything else, or a path that is no model.

    Examples:
    >>> keras_transfer.evaluation.resolve_model("/tmp/model.tflite").format  # doctest: +SKIP
    'tflite'
    """
    import keras

    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if detect_format(path) == "keras":
            from keras_transfer.models.loading import load_model

            return load_model(path, compile=False)
        return load_exported(path)
    if isinstance(model, (ExportedModel, keras.Model)):
        return model
    raise InvalidInputError(
        "Expected a Keras model, an ExportedModel (keras_transfer.export.load_exported) or the path of a .keras / "
        f".tflite / .onnx file or SavedModel directory. Received: {type(model).__name__}."
    )
