"""`Predictor`: one loaded classifier (any format) behind a thread-safe top-k call on image bytes or texts."""

import io
import os
import threading
from typing import List, Optional, Sequence

import numpy as np

from keras_transfer.errors import InvalidInputError
from keras_transfer.export.model_card import read_labels
from keras_transfer.export.runtime import load_exported

__all__ = ["MAX_IMAGE_PIXELS", "Predictor"]

#: Images with more pixels than this are refused before decoding (a decompression bomb guard).
MAX_IMAGE_PIXELS = 40_000_000


def _embedded_labels(path) -> Optional[list]:
    """The labels packed inside a ``.tflite`` file's metadata, or None."""
    if not str(path).lower().endswith(".tflite"):
        return None
    from keras_transfer.export.tflite_metadata import has_schema, read_metadata

    if not has_schema():
        return None
    metadata = read_metadata(path)
    return None if metadata is None else metadata.get("labels")


class Predictor:
    """A classifier file loaded once, answering top-k predictions for image bytes or texts.

    Runs ``.keras`` (safe mode), SavedModel, ``.tflite`` and ``.onnx`` files through
    ``keras_transfer.export.load_exported``; class names come from ``labels.txt`` beside the model, else the
    labels embedded in a ``.tflite`` file, else ``"0".."n-1"``. Calls are serialised with a lock (a TFLite
    interpreter is not thread-safe).

    Args:
        model_path: str. The model file or SavedModel directory.
        top_k: int. Classes returned per input by default.

    Attributes:
        kind: str. ``"image"`` or ``"text"``.
        labels: list of str or None.

    Raises:
        keras_transfer.errors.InvalidInputError: the path is not a model, or the model takes audio (not served).

    Examples:
    >>> predictor = keras_transfer.serving.Predictor("model.tflite")  # doctest: +SKIP
    >>> predictor.predict_images([open("cat.png", "rb").read()])[0][0]["label"]  # doctest: +SKIP
    'cat'
    """

    def __init__(self, model_path, top_k: int = 3):
        self.path = os.path.abspath(os.fspath(model_path))
        self.model = load_exported(self.path)
        self.top_k = int(top_k)
        shape = self.model.input_shape
        if self.model.input_dtype == "string":
            self.kind = "text"
        elif shape is not None and len(shape) != 3:
            raise InvalidInputError(
                f"keras-transfer serve runs image and text classifiers. Received: {self.path!r}, a model taking "
                f"inputs of shape (batch, {', '.join(map(str, shape))}) (audio?). Use keras-transfer predict for it."
            )
        else:
            self.kind = "image"
        self.labels = read_labels(self.path) or _embedded_labels(self.path)
        self._lock = threading.Lock()

    @property
    def image_size(self):
        """``(height, width)`` the model takes, or None (any size: images are used as they are)."""
        shape = self.model.input_shape
        if self.kind != "image" or shape is None or shape[0] is None or shape[1] is None:
            return None
        return int(shape[0]), int(shape[1])

    @property
    def channels(self):
        """1 or 3 for a fixed channel count, else None."""
        shape = self.model.input_shape
        return shape[-1] if self.kind == "image" and shape is not None and shape[-1] in (1, 3) else None

    def describe(self) -> dict:
        """What ``GET /health`` reports about the model.

        Returns:
            dict: ``path``, ``format``, ``kind``, ``input_shape``, ``input_dtype``, ``num_labels``.
        """
        shape = self.model.input_shape
        return {"path": self.path, "format": self.model.format, "kind": self.kind,
                "input_shape": None if shape is None else list(shape), "input_dtype": self.model.input_dtype,
                "num_labels": None if self.labels is None else len(self.labels)}

    def decode_image(self, data: bytes, name: str = "image") -> np.ndarray:
        """Image file bytes as a uint8 array at the model's size and channels (bilinear resize).

        Args:
            data: bytes. A PNG, JPEG, BMP, GIF or WebP file.
            name: str. Shown in error messages.

        Returns:
            numpy uint8 array ``(H, W, C)``.

        Raises:
            keras_transfer.errors.InvalidInputError: not an image, or more than ``MAX_IMAGE_PIXELS`` pixels.
        """
        from PIL import Image

        from keras_transfer.data.image_folder import decode_image

        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
        except Exception as error:  # noqa: BLE001 - Pillow raises several types for non-images
            raise InvalidInputError(
                f"Not an image: {name!r} could not be decoded ({type(error).__name__}). Received: {len(data)} "
                "bytes. Send PNG, JPEG, BMP, GIF or WebP files."
            ) from error
        if width * height > MAX_IMAGE_PIXELS:
            raise InvalidInputError(
                f"Image too large: {name!r} has {width}x{height} pixels (limit {MAX_IMAGE_PIXELS:,}). "
                f"Received: {width * height:,} pixels. Send a smaller image."
            )
        try:
            return decode_image(io.BytesIO(data), self.image_size, self.channels)
        except Exception as error:  # noqa: BLE001 - a truncated file fails only when decoded
            raise InvalidInputError(
                f"Not an image: {name!r} could not be decoded ({error}). Received: {len(data)} bytes. "
                "Send PNG, JPEG, BMP, GIF or WebP files."
            ) from error

    def _top(self, outputs, top_k) -> List[List[dict]]:
        k = self.top_k if top_k is None else int(top_k)
        results = []
        for output in outputs:
            output = np.ravel(output)
            order = np.argsort(-output, kind="stable")[:max(1, k)] if output.size > 1 else [0]
            results.append([{"label": self.labels[i] if self.labels and len(self.labels) == output.size else str(i),
                             "id": int(i), "probability": float(output[i])} for i in order])
        return results

    def predict_arrays(self, batch, top_k: Optional[int] = None) -> List[List[dict]]:
        """Top-k classes for a batch of model inputs.

        Args:
            batch: array of inputs (images ``(n, H, W, C)``, or texts).
            top_k: int or None (the predictor's ``top_k``).

        Returns:
            list (one per input) of lists of ``{"label", "id", "probability"}``, most probable first.
        """
        with self._lock:
            outputs = self.model.predict(batch)
        return self._top(outputs, top_k)

    def predict_images(self, images: Sequence[bytes], names: Optional[Sequence[str]] = None,
                       top_k: Optional[int] = None) -> List[List[dict]]:
        """Top-k classes for image files given as bytes (images of different sizes are run one by one).

        Args:
            images: list of bytes.
            names: list of str or None. Names used in error messages.
            top_k: int or None.

        Returns:
            list of lists of ``{"label", "id", "probability"}``.

        Raises:
            keras_transfer.errors.InvalidInputError: the model takes texts, or an input is not an image.
        """
        if self.kind != "image":
            raise InvalidInputError("This model takes texts. Received: image files. Send {\"texts\": [...]}.")
        names = list(names) if names is not None else [f"image {i}" for i in range(len(images))]
        arrays = [self.decode_image(data, name) for data, name in zip(images, names)]
        results = [None] * len(arrays)
        groups = {}
        for i, array in enumerate(arrays):
            groups.setdefault(array.shape, []).append(i)
        for indices in groups.values():
            for i, top in zip(indices, self.predict_arrays(np.stack([arrays[i] for i in indices]), top_k)):
                results[i] = top
        return results

    def predict_texts(self, texts: Sequence[str], top_k: Optional[int] = None) -> List[List[dict]]:
        """Top-k classes for texts.

        Args:
            texts: list of str.
            top_k: int or None.

        Returns:
            list of lists of ``{"label", "id", "probability"}``.

        Raises:
            keras_transfer.errors.InvalidInputError: the model takes images, or an item is not a string.
        """
        if self.kind != "text":
            raise InvalidInputError("This model takes images. Received: texts. Send image files (multipart field "
                                    "'files') or {\"images\": [base64, ...]}.")
        if not all(isinstance(t, str) for t in texts):
            raise InvalidInputError(f"Texts must be strings. Received: {[type(t).__name__ for t in texts]}.")
        return self.predict_arrays(np.array(list(texts), dtype=object), top_k)
