"""Error analysis from predictions: the worst examples (`top_losses`), the most-confused class pairs
(`most_confused`) and a PNG grid of the worst examples (`plot_top_losses`)."""

from typing import List, Optional, Sequence

import numpy as np

from keras_transfer.checks import check_int
from keras_transfer.errors import InvalidInputError
from keras_transfer.evaluation.figures import figure, save_png, to_uint8_image
from keras_transfer.evaluation.metrics import class_ids

__all__ = ["most_confused", "plot_top_losses", "top_losses"]


def _names(class_names, num_classes) -> List[str]:
    names = [str(i) for i in range(num_classes)] if class_names is None else [str(c) for c in class_names]
    if len(names) != num_classes:
        raise InvalidInputError(
            f"The model scores {num_classes} classes but {len(names)} class names were given. Received: "
            f"class_names={names!r}. Pass one name per class or none."
        )
    return names


def top_losses(probabilities, labels, k: int = 16, class_names: Optional[Sequence[str]] = None) -> List[dict]:
    """The ``k`` examples with the highest cross-entropy loss, worst first.

    Args:
        probabilities: float array ``(n, classes)``.
        labels: int class ids ``(n,)`` or one-hot ``(n, classes)``.
        k: int ≥ 1 (at most n are returned).
        class_names: names in id order, or None.

    Returns:
        list of dict: ``index``, ``true``, ``predicted`` (class names), ``loss`` (−log p(true)),
        ``probability`` (of the predicted class) and ``true_probability``.

    Examples:
    >>> import numpy as np
    >>> rows = keras_transfer.evaluation.top_losses(np.array([[0.9, 0.1], [0.2, 0.8]]), [0, 0], k=1)
    >>> rows[0]["index"], rows[0]["predicted"], round(rows[0]["loss"], 3)
    (1, '1', 1.609)
    """
    check_int("k", k, minimum=1, expected="a positive int")
    probabilities = np.asarray(probabilities, dtype="float64")
    labels = class_ids(labels, len(probabilities))
    names = _names(class_names, probabilities.shape[1])
    true_probability = probabilities[np.arange(len(labels)), labels]
    losses = -np.log(np.clip(true_probability, 1e-30, 1.0))
    predicted = probabilities.argmax(axis=1)
    order = np.argsort(-losses, kind="stable")[:k]
    return [
        {"index": int(i), "true": names[labels[i]], "predicted": names[predicted[i]], "loss": float(losses[i]),
         "probability": float(probabilities[i, predicted[i]]), "true_probability": float(true_probability[i])}
        for i in order
    ]


def most_confused(probabilities, labels, class_names: Optional[Sequence[str]] = None, min_count: int = 1,
                  limit: Optional[int] = None) -> List[tuple]:
    """Class pairs ``(true, predicted, count)`` of the confusion matrix's off-diagonal cells, most frequent first.

    Args:
        probabilities: float array ``(n, classes)``.
        labels: int class ids ``(n,)`` or one-hot ``(n, classes)``.
        class_names: names in id order, or None.
        min_count: int. Leave out pairs seen fewer times.
        limit: int or None. Keep the first ``limit`` pairs.

    Returns:
        list of tuple ``(true name, predicted name, count)``.

    Examples:
    >>> import numpy as np
    >>> p = np.eye(3)[[1, 1, 2, 0]]
    >>> keras_transfer.evaluation.most_confused(p, [0, 0, 1, 0], ["cat", "dog", "fox"])
    [('cat', 'dog', 2), ('dog', 'fox', 1)]
    """
    check_int("min_count", min_count, minimum=1, expected="a positive int")
    check_int("limit", limit, minimum=1, allow_none=True, expected="a positive int or None")
    probabilities = np.asarray(probabilities)
    labels = class_ids(labels, len(probabilities))
    num_classes = probabilities.shape[1]
    names = _names(class_names, num_classes)
    matrix = np.zeros((num_classes, num_classes), dtype="int64")
    np.add.at(matrix, (labels, probabilities.argmax(axis=1)), 1)
    pairs = [(names[t], names[p], int(matrix[t, p])) for t in range(num_classes) for p in range(num_classes)
             if t != p and matrix[t, p] >= min_count]
    pairs.sort(key=lambda pair: -pair[2])  # stable: ties stay in class order
    return pairs[:limit] if limit else pairs


def plot_top_losses(images, rows: Sequence[dict], path: Optional[str] = None, *, heatmaps=None,
                    columns: int = 4):
    """A PNG grid of the worst examples, each titled ``true / predicted / loss / probability``; with
    ``heatmaps``, a Grad-CAM overlay on each image.

    Args:
        images: raw images ``(n, H, W, C)`` the rows index into.
        rows: list of dict from :func:`top_losses`.
        path: str or None. PNG file to write; None returns the PNG bytes.
        heatmaps: float array ``(len(rows), H, W)`` in [0, 1] (one per row, in order), or None.
        columns: int. Images per grid row.

    Returns:
        str (``path``) or bytes.

    Examples:
    >>> import numpy as np
    >>> images = np.zeros((2, 8, 8, 1), "uint8")
    >>> rows = keras_transfer.evaluation.top_losses(np.array([[0.9, 0.1], [0.2, 0.8]]), [0, 0], k=2)
    >>> keras_transfer.evaluation.plot_top_losses(images, rows, "/tmp/top_losses.png")
    '/tmp/top_losses.png'
    """
    check_int("columns", columns, minimum=1, expected="a positive int")
    if not rows:
        raise InvalidInputError("plot_top_losses needs at least one row. Received: rows=[]. Use top_losses(...).")
    images = np.asarray(images)
    if heatmaps is not None and len(heatmaps) != len(rows):
        raise InvalidInputError(
            f"One heatmap per row. Received: {len(heatmaps)} heatmaps for {len(rows)} rows."
        )
    n_cols = min(columns, len(rows))
    n_rows = -(-len(rows) // n_cols)
    fig, axes = figure(shape=(n_rows, n_cols), figsize=(2.6 * n_cols, 2.9 * n_rows), squeeze=False)
    for axis in axes.ravel():
        axis.axis("off")
    for i, row in enumerate(rows):
        axis = axes[i // n_cols][i % n_cols]
        axis.imshow(to_uint8_image(images[row["index"]]))
        if heatmaps is not None:
            axis.imshow(heatmaps[i], cmap="jet", alpha=0.4, vmin=0.0, vmax=1.0)
        axis.set_title(f"{row['true']} / {row['predicted']}\nloss {row['loss']:.2f}, p {row['probability']:.2f}",
                       fontsize=8)
    fig.suptitle("top losses: true / predicted" + (" (Grad-CAM of the predicted class)" if heatmaps is not None
                                                    else ""), fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return save_png(fig, path)
