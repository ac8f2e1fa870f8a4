"""Report metrics: ECE and reliability bins by hand, macro-F1 / balanced accuracy against scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, f1_score

from keras_transfer.errors import InvalidInputError
from keras_transfer.evaluation import balanced_accuracy, expected_calibration_error, macro_f1, reliability_bins


def test_ece_is_the_count_weighted_gap_between_accuracy_and_confidence():
    # bin (0.8, 0.9]: confidence 0.85, accuracy 1/2; bin (0.6, 0.7]: confidence 0.65, accuracy 1 -> 0.35 both
    p = np.array([[0.85, 0.15], [0.85, 0.15], [0.65, 0.35], [0.35, 0.65]])
    assert expected_calibration_error(p, [0, 1, 0, 1], bins=10) == pytest.approx(0.35)
    perfect = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert expected_calibration_error(perfect, [0, 1]) == 0.0
    table = reliability_bins(p, np.eye(2)[[0, 1, 0, 1]], bins=10)  # one-hot labels work too
    assert sum(table["count"]) == 4 and table["count"][8] == 2 and table["accuracy"][8] == 0.5


def test_macro_f1_and_balanced_accuracy_match_scikit_learn_on_imbalanced_predictions():
    rng = np.random.default_rng(0)
    labels = rng.choice(4, size=300, p=[0.6, 0.25, 0.1, 0.05])
    p = rng.dirichlet(np.ones(4), size=300)
    p[np.arange(150), labels[:150]] += 1.0  # half of them right
    predicted = p.argmax(1)
    assert balanced_accuracy(p, labels) == pytest.approx(balanced_accuracy_score(labels, predicted))
    assert macro_f1(p, labels) == pytest.approx(f1_score(labels, predicted, average="macro"))


def test_metrics_refuse_bad_shapes_with_the_received_value():
    with pytest.raises(InvalidInputError, match="Received: shape"):
        expected_calibration_error(np.ones(3), [0, 1, 0])
    with pytest.raises(InvalidInputError, match="Received: 2 labels for 3"):
        macro_f1(np.eye(3), [0, 1])
