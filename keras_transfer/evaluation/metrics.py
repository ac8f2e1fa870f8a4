"""Report metrics from class probabilities: expected calibration error, reliability bins, macro-F1 and balanced
accuracy (NumPy only)."""

from typing import Tuple

import numpy as np

from keras_transfer.checks import check_int
from keras_transfer.errors import InvalidInputError

__all__ = ["balanced_accuracy", "class_ids", "expected_calibration_error", "macro_f1", "reliability_bins"]


def _probabilities(probabilities) -> np.ndarray:
    probabilities = np.asarray(probabilities, dtype="float64")
    if probabilities.ndim != 2 or probabilities.shape[1] < 2 or len(probabilities) == 0:
        raise InvalidInputError(
            "Class probabilities must be an array (n, classes) with n ≥ 1 and ≥ 2 classes. Received: shape "
            f"{probabilities.shape}. Pass a softmax classifier's outputs."
        )
    return probabilities


def class_ids(labels, n: int) -> np.ndarray:
    """Integer class ids from integer labels ``(n,)`` or one-hot / soft labels ``(n, classes)``.

    Args:
        labels: array.
        n: int. The expected number of labels.

    Returns:
        int64 array ``(n,)``.

    Raises:
        InvalidInputError: the number of labels differs from ``n``.

    Examples:
    >>> keras_transfer.evaluation.metrics.class_ids([[0, 1], [1, 0]], 2).tolist()
    [1, 0]
    """
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] > 1:
        labels = labels.argmax(axis=1)
    labels = labels.reshape(-1)
    if len(labels) != n:
        raise InvalidInputError(
            f"Labels and predictions differ in length. Received: {len(labels)} labels for {n} predictions."
        )
    return labels.astype("int64")


def reliability_bins(probabilities, labels, bins: int = 15) -> dict:
    """Confidence (the top probability) against accuracy, in equal-width confidence bins.

    Args:
        probabilities: float array ``(n, classes)``.
        labels: int class ids ``(n,)`` or one-hot ``(n, classes)``.
        bins: int ≥ 1. Number of bins over [0, 1].

    Returns:
        dict of lists, one entry per bin: ``edges`` (bins + 1), ``confidence`` and ``accuracy`` (None for an
        empty bin), ``count``.

    Examples:
    >>> bins = keras_transfer.evaluation.metrics.reliability_bins([[0.9, 0.1], [0.2, 0.8]], [0, 0], bins=2)
    >>> bins["count"], bins["accuracy"]
    ([0, 2], [None, 0.5])
    """
    check_int("bins", bins, minimum=1, expected="a positive int")
    probabilities = _probabilities(probabilities)
    labels = class_ids(labels, len(probabilities))
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)  # (lo, hi] bins
    result = {"edges": edges.tolist(), "confidence": [], "accuracy": [], "count": []}
    for b in range(bins):
        members = index == b
        count = int(members.sum())
        result["count"].append(count)
        result["confidence"].append(float(confidence[members].mean()) if count else None)
        result["accuracy"].append(float(correct[members].mean()) if count else None)
    return result


def expected_calibration_error(probabilities, labels, bins: int = 15) -> float:
    """Expected calibration error: the count-weighted mean of |accuracy − confidence| over confidence bins.

    The standard top-label ECE of Guo et al. (2017) with equal-width bins (15 by default). 0 is perfectly
    calibrated; an over-confident model has confidence above its accuracy.

    Args:
        probabilities: float array ``(n, classes)``.
        labels: int class ids ``(n,)`` or one-hot ``(n, classes)``.
        bins: int ≥ 1.

    Returns:
        float in [0, 1].

    Examples:
    >>> import numpy as np
    >>> p = np.array([[0.85, 0.15], [0.85, 0.15], [0.65, 0.35], [0.35, 0.65]])
    >>> round(keras_transfer.evaluation.expected_calibration_error(p, [0, 1, 0, 1], bins=10), 3)
    0.35
    """
    table = reliability_bins(probabilities, labels, bins)
    n = sum(table["count"])
    return float(sum(
        count * abs(accuracy - confidence)
        for count, accuracy, confidence in zip(table["count"], table["accuracy"], table["confidence"]) if count
    ) / n)


def _recall_precision(probabilities, labels) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    probabilities = _probabilities(probabilities)
    labels = class_ids(labels, len(probabilities))
    num_classes = probabilities.shape[1]
    if labels.min() < 0 or labels.max() >= num_classes:
        raise InvalidInputError(
            f"Class ids must be in [0, {num_classes}). Received: labels from {labels.min()} to {labels.max()}."
        )
    predicted = probabilities.argmax(axis=1)
    matrix = np.zeros((num_classes, num_classes), dtype="float64")
    np.add.at(matrix, (labels, predicted), 1)
    hits, support, chosen = np.diag(matrix), matrix.sum(axis=1), matrix.sum(axis=0)
    recall = np.divide(hits, support, out=np.zeros(num_classes), where=support > 0)
    precision = np.divide(hits, chosen, out=np.zeros(num_classes), where=chosen > 0)
    return recall, precision, support


def balanced_accuracy(probabilities, labels) -> float:
    """Mean recall over the classes present in ``labels`` (accuracy that every class counts equally in).

    Args:
        probabilities: float array ``(n, classes)``.
        labels: int class ids ``(n,)`` or one-hot ``(n, classes)``.

    Returns:
        float in [0, 1].

    Examples:
    >>> import numpy as np
    >>> p = np.eye(2)[[0, 0, 0, 0]]  # always class 0; 3 of class 0 and 1 of class 1
    >>> keras_transfer.evaluation.balanced_accuracy(p, [0, 0, 0, 1])
    0.5
    """
    recall, _, support = _recall_precision(probabilities, labels)
    return float(recall[support > 0].mean())


def macro_f1(probabilities, labels) -> float:
    """Unweighted mean of the per-class F1 scores over the classes present in ``labels``.

    Args:
        probabilities: float array ``(n, classes)``.
        labels: int class ids ``(n,)`` or one-hot ``(n, classes)``.

    Returns:
        float in [0, 1].

    Examples:
    >>> import numpy as np
    >>> round(keras_transfer.evaluation.macro_f1(np.eye(2)[[0, 0, 0, 0]], [0, 0, 0, 1]), 4)  # F1 6/7 and 0
    0.4286
    """
    recall, precision, support = _recall_precision(probabilities, labels)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros(len(total)), where=total > 0)
    return float(f1[support > 0].mean())
