"""Write a Keras model as ONNX through ``model.export(format="onnx")`` (tf2onnx under the hood)."""

from keras_transfer.errors import ExportError

__all__ = ["export_onnx", "require_onnx"]

_INSTALL = "pip install 'keras-transfer[onnx]' (tf2onnx, onnx, onnxruntime)"


def require_onnx(runtime_only: bool = False):
    """Import the ONNX tool chain or raise a clear error naming what is missing.

    Args:
        runtime_only: bool. Only onnxruntime is needed (running an existing file).

    Returns:
        module: ``onnxruntime``.

    Raises:
        keras_transfer.errors.ExportError: a package is not installed.

    Examples:
    >>> ort = keras_transfer.export.onnx.require_onnx(runtime_only=True)  # doctest: +SKIP
    """
    names = ("onnxruntime",) if runtime_only else ("tf2onnx", "onnx", "onnxruntime")
    missing = []
    for name in names:
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise ExportError(
            f"ONNX {'inference' if runtime_only else 'export'} needs {', '.join(names)}. "
            f"Received: missing {', '.join(missing)}. Install them with {_INSTALL}."
        )
    import onnxruntime

    return onnxruntime


def export_onnx(model, path, input_signature) -> str:
    """Write ``model`` as an ``.onnx`` file (inference graph: no augmentation, no dropout).

    Args:
        model: keras.Model. A built model.
        path: str. File to write, ending in ``.onnx``.
        input_signature: list of one ``keras.InputSpec``.

    Returns:
        str: ``path``.

    Raises:
        keras_transfer.errors.ExportError: tf2onnx / onnx / onnxruntime are not installed.

    Examples:
    >>> spec = [keras.InputSpec(shape=(None, 28, 28, 1), dtype="uint8")]
    >>> keras_transfer.export.onnx.export_onnx(model, "/tmp/model.onnx", spec)  # doctest: +SKIP
    '/tmp/model.onnx'
    """
    require_onnx()
    model.export(str(path), format="onnx", input_signature=input_signature, verbose=False)
    return str(path)
