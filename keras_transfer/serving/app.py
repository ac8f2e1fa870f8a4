"""The FastAPI application of ``keras-transfer serve``: ``POST /predict``, ``GET /health`` and the page at ``/``.

``POST /predict`` takes either

- ``multipart/form-data`` with one or more image files in the field ``files`` (optional form field ``top_k``), or
- JSON ``{"images": ["<base64 image file>", ...]}`` or ``{"texts": ["...", ...]}`` (optional ``"top_k"``),

and answers ``{"predictions": [{"input": name, "top": [{"label", "id", "probability"}, ...]}, ...]}``.
Requests larger than ``max_request_bytes`` get 413 (checked on ``Content-Length`` and while the body is read),
more than ``max_batch`` inputs 413, anything that is not an image, an unknown field or malformed JSON 400 / 415 /
422 with a message saying what was received and what to send; the server keeps serving.
"""

import base64
import binascii
import json

from keras_transfer.errors import InvalidInputError
from keras_transfer.serving.page import PAGE
from keras_transfer.serving.predictor import MAX_IMAGE_PIXELS, Predictor

__all__ = ["DEFAULT_MAX_BATCH", "DEFAULT_MAX_REQUEST_BYTES", "create_app"]

DEFAULT_MAX_REQUEST_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_BATCH = 16
_MAX_TOP_K = 100


class _BodyTooLarge(Exception):
    """Raised from the wrapped ``receive`` when a body passes the limit."""


def _limit_body(app, max_bytes: int):
    """ASGI middleware: 413 when ``Content-Length`` or the bytes actually received exceed ``max_bytes``."""
    from starlette.responses import JSONResponse

    def too_large(received):
        return JSONResponse(status_code=413, content={"detail": (
            f"Request too large: the limit is {max_bytes:,} bytes. Received: {received}. Send fewer or smaller "
            "files (start the server with a larger --max-request-mb to raise the limit).")})

    async def middleware(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > max_bytes:
            return await too_large(f"Content-Length {int(length):,}")(scope, receive, send)
        seen = {"bytes": 0, "started": False}

        async def limited_receive():
            message = await receive()
            if message["type"] == "http.request":
                seen["bytes"] += len(message.get("body", b""))
                if seen["bytes"] > max_bytes:
                    raise _BodyTooLarge(seen["bytes"])
            return message

        async def tracking_send(message):
            if message["type"] == "http.response.start":
                seen["started"] = True
            await send(message)

        try:
            await app(scope, limited_receive, tracking_send)
        except _BodyTooLarge as error:
            if not seen["started"]:
                await too_large(f"more than {int(error.args[0]):,} bytes")(scope, receive, send)

    return middleware


def _http_error(status: int, message: str):
    from fastapi import HTTPException

    return HTTPException(status_code=status, detail=message)


def _top_k(value):
    if value is None:
        return None
    try:
        k = int(value)
    except (TypeError, ValueError):
        k = 0
    if not 1 <= k <= _MAX_TOP_K or isinstance(value, bool):
        raise _http_error(422, f"top_k must be an integer from 1 to {_MAX_TOP_K}. Received: top_k={value!r}.")
    return k


def _check_batch(n: int, max_batch: int):
    if n == 0:
        raise _http_error(422, "No inputs. Received: an empty request. Send at least one image or text.")
    if n > max_batch:
        raise _http_error(413, f"Too many inputs in one request: the limit is {max_batch}. Received: {n} inputs. "
                               "Split them over several requests.")


async def _multipart_inputs(request, predictor, max_batch):
    form = await request.form(max_files=max_batch + 1, max_fields=max_batch + 8)
    try:
        unknown = sorted(set(form.keys()) - {"files", "top_k"})
        if unknown:
            raise _http_error(422, f"Unknown form field(s) {unknown}. Received: fields {sorted(set(form.keys()))}. "
                                   "Send image files in the multipart field 'files' (and optionally 'top_k').")
        uploads = form.getlist("files")
        if any(isinstance(u, str) for u in uploads):
            raise _http_error(422, "The field 'files' must hold files. Received: a text value. Send image files "
                                   "(e.g. curl -F files=@cat.png).")
        _check_batch(len(uploads), max_batch)
        names = [u.filename or f"file {i}" for i, u in enumerate(uploads)]
        images = [await u.read() for u in uploads]
        return names, images, None, _top_k(form.get("top_k"))
    finally:
        await form.close()


def _json_inputs(body: bytes, predictor, max_batch):
    try:
        payload = json.loads(body)
    except ValueError as error:
        raise _http_error(400, f"Malformed JSON ({error}). Received: {len(body)} bytes. Send "
                               '{"images": ["<base64>", ...]} or {"texts": ["...", ...]}.') from error
    if not isinstance(payload, dict) or not ({"images", "texts"} & set(payload)):
        keys = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        raise _http_error(422, f"Send {{\"images\": [\"<base64>\", ...]}} or {{\"texts\": [\"...\", ...]}}. "
                               f"Received: {keys}.")
    unknown = sorted(set(payload) - {"images", "texts", "top_k"})
    if unknown or ("images" in payload and "texts" in payload):
        raise _http_error(422, f"Unknown or conflicting fields. Received: {sorted(payload)}. Send either 'images' "
                               "or 'texts' (and optionally 'top_k').")
    field = "images" if "images" in payload else "texts"
    items = payload[field]
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise _http_error(422, f"'{field}' must be a list of strings. Received: {type(items).__name__}"
                               + (" with non-string items" if isinstance(items, list) else "") + ".")
    _check_batch(len(items), max_batch)
    top_k = _top_k(payload.get("top_k"))
    if field == "texts":
        return [f"text {i}" for i in range(len(items))], None, items, top_k
    images = []
    for i, item in enumerate(items):
        if item.startswith("data:") and "," in item:  # a data URL, as a browser's FileReader gives
            item = item.split(",", 1)[1]
        try:
            images.append(base64.b64decode(item, validate=True))
        except (binascii.Error, ValueError) as error:
            raise _http_error(400, f"images[{i}] is not valid base64 ({error}). Received: {len(item)} characters. "
                                   "Send each image file base64-encoded.") from error
    return [f"image {i}" for i in range(len(items))], images, None, top_k


def create_app(predictor, *, max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES, max_batch: int = DEFAULT_MAX_BATCH):
    """The ASGI application serving one classifier.

    Args:
        predictor: keras_transfer.serving.Predictor, or a model path (loaded into one).
        max_request_bytes: int. Largest request body accepted (413 above).
        max_batch: int. Most inputs in one request (413 above).

    Returns:
        An ASGI application (FastAPI wrapped in the request-size limit); run it with uvicorn, or test it with
        ``fastapi.testclient.TestClient``.

    Examples:
    >>> from fastapi.testclient import TestClient  # doctest: +SKIP
    >>> client = TestClient(keras_transfer.serving.create_app("model.tflite"))  # doctest: +SKIP
    >>> client.get("/health").json()["status"]  # doctest: +SKIP
    'ok'
    """
    from fastapi import FastAPI, HTTPException, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import HTMLResponse, JSONResponse

    if not isinstance(predictor, Predictor):
        predictor = Predictor(predictor)
    app = FastAPI(title="keras-transfer serve", description=f"Predictions of {predictor.path}", version="1")
    limits = {"max_request_bytes": int(max_request_bytes), "max_batch": int(max_batch),
              "max_image_pixels": MAX_IMAGE_PIXELS}

    @app.exception_handler(InvalidInputError)
    async def invalid_input(request, error):  # bad inputs (not an image, wrong kind): 400, the server goes on
        return JSONResponse(status_code=400, content={"detail": str(error)})

    @app.exception_handler(_BodyTooLarge)
    async def body_too_large(request, error):  # raised while the body streams in (no or a false Content-Length)
        return JSONResponse(status_code=413, content={"detail": (
            f"Request too large: the limit is {int(max_request_bytes):,} bytes. Received: more than "
            f"{int(error.args[0]):,} bytes. Send fewer or smaller files.")})

    @app.get("/health")
    def health():
        return {"status": "ok", "model": predictor.describe(), "limits": limits}

    @app.get("/", response_class=HTMLResponse)
    def page():
        return PAGE

    @app.post("/predict")
    async def predict(request: Request):
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "multipart/form-data":
            names, images, texts, top_k = await _multipart_inputs(request, predictor, max_batch)
        elif content_type == "application/json":
            names, images, texts, top_k = _json_inputs(await request.body(), predictor, max_batch)
        else:
            raise HTTPException(415, f"Unsupported content type. Received: {content_type or 'none'!r}. Send "
                                     "multipart/form-data (field 'files') or application/json.")
        if images is not None:
            tops = await run_in_threadpool(predictor.predict_images, images, names, top_k)
        else:
            tops = await run_in_threadpool(predictor.predict_texts, texts, top_k)
        return {"model": predictor.describe()["path"],
                "predictions": [{"input": name, "top": top} for name, top in zip(names, tops)]}

    return _limit_body(app, int(max_request_bytes))
