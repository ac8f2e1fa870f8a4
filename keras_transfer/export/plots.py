"""PNG figures for ``keras-transfer evaluate``: the confusion matrix and the training curves."""

import os
from typing import Sequence

import numpy as np

from keras_transfer.errors import ExportError

__all__ = ["plot_confusion_matrix", "plot_training_curves"]


def _figure(**kwargs):
    """A standalone Figure and its axes, without pyplot: the caller's backend (a notebook's inline one) is left
    alone and no global figure list grows."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ExportError(
            "Plots need matplotlib. Received: ImportError. Install it with pip install 'keras-transfer[plot]'."
        ) from error
    nrows, ncols = kwargs.pop("shape", (1, 1))
    squeeze = kwargs.pop("squeeze", True)
    figure = Figure(**kwargs)
    return figure, figure.subplots(nrows, ncols, squeeze=squeeze)


def plot_confusion_matrix(matrix, class_names: Sequence[str], path) -> str:
    """Save a confusion matrix (rows: true class, columns: predicted; counts and row-normalised colour).

    Args:
        matrix: int array ``(classes, classes)``.
        class_names: names in id order.
        path: str. PNG file to write.

    Returns:
        str: ``path``.

    Examples:
    >>> keras_transfer.export.plots.plot_confusion_matrix([[3, 1], [0, 4]], ["a", "b"], "/tmp/cm.png")
    '/tmp/cm.png'
    """
    matrix = np.asarray(matrix)
    n = len(matrix)
    rows = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, rows, out=np.zeros(matrix.shape, dtype="float64"), where=rows > 0)
    size = max(4.0, 0.55 * n + 2)
    figure, axis = _figure(figsize=(size, size))
    axis.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    axis.set_xticks(range(n), [str(c) for c in class_names], rotation=45, ha="right")
    axis.set_yticks(range(n), [str(c) for c in class_names])
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    for i in range(n):
        for j in range(n):
            axis.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=8,
                      color="white" if normalised[i, j] > 0.5 else "black")
    accuracy = np.trace(matrix) / max(1, matrix.sum())
    axis.set_title(f"confusion matrix (accuracy {accuracy:.3f})")
    figure.tight_layout()
    figure.savefig(os.fspath(path), dpi=100)
    return os.fspath(path)


def plot_training_curves(history: dict, path, stages=None) -> str:
    """Save loss and metric curves per epoch (training and validation on one panel per metric).

    Args:
        history: dict metric -> per-epoch values (None / NaN gaps allowed), e.g. ``History.history``.
        path: str. PNG file to write.
        stages: list of ``fine_tune`` stage dicts (``name``, ``epochs``) or None; boundaries are marked.

    Returns:
        str: ``path``.

    Examples:
    >>> keras_transfer.export.plots.plot_training_curves({"loss": [1.0, 0.6], "val_loss": [1.1, 0.8]},
    ...     "/tmp/curves.png")
    '/tmp/curves.png'
    """
    metrics = [key for key in history if not key.startswith("val_") and key != "learning_rate"]
    metrics = metrics or list(history)
    figure, axes = _figure(shape=(1, len(metrics)), figsize=(4.5 * len(metrics), 3.5), squeeze=False)
    for axis, key in zip(axes[0], metrics):
        for name in (key, f"val_{key}"):
            if name in history:
                values = np.array([np.nan if v is None else v for v in history[name]], dtype="float64")
                axis.plot(np.arange(1, len(values) + 1), values, marker="o", label=name)
        for stage in (stages or [])[1:]:
            if stage.get("epochs"):
                axis.axvline(min(stage["epochs"]) + 0.5, color="grey", linestyle="--", linewidth=1)
        axis.set_xlabel("epoch")
        axis.set_title(key)
        axis.legend()
    figure.tight_layout()
    figure.savefig(os.fspath(path), dpi=100)
    return os.fspath(path)
