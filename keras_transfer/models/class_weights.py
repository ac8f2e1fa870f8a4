"""Class weights for ``fine_tune(class_weight=...)``: balanced weights from the training labels, or the user's.

``"auto"`` gives each class ``n / (k · n_c)`` (scikit-learn's ``"balanced"``: ``n`` labelled examples, ``k``
classes, ``n_c`` examples of class ``c``), so the weights average 1 over the training set. Missing multi-task
labels (``-1`` / NaN) are not counted; one-hot or soft rows count by their mass. A class absent from the training
labels gets weight 0 (nothing to weigh). The weights are applied per example inside the loss
(``keras_transfer.models.losses.ClassWeightedLoss``), so they work with datasets, dict outputs and MixUp / CutMix.
"""

from typing import Optional

import numpy as np

from keras_transfer.errors import InvalidConfigError, InvalidInputError

__all__ = ["balanced_class_weights", "class_counts", "read_dataset_labels", "resolve_class_weights"]


def class_counts(labels, num_classes: int) -> np.ndarray:
    """Examples per class: integer ids (negative / NaN = missing, skipped) or one-hot / soft rows (by mass).

    Args:
        labels: array ``(n,)`` / ``(n, 1)`` of class ids, or ``(n, num_classes)`` rows (a row with a negative or
            NaN entry is missing).
        num_classes: int.

    Returns:
        np.ndarray float64 ``(num_classes,)``.

    Examples:
    >>> from keras_transfer.models.class_weights import class_counts
    >>> class_counts(np.array([0, 0, 1, -1]), 3).tolist()
    [2.0, 1.0, 0.0]
    >>> class_counts(np.array([[0.7, 0.3], [0.0, 1.0]]), 2).tolist()
    [0.7, 1.3]
    """
    array = np.asarray(labels, dtype="float64")
    if array.ndim == 2 and array.shape[1] == num_classes and num_classes > 1:
        keep = np.all(np.isfinite(array) & (array >= 0), axis=1)
        return array[keep].sum(axis=0)
    ids = array.reshape(-1)
    ids = ids[np.isfinite(ids) & (ids >= 0)].astype("int64")
    if ids.size and ids.max() >= num_classes:
        raise InvalidInputError(
            f"Class weights need class ids below num_classes={num_classes}. Received: a label {int(ids.max())}. "
            "Check the labels or the head's num_classes."
        )
    return np.bincount(ids, minlength=num_classes).astype("float64")


def balanced_class_weights(labels, num_classes: int) -> np.ndarray:
    """``n / (k · n_c)`` per class (0 for a class without examples), from the training labels.

    Args:
        labels: class ids or rows, as ``class_counts`` takes them.
        num_classes: int.

    Returns:
        np.ndarray float64 ``(num_classes,)``.

    Raises:
        InvalidInputError: no labelled example.

    Examples:
    >>> from keras_transfer.models.class_weights import balanced_class_weights
    >>> balanced_class_weights(np.array([0, 0, 0, 1, -1]), 2).tolist()   # -1: a missing label, not counted
    [0.6666666666666666, 2.0]
    """
    counts = class_counts(labels, num_classes)
    total, present = counts.sum(), int(np.sum(counts > 0))
    if total <= 0:
        raise InvalidInputError(
            "class_weight='auto' needs labelled training examples to count. Received: no labelled example "
            "(every label missing). Give labels or explicit weights, class_weight={class: weight}."
        )
    weights = np.zeros(num_classes)
    weights[counts > 0] = total / (present * counts[counts > 0])
    return weights


def resolve_class_weights(spec, num_classes: int, labels=None, read_labels=None, what: str = "class_weight"
                          ) -> Optional[list]:
    """The class weights one classification output trains with, as a list (None: unweighted).

    Args:
        spec: None, ``"auto"`` or a dict ``{class id: weight}`` (classes left out weigh 1).
        num_classes: int.
        labels: the training labels (arrays), or None.
        read_labels: callable returning the training labels when ``labels`` is None (one pass over a dataset).
        what: str. The option's name in messages.

    Returns:
        list of float, or None.

    Raises:
        InvalidConfigError: a class id out of range.

    Examples:
    >>> from keras_transfer.models.class_weights import resolve_class_weights
    >>> resolve_class_weights({1: 4.0}, 3)
    [1.0, 4.0, 1.0]
    >>> resolve_class_weights("auto", 2, labels=np.array([0, 0, 0, 1]))
    [0.6666666666666666, 2.0]
    """
    if spec is None:
        return None
    if isinstance(spec, str):  # "auto" (the option's check refuses any other text)
        if labels is None:
            labels = read_labels()
        return [float(w) for w in balanced_class_weights(labels, num_classes)]
    weights = [1.0] * num_classes
    for key, value in spec.items():
        if not 0 <= int(key) < num_classes:
            raise InvalidConfigError(
                f"{what} names a class the head does not have. Received: {what}={spec!r} for {num_classes} "
                f"classes. Use class ids 0 to {num_classes - 1}."
            )
        weights[int(key)] = float(value)
    return weights


def read_dataset_labels(data, task: Optional[str] = None) -> np.ndarray:
    """Every label of a batched ``tf.data.Dataset`` or ``keras.utils.PyDataset`` of ``(x, y[, weights])``, in one
    pass (``task``: the entry of a ``{task: y}`` label dict). ``class_weight="auto"`` counts them.

    Examples:
    >>> import tensorflow as tf
    >>> from keras_transfer.models.class_weights import read_dataset_labels
    >>> data = tf.data.Dataset.from_tensor_slices((np.zeros((5, 2)), np.array([0, 1, 1, 2, 0]))).batch(2)
    >>> read_dataset_labels(data).tolist()
    [0, 1, 1, 2, 0]
    """
    if hasattr(data, "as_numpy_iterator"):
        batches = (batch[1] for batch in data.map(lambda *batch: batch[:2]).as_numpy_iterator())
    else:  # a PyDataset
        batches = (data[i][1] for i in range(len(data)))
    parts = [np.asarray(y[task] if task is not None else y) for y in batches]
    if not parts:
        raise InvalidInputError(
            "class_weight='auto' counts the training labels, but the dataset yielded no batch. Received: an empty "
            "dataset. Check the training data."
        )
    return np.concatenate(parts, axis=0)
