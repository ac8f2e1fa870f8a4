"""`check_parity`: compare an exported model's outputs with the Keras model's on the same inputs."""

from typing import Optional

import numpy as np

from keras_transfer.errors import ExportError
from keras_transfer.export.mediapipe_check import mediapipe_image_top1, mediapipe_unsupported_reason

__all__ = ["check_parity", "keras_outputs", "mediapipe_parity"]


def keras_outputs(model, x, batch_size: int = 32) -> np.ndarray:
    """The Keras model's inference outputs on ``x`` (eager calls, no ``predict`` tracing).

    Args:
        model: keras.Model.
        x: array ``(batch, ...)``.
        batch_size: int.

    Returns:
        numpy float32 array.
    """
    import keras

    return np.concatenate(
        [keras.ops.convert_to_numpy(model(x[i: i + batch_size], training=False)).astype("float32")
         for i in range(0, len(x), batch_size)], axis=0)


def _accuracy(outputs, labels) -> Optional[float]:
    labels = np.asarray(labels)
    if outputs.ndim != 2:
        return None
    if outputs.shape[1] == 1 or (labels.ndim == 2 and labels.shape[1] == outputs.shape[1] and
                                 not np.allclose(labels.sum(axis=1), 1)):
        return float(np.mean((outputs > 0.5) == (labels.reshape(outputs.shape) > 0.5)))  # sigmoid / multi-label
    if labels.ndim == 2:
        labels = labels.argmax(axis=1)
    return float(np.mean(outputs.argmax(axis=1) == labels.reshape(-1)))


def mediapipe_parity(path, x, reference, input_shape, input_dtype) -> dict:
    """Top-1 agreement of MediaPipe's ``ImageClassifier`` (reading the file's metadata) with the Keras outputs.

    Args:
        path: str. A ``.tflite`` classifier with embedded metadata.
        x: array of the parity inputs (raw pixels).
        reference: array ``(n, classes)``: the Keras model's outputs on ``x``.
        input_shape: tuple. The exported input shape with the batch axis.
        input_dtype: str.

    Returns:
        dict: ``mediapipe_agreement`` (float, or None when MediaPipe could not run the file) and
        ``mediapipe_note`` (why not, else ``""``).

    Examples:
    >>> keras_transfer.export.parity.mediapipe_parity("m.tflite", x, keras_probs, (None, 64, 64, 3), "uint8")  # doctest: +SKIP
    {'mediapipe_agreement': 1.0, 'mediapipe_note': ''}
    """
    reason = mediapipe_unsupported_reason(tuple(input_shape), input_dtype)
    if reason is None and (reference.ndim != 2 or reference.shape[1] < 2):
        reason = "MediaPipe's classifier check needs class scores (batch, classes)"
    if reason is not None:
        return {"mediapipe_agreement": None, "mediapipe_note": f"not run: {reason}"}
    try:
        top1 = mediapipe_image_top1(path, x)
    except ExportError as error:
        return {"mediapipe_agreement": None, "mediapipe_note": f"not run: {error}"}
    return {"mediapipe_agreement": float(np.mean(top1 == reference.argmax(axis=-1))), "mediapipe_note": ""}


def check_parity(model, exported, x, labels=None, batch_size: int = 32, mediapipe: bool = False) -> dict:
    """Run the Keras model and the exported model on the same inputs and compare them.

    Args:
        model: keras.Model, the reference.
        exported: keras_transfer.export.ExportedModel (loaded with its own runtime).
        x: array of raw inputs the model was not calibrated on.
        labels: array or None. Labels of ``x``; with them both accuracies are reported.
        batch_size: int.
        mediapipe: bool. Also run the file with MediaPipe's ``ImageClassifier`` (``.tflite`` with embedded
            metadata) and report its top-1 agreement with Keras (``mediapipe_agreement``, ``mediapipe_note``).

    Returns:
        dict: ``max_abs_diff`` and ``mean_abs_diff`` (outputs, after dequantization), ``argmax_agreement``
        (fraction of inputs whose top class matches; None for single-output models), ``n_examples``, and with
        labels ``keras_accuracy`` / ``exported_accuracy`` (top-1, or 0.5-threshold accuracy for sigmoid outputs).

    Examples:
    >>> exported = keras_transfer.export.load_exported("/tmp/model.tflite")  # doctest: +SKIP
    >>> keras_transfer.export.check_parity(model, exported, x_test, y_test)["argmax_agreement"]  # doctest: +SKIP
    1.0
    """
    x = np.asarray(x)
    reference = keras_outputs(model, x, batch_size)
    outputs = exported.predict(x, batch_size).reshape(reference.shape)
    diff = np.abs(outputs - reference)
    result = {
        "n_examples": int(len(x)),
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "argmax_agreement": (
            float(np.mean(outputs.argmax(axis=-1) == reference.argmax(axis=-1)))
            if reference.ndim == 2 and reference.shape[1] > 1 else None
        ),
        "keras_accuracy": None,
        "exported_accuracy": None,
    }
    if labels is not None:
        result["keras_accuracy"] = _accuracy(reference, labels)
        result["exported_accuracy"] = _accuracy(outputs, labels)
    if mediapipe:
        result.update(mediapipe_parity(exported.path, x, reference, (None,) + tuple(x.shape[1:]),
                                       str(exported.input_dtype)))
    return result
