"""`serve`: run the classifier server with uvicorn (what ``keras-transfer serve`` calls)."""

from keras_transfer.errors import InvalidConfigError
from keras_transfer.serving.app import DEFAULT_MAX_BATCH, DEFAULT_MAX_REQUEST_BYTES, create_app
from keras_transfer.serving.predictor import Predictor

__all__ = ["serve"]


def serve(model_path, host: str = "127.0.0.1", port: int = 8000, *, top_k: int = 3,
          max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES, max_batch: int = DEFAULT_MAX_BATCH,
          log_level: str = "info") -> None:
    """Serve a classifier on ``http://host:port`` until interrupted (Ctrl-C).

    Binds to the loopback interface by default: only this machine can reach it. Pass ``host="0.0.0.0"`` to
    expose it on the network (there is no authentication).

    Args:
        model_path: str. ``.keras``, SavedModel directory, ``.tflite`` or ``.onnx`` classifier.
        host: str. Interface to bind.
        port: int. TCP port (0: any free port).
        top_k: int. Classes per prediction by default.
        max_request_bytes: int. Largest request body (413 above).
        max_batch: int. Most inputs per request (413 above).
        log_level: str. uvicorn's log level.

    Raises:
        keras_transfer.errors.InvalidConfigError: a port outside 0-65535 or non-positive limits.
        keras_transfer.errors.InvalidInputError: the path is not an image or text classifier.

    Examples:
    >>> keras_transfer.serving.serve("model.tflite", port=8000)  # doctest: +SKIP
    """
    import uvicorn

    if not 0 <= int(port) <= 65535:
        raise InvalidConfigError(f"The port must be in 0-65535. Received: port={port!r}. Use e.g. --port 8000.")
    if int(max_request_bytes) <= 0 or int(max_batch) <= 0 or int(top_k) <= 0:
        raise InvalidConfigError(
            f"Limits must be positive. Received: max_request_bytes={max_request_bytes}, max_batch={max_batch}, "
            f"top_k={top_k}."
        )
    app = create_app(Predictor(model_path, top_k=top_k), max_request_bytes=max_request_bytes, max_batch=max_batch)
    uvicorn.run(app, host=host, port=int(port), log_level=log_level)
