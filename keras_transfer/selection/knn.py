"""`knn_score`: leave-one-out k-nearest-neighbour accuracy on frozen features (cosine similarity)."""

import numpy as np

from keras_transfer.errors import InvalidConfigError, InvalidInputError

__all__ = ["knn_score"]

#: Rows of the similarity matrix computed at once (bounds memory to ``CHUNK × n`` floats).
CHUNK = 1024


def knn_score(features, labels, *, k: int = 5) -> float:
    """Leave-one-out accuracy of a ``k``-nearest-neighbour vote with cosine similarity.

    Each example is classified by the majority label of its ``k`` most similar other examples (a tie goes to the
    tied class whose votes come from nearer neighbours). Features are centred and L2-normalised first.

    Args:
        features: array ``(n, d)``.
        labels: int class ids ``(n,)``.
        k: int ≥ 1, at most ``n - 1``.

    Returns:
        float: accuracy in [0, 1].

    Raises:
        InvalidConfigError: a bad ``k``.
        InvalidInputError: shapes that disagree.

    Examples:
    >>> import numpy as np
    >>> labels = np.arange(60) % 3
    >>> features = np.eye(3)[labels] + np.random.default_rng(0).normal(scale=0.1, size=(60, 3))
    >>> keras_transfer.selection.knn_score(features, labels, k=3)
    1.0
    """
    x = np.asarray(features, dtype=np.float32)
    ids = np.asarray(labels).reshape(-1).astype(np.int64)
    if x.ndim != 2 or len(x) != len(ids) or len(x) < 2:
        raise InvalidInputError(
            f"k-NN needs (n, d) features with one label each, n ≥ 2. Received: features {x.shape}, {len(ids)} labels."
        )
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(x) - 1:
        raise InvalidConfigError(f"k must be an int in [1, {len(x) - 1}]. Received: k={k!r}.")
    x = x - x.mean(0)
    x = x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-8)
    classes, codes = np.unique(ids, return_inverse=True)
    correct = 0
    for start in range(0, len(x), CHUNK):
        similarity = x[start:start + CHUNK] @ x.T
        rows = np.arange(similarity.shape[0])
        similarity[rows, rows + start] = -np.inf  # leave the example itself out
        nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(similarity, nearest, 1), axis=1)
        nearest = np.take_along_axis(nearest, order, 1)
        votes = np.zeros((len(rows), len(classes)))
        np.add.at(votes, (rows[:, None].repeat(k, 1), codes[nearest]), 1.0)
        # ties: a tiny bonus decreasing with rank breaks them towards the nearer neighbours
        np.add.at(votes, (rows[:, None].repeat(k, 1), codes[nearest]), -1e-6 * np.arange(k)[None, :])
        correct += int((votes.argmax(1) == codes[start:start + CHUNK]).sum())
    return correct / len(x)
