"""keras_transfer.export.evaluation: per-class metrics and the confusion matrix."""

import numpy as np
import pytest

from keras_transfer.errors import InvalidInputError
from keras_transfer.export import classification_report, confusion_matrix, format_classification_report


def test_report_against_hand_counts():
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 2, 2])
    report = classification_report(y_true, np.eye(3)[y_pred], ["a", "b", "c"])
    assert report["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    a, b, c = report["per_class"]
    assert (a["precision"], a["recall"], a["support"]) == (1.0, pytest.approx(2 / 3), 3)
    assert (b["precision"], b["recall"]) == (0.5, 0.5)
    assert (c["precision"], c["recall"], c["f1"]) == (0.5, 1.0, pytest.approx(2 / 3))
    assert report["accuracy"] == pytest.approx(4 / 6)
    assert report["macro"]["recall"] == pytest.approx((2 / 3 + 0.5 + 1) / 3)
    table = format_classification_report(report)
    assert "| a | 1.000 | 0.667 | 0.800 | 3 |" in table and "accuracy: 0.6667 on 6 examples" in table


def test_errors():
    with pytest.raises(InvalidInputError, match=r"in \[0, 2\)"):
        confusion_matrix([0, 2], [0, 1], 2)
    with pytest.raises(InvalidInputError, match="2 class names"):
        classification_report([0], np.eye(3)[[0]], ["a", "b"])
    with pytest.raises(InvalidInputError, match="classifiers only"):
        classification_report([0], np.ones((1, 1)))
