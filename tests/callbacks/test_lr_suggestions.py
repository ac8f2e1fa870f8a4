"""LR suggestion rules are pure functions of (lrs, losses)."""

import numpy as np
import pytest

from keras_transfer.callbacks import suggest_lr, suggest_minimum, suggest_steepest, suggest_valley
from keras_transfer.errors import InvalidConfigError, InvalidInputError

LRS = np.logspace(-6, 0, 13)
# flat, then a long descent from index 2 to 9, then divergence
LOSSES = np.array([2.0, 2.0, 1.99, 1.9, 1.7, 1.4, 1.0, 0.7, 0.55, 0.5, 0.9, 2.5, 6.0])


def test_valley_picks_inside_the_longest_descent():
    # longest decreasing run ends at index 9 (length 9 from index 1): start 0, sections 3 -> index 0 + 3 + 1
    assert suggest_valley(LRS, LOSSES) == pytest.approx(LRS[4])


def test_steepest_and_minimum():
    # central differences: the drops around indices 5 and 6 tie (-0.7); the first one wins
    assert suggest_steepest(LRS, LOSSES) == pytest.approx(LRS[5])
    assert suggest_minimum(LRS, LOSSES) == pytest.approx(LRS[9] / 10)


def test_nan_points_are_ignored_and_bad_input_raises():
    losses = LOSSES.copy()
    losses[-1] = np.nan
    assert suggest_minimum(LRS, losses) == pytest.approx(LRS[9] / 10)
    with pytest.raises(InvalidInputError, match="equal length"):
        suggest_valley(LRS, LOSSES[:-1])
    with pytest.raises(InvalidInputError, match="at least 2"):
        suggest_steepest([1e-3], [1.0])
    with pytest.raises(InvalidConfigError, match="Unknown LR suggestion"):
        suggest_lr(LRS, LOSSES, "fastest")
