"""Reading / setting float rates on single and multi optimizers; carrying optimizer state over."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.errors import InvalidConfigError


def _multi():
    optimizer_map = keras.optimizers.OptimizerMap(keras.optimizers.SGD(0.1, name="a"))
    optimizer_map["x.*"] = keras.optimizers.SGD(0.01, name="b")
    return keras.optimizers.MultiOptimizer(optimizer_map)


def test_get_and_set_on_multi_optimizer():
    optimizer = _multi()
    np.testing.assert_allclose(list(kt.optimizers.get_learning_rates(optimizer).values()), [0.01, 0.1])
    kt.optimizers.set_learning_rates(optimizer, {"b": 0.5})
    assert kt.optimizers.get_learning_rates(optimizer)["b"] == 0.5
    with pytest.raises(InvalidConfigError, match="Unknown sub-optimizer"):
        kt.optimizers.set_learning_rates(optimizer, {"c": 0.5})
    with pytest.raises(InvalidConfigError, match="positive"):
        kt.optimizers.set_learning_rates(optimizer, 0.0)


def test_schedule_in_multi_optimizer_is_explained():
    schedule = keras.optimizers.schedules.CosineDecay(0.1, 100)
    optimizer = keras.optimizers.MultiOptimizer(keras.optimizers.OptimizerMap(keras.optimizers.SGD(schedule)))
    with pytest.raises(InvalidConfigError, match="cannot set it"):
        kt.optimizers.get_learning_rates(optimizer)


def test_copy_optimizer_state_keeps_moments_of_old_variables():
    v1, v2 = keras.Variable(np.ones(3, "float32"), name="v1"), keras.Variable(np.ones(2, "float32"), name="v2")
    old = keras.optimizers.Adam(0.1, name="adam")
    for _ in range(3):
        old.apply([keras.ops.ones(3)], [v1])
    new = keras.optimizers.Adam(0.1, name="adam")
    copied = kt.optimizers.copy_optimizer_state(old, new, [v1, v2])
    assert copied == 4  # iteration, learning rate, v1's momentum and velocity
    assert int(new.iterations.numpy()) == 3
    momentum = {v.path: v.numpy() for v in new.variables}
    np.testing.assert_array_equal(momentum["adam/v1_momentum"], {v.path: v.numpy() for v in old.variables}["adam/v1_momentum"])
    np.testing.assert_array_equal(momentum["adam/v2_momentum"], 0.0)
