"""`check_parity`: compare an exported model's outputs with the Keras model's on the same inputs."""

from typing import Optional

import numpy as np

__all__ = ["check_parity", "keras_outputs"]


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


def check_parity(model, exported, x, labels=None, batch_size: int = 32) -> dict:
    """Run the Keras model and the exported model on the same inputs and compare them.

    Args:
        model: keras.Model, the reference.
        exported: keras_transfer.export.ExportedModel (loaded with its own runtime).
        x: array of raw inputs the model was not calibrated on.
        labels: array or None. Labels of ``x``; with them both accuracies are reported.
        batch_size: int.

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
    return result
