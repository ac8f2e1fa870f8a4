"""Linear probe and k-NN scores on features whose class structure is known."""

import numpy as np
import pytest

from keras_transfer.errors import InvalidConfigError
from keras_transfer.selection import knn_score, linear_probe_score, stratified_folds


def _features(separation, n=90, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    return rng.normal(size=(n, 6)) + separation * np.eye(6)[labels], labels


def test_scores_follow_class_separation():
    separated, labels = _features(4.0)
    mixed, _ = _features(0.0)
    assert linear_probe_score(separated, labels) > 0.95 > 0.6 > linear_probe_score(mixed, labels)
    assert knn_score(separated, labels) > 0.95 > 0.6 > knn_score(mixed, labels)


def test_knn_leaves_the_example_itself_out():
    labels = np.arange(20) % 2
    unique = np.random.default_rng(0).normal(size=(20, 8))  # each example is its own nearest neighbour if kept
    assert knn_score(unique, labels, k=1) < 0.9


def test_folds_are_stratified_and_probe_checks_arguments():
    labels = np.repeat([0, 1], [10, 5])
    folds = stratified_folds(labels, 5)
    assert all(np.sum((folds == k) & (labels == 0)) == 2 for k in range(5))
    with pytest.raises(InvalidConfigError, match="folds=1"):
        linear_probe_score(np.zeros((10, 2)), labels[:10], folds=1)
    with pytest.raises(InvalidConfigError, match="k=0"):
        knn_score(np.zeros((10, 2)), labels[:10], k=0)


def test_probe_with_fewer_examples_than_features_matches_a_direct_ridge_solve():
    from keras_transfer.selection.linear_probe import RIDGE_GRID, _solve_grid

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 300)) * (rng.random(300) < 0.5)  # n < d, half the features constant zero
    targets, test = np.eye(3)[rng.integers(0, 3, 40)], rng.normal(size=(10, 300))
    mean, std = x.mean(0), x.std(0) + 1e-8
    a, b = (x - mean) / std, (test - mean) / std
    scale = np.trace(a.T @ a) / a.shape[1]
    for ridge, predicted in zip(RIDGE_GRID, _solve_grid(x, targets, test)):
        weights = np.linalg.solve(a.T @ a + ridge * scale * np.eye(300), a.T @ (targets - targets.mean(0)))
        np.testing.assert_allclose(predicted, b @ weights + targets.mean(0), atol=1e-8)
