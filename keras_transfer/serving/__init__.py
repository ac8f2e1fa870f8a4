"""A local HTTP server for exported and ``.keras`` classifiers (``keras-transfer serve``).

- ``Predictor(model_path)``: a model file of any format with its labels, answering top-k for image bytes or texts.
- ``create_app(predictor)``: the FastAPI app: ``POST /predict`` (multipart ``files`` or JSON ``images`` as
  base64 / ``texts``), ``GET /health`` and an HTML page at ``/``; request-size and batch limits.
- ``serve(model_path, host="127.0.0.1", port=8000)``: runs it with uvicorn.

FastAPI and uvicorn come with the ``serve`` extra and are imported when an app is built, not with this package.

Examples:
>>> import keras_transfer.serving as serving
>>> serving.DEFAULT_MAX_BATCH
16
"""

from keras_transfer.serving.app import DEFAULT_MAX_BATCH, DEFAULT_MAX_REQUEST_BYTES, create_app
from keras_transfer.serving.predictor import Predictor
from keras_transfer.serving.server import serve

__all__ = ["DEFAULT_MAX_BATCH", "DEFAULT_MAX_REQUEST_BYTES", "Predictor", "create_app", "serve"]
