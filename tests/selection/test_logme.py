"""LogME against a direct NumPy implementation of the evidence maximisation (You et al., 2021, Algorithm 1)."""

import numpy as np
import pytest

from keras_transfer.errors import InvalidInputError
from keras_transfer.selection import logme_evidence, logme_score


def _reference_evidence(f, y, alpha, beta):
    """log p(y | F, alpha, beta) / n, computed directly from the D × D posterior (no eigen-shortcuts)."""
    n, d = f.shape
    a = alpha * np.eye(d) + beta * f.T @ f
    m = beta * np.linalg.solve(a, f.T @ y)
    _, log_det = np.linalg.slogdet(a)
    evidence = (d / 2 * np.log(alpha) + n / 2 * np.log(beta) - n / 2 * np.log(2 * np.pi)
                - beta / 2 * np.sum((f @ m - y) ** 2) - alpha / 2 * m @ m - log_det / 2)
    return evidence / n


def _reference_logme(f, y, iterations=1000):
    """MacKay's fixed point with explicit matrices: gamma, m, then alpha and beta; returns (evidence, alpha, beta)."""
    f = np.asarray(f, np.float64)
    n, d = f.shape
    eigenvalues = np.linalg.eigvalsh(f.T @ f)
    alpha, beta = 1.0, 1.0
    for _ in range(iterations):
        a = alpha * np.eye(d) + beta * f.T @ f
        m = beta * np.linalg.solve(a, f.T @ y)
        gamma = np.sum(beta * eigenvalues / (alpha + beta * eigenvalues))
        new_alpha = gamma / (m @ m)
        new_beta = (n - gamma) / np.sum((f @ m - y) ** 2)
        done = abs(new_alpha / new_beta - alpha / beta) <= 1e-10 * alpha / beta
        alpha, beta = new_alpha, new_beta
        if done:
            break
    return _reference_evidence(f, y, alpha, beta), alpha, beta


@pytest.mark.parametrize("n, d", [(120, 10), (15, 40)])  # more examples than dims, and fewer (zero eigenvalues)
def test_logme_matches_the_direct_implementation(n, d):
    rng = np.random.default_rng(n)
    f = rng.normal(size=(n, d))
    y = (f[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(float)
    evidence, alpha, beta = logme_evidence(f, y)
    ref_evidence, ref_alpha, ref_beta = _reference_logme(f, y)
    assert evidence == pytest.approx(ref_evidence, rel=1e-6, abs=1e-8)
    assert alpha == pytest.approx(ref_alpha, rel=1e-4)
    assert beta == pytest.approx(ref_beta, rel=1e-4)


def test_the_fixed_point_maximises_the_evidence():
    rng = np.random.default_rng(3)
    f = rng.normal(size=(80, 6))
    y = f @ rng.normal(size=6) + 0.3 * rng.normal(size=80)
    evidence, alpha, beta = logme_evidence(f, y)
    assert evidence == pytest.approx(_reference_evidence(f, y, alpha, beta), rel=1e-9)
    for da, db in [(1.5, 1), (1 / 1.5, 1), (1, 1.5), (1, 1 / 1.5)]:
        assert _reference_evidence(f, y, alpha * da, beta * db) < evidence


def test_classification_score_is_the_mean_over_one_hot_columns():
    rng = np.random.default_rng(1)
    labels = np.arange(90) % 3
    f = rng.normal(size=(90, 5)).astype("float32") + labels[:, None]
    expected = np.mean([_reference_logme(f, (labels == c).astype(float))[0] for c in range(3)])
    assert logme_score(f, labels) == pytest.approx(expected, rel=1e-6)


def test_regression_targets_and_informative_features_score_higher():
    rng = np.random.default_rng(2)
    target = rng.normal(size=(100, 2))
    informative = np.concatenate([target, rng.normal(size=(100, 3))], axis=1) + 0.1 * rng.normal(size=(100, 5))
    noise = rng.normal(size=(100, 5))
    assert logme_score(informative, target, regression=True) > logme_score(noise, target, regression=True)


def test_bad_inputs_are_refused():
    with pytest.raises(InvalidInputError, match="Received: 3 feature rows and 2 labels"):
        logme_score(np.zeros((3, 2)), [0, 1])
    with pytest.raises(InvalidInputError, match="finite"):
        logme_score(np.full((3, 2), np.nan), [0, 1, 0])
