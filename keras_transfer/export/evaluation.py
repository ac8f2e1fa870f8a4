"""Per-class precision / recall / F1 and the confusion matrix of a classifier's predictions."""

from typing import Optional, Sequence

import numpy as np

from keras_transfer.errors import InvalidInputError

__all__ = ["classification_report", "confusion_matrix", "format_classification_report"]


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Counts ``[true class, predicted class]``.

    Args:
        y_true: int array of class ids.
        y_pred: int array of class ids.
        num_classes: int.

    Returns:
        int64 array ``(num_classes, num_classes)``.

    Raises:
        keras_transfer.errors.InvalidInputError: lengths differ or an id is out of range.

    Examples:
    >>> keras_transfer.export.confusion_matrix([0, 1, 1], [0, 1, 0], 2).tolist()
    [[1, 0], [1, 1]]
    """
    y_true = np.asarray(y_true).reshape(-1).astype("int64")
    y_pred = np.asarray(y_pred).reshape(-1).astype("int64")
    if len(y_true) != len(y_pred):
        raise InvalidInputError(
            f"Labels and predictions differ in length. Received: {len(y_true)} labels, {len(y_pred)} predictions."
        )
    for name, ids in (("labels", y_true), ("predictions", y_pred)):
        if len(ids) and (ids.min() < 0 or ids.max() >= num_classes):
            raise InvalidInputError(
                f"Class ids must be in [0, {num_classes}). Received: {name} from {ids.min()} to {ids.max()}. "
                "Check that the labels belong to this model's classes."
            )
    matrix = np.zeros((num_classes, num_classes), dtype="int64")
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def classification_report(y_true, probabilities, class_names: Optional[Sequence[str]] = None) -> dict:
    """Accuracy, per-class precision / recall / F1 / support, macro averages and the confusion matrix.

    Args:
        y_true: int class ids ``(n,)`` (or one-hot ``(n, classes)``).
        probabilities: float array ``(n, classes)`` of model outputs.
        class_names: names in id order, or None (``"0".."n-1"``).

    Returns:
        dict: ``accuracy``, ``per_class`` (list of dicts: ``class``, ``precision``, ``recall``, ``f1``,
        ``support``), ``macro`` (precision / recall / f1), ``confusion_matrix`` (list of lists), ``class_names``.

    Examples:
    >>> import numpy as np
    >>> report = keras_transfer.export.classification_report([0, 1, 1], np.eye(2)[[0, 1, 0]], ["a", "b"])
    >>> report["per_class"][1]["recall"]
    0.5
    """
    probabilities = np.asarray(probabilities, dtype="float32")
    if probabilities.ndim != 2 or probabilities.shape[1] < 2:
        raise InvalidInputError(
            "A classification report needs class scores of shape (n, classes) with ≥ 2 classes. "
            f"Received: outputs of shape {probabilities.shape}. Use it on classifiers only."
        )
    num_classes = probabilities.shape[1]
    y_true = np.asarray(y_true)
    if y_true.ndim == 2:
        y_true = y_true.argmax(axis=1)
    names = [str(c) for c in class_names] if class_names is not None else [str(i) for i in range(num_classes)]
    if len(names) != num_classes:
        raise InvalidInputError(
            f"The model scores {num_classes} classes but {len(names)} class names were given. "
            f"Received: class_names={names!r}. Pass one name per class (labels.txt) or none."
        )
    matrix = confusion_matrix(y_true, probabilities.argmax(axis=1), num_classes)
    true_positives = np.diag(matrix).astype("float64")
    predicted = matrix.sum(axis=0)
    support = matrix.sum(axis=1)
    precision = np.divide(true_positives, predicted, out=np.zeros(num_classes), where=predicted > 0)
    recall = np.divide(true_positives, support, out=np.zeros(num_classes), where=support > 0)
    denominator = precision + recall
    f1 = np.divide(2 * precision * recall, denominator, out=np.zeros(num_classes), where=denominator > 0)
    per_class = [
        {"class": names[i], "precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
         "support": int(support[i])}
        for i in range(num_classes)
    ]
    present = support > 0
    return {
        "accuracy": float(true_positives.sum() / max(1, matrix.sum())),
        "n_examples": int(matrix.sum()),
        "per_class": per_class,
        "macro": {
            "precision": float(precision[present].mean()) if present.any() else 0.0,
            "recall": float(recall[present].mean()) if present.any() else 0.0,
            "f1": float(f1[present].mean()) if present.any() else 0.0,
        },
        "confusion_matrix": matrix.tolist(),
        "class_names": names,
    }


def format_classification_report(report: dict) -> str:
    """A ``classification_report`` as a Markdown table (one row per class, then macro average and accuracy).

    Args:
        report: dict from :func:`classification_report`.

    Returns:
        str.
    """
    lines = ["| class | precision | recall | f1 | support |", "|---|---|---|---|---|"]
    for row in report["per_class"]:
        lines.append(f"| {row['class']} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} "
                     f"| {row['support']} |")
    macro = report["macro"]
    lines.append(f"| macro avg | {macro['precision']:.3f} | {macro['recall']:.3f} | {macro['f1']:.3f} "
                 f"| {report['n_examples']} |")
    lines.append(f"\naccuracy: {report['accuracy']:.4f} on {report['n_examples']} examples")
    return "\n".join(lines)
