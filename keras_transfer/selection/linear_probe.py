"""`linear_probe_score`: cross-validated accuracy of a linear classifier on frozen features.

The classifier is a ridge (least-squares) classifier on standardised features with one-hot targets: closed form,
deterministic and fast (one eigendecomposition per fold, of the ``d × d`` or, with fewer examples than
features, the ``n × n`` Gram matrix, serves every ridge strength). The ridge strength
is picked from a small grid by the mean accuracy over the folds. Regression labels are scored by the
cross-validated R².
"""

import numpy as np

from keras_transfer.errors import InvalidConfigError, InvalidInputError

__all__ = ["linear_probe_score", "stratified_folds"]

#: Ridge strengths tried, as multiples of the mean eigenvalue of the fold's standardised ``X^T X``.
RIDGE_GRID = (1e-3, 1e-2, 1e-1, 1.0)


def stratified_folds(labels, folds: int, seed: int = 0):
    """Fold index of each example: classes spread evenly over the folds, in a seeded random order.

    Args:
        labels: int array ``(n,)``.
        folds: int ≥ 2.
        seed: int.

    Returns:
        int array ``(n,)`` of fold ids in ``[0, folds)``.

    Examples:
    >>> keras_transfer.selection.stratified_folds([0, 0, 1, 1], 2).tolist().count(0)
    2
    """
    labels = np.asarray(labels).reshape(-1)
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(labels), dtype=np.int64)
    offset = 0
    for value in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == value))
        fold_of[members] = (np.arange(len(members)) + offset) % folds
        offset += len(members)
    return fold_of


def _solve_grid(x_train, targets, x_test):
    """Predictions on ``x_test`` for every ridge strength of ``RIDGE_GRID``: list of arrays.

    With fewer training examples than feature dimensions (the usual case: a few hundred labelled images, 1,280
    features) the ridge solution is computed in its dual form, ``A^T (A A^T + λ I)^-1 T``: one ``n × n``
    eigendecomposition instead of a ``d × d`` one (1,280² took seconds per fold, minutes on a loaded machine).
    Both forms give the same predictions; the ridge scale is the mean eigenvalue of ``A^T A`` either way.
    """
    mean, std = x_train.mean(0), x_train.std(0) + 1e-8
    a, b = (x_train - mean) / std, (x_test - mean) / std
    offset = targets.mean(0)
    centred = targets - offset
    n, d = a.shape
    if n < d:  # dual form: the n × n Gram matrix
        s, u = np.linalg.eigh(a @ a.T)
        projected = u.T @ centred
        scale = max(float(s.sum()) / d, 1e-12)  # trace(A^T A) / d: the mean of its d eigenvalues
        test_u = (b @ a.T) @ u
        return [test_u @ (projected / (s + ridge * scale)[:, None]) + offset for ridge in RIDGE_GRID]
    s, v = np.linalg.eigh(a.T @ a)
    projected = v.T @ (a.T @ centred)
    scale = max(float(s.mean()), 1e-12)
    test_v = b @ v
    return [test_v @ (projected / (s + ridge * scale)[:, None]) + offset for ridge in RIDGE_GRID]


def linear_probe_score(features, labels, *, folds: int = 5, regression: bool = False, seed: int = 0) -> float:
    """Mean accuracy (classification) or R² (regression) of a ridge linear probe over ``folds`` folds.

    Args:
        features: array ``(n, d)``.
        labels: int class ids ``(n,)``, or float targets ``(n,)`` / ``(n, t)`` with ``regression=True``.
        folds: int ≥ 2. Cross-validation folds (stratified by class).
        regression: bool.
        seed: int. The fold assignment.

    Returns:
        float: the best grid point's mean score over the folds.

    Raises:
        InvalidConfigError: ``folds`` < 2.
        InvalidInputError: shapes that disagree or fewer examples than folds.

    Examples:
    >>> import numpy as np
    >>> labels = np.arange(100) % 2
    >>> features = np.random.default_rng(0).normal(size=(100, 4)) + labels[:, None] * 4.0
    >>> keras_transfer.selection.linear_probe_score(features, labels) > 0.9
    True
    """
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise InvalidConfigError(f"folds must be an int ≥ 2. Received: folds={folds!r}.")
    x = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels)
    if x.ndim != 2 or len(x) != len(labels) or len(x) < folds:
        raise InvalidInputError(
            f"A linear probe needs (n, d) features with one label each and n ≥ folds. Received: features "
            f"{x.shape}, {len(labels)} labels, folds={folds}."
        )
    if regression:
        targets = labels.reshape(len(labels), -1).astype(np.float64)
        fold_of = np.random.default_rng(seed).permutation(len(x)) % folds
    else:
        ids = labels.reshape(-1).astype(np.int64)
        classes = np.unique(ids)
        targets = (ids[:, None] == classes[None, :]).astype(np.float64)
        fold_of = stratified_folds(ids, folds, seed)
    scores = np.zeros((folds, len(RIDGE_GRID)))
    for fold in range(folds):
        test = fold_of == fold
        predictions = _solve_grid(x[~test], targets[~test], x[test])
        for j, predicted in enumerate(predictions):
            if regression:
                truth = targets[test]
                total = ((truth - truth.mean(0)) ** 2).sum()
                scores[fold, j] = 1.0 - ((predicted - truth) ** 2).sum() / max(total, 1e-12)
            else:
                scores[fold, j] = float((classes[predicted.argmax(1)] == ids[test]).mean())
    return float(scores.mean(0).max())
