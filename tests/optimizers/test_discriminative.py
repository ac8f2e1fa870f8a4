"""Discriminative learning rates: per-group rates, one SGD step, .keras round trip, errors."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.errors import InvalidConfigError


def test_group_learning_rates_geometric_and_range():
    rates = kt.optimizers.group_learning_rates(3, 1e-3, factor=2.6)
    np.testing.assert_allclose(rates, [1e-3 / 2.6**3, 1e-3 / 2.6**2, 1e-3 / 2.6, 1e-3])
    np.testing.assert_allclose(kt.optimizers.group_learning_rates(2, (1e-5, 1e-3)), [1e-5, 1e-4, 1e-3])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lr": 0.0}, "lr must be a positive"),
        ({"lr": -1e-3}, "lr must be a positive"),
        ({"factor": 1.0}, "factor must be a float > 1"),
        ({"factor": 0.5}, "factor must be a float > 1"),
        ({"lr": (1e-3, 1e-5)}, "low <= high"),
    ],
)
def test_bad_rates_raise(tiny_model, kwargs, match):
    with pytest.raises(InvalidConfigError, match=match):
        kt.optimizers.discriminative(tiny_model, "adam", **kwargs)


def test_schedule_and_plain_model_raise(tiny_model):
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.9)
    with pytest.raises(InvalidConfigError, match="cannot use a LearningRateSchedule"):
        kt.optimizers.discriminative(tiny_model, keras.optimizers.Adam(schedule))
    with pytest.raises(InvalidConfigError, match="layer_groups"):
        kt.optimizers.discriminative(keras.Sequential([keras.layers.Dense(2)]))


def test_one_sgd_step_moves_each_group_by_its_own_rate(tiny_model, tiny_images):
    tiny_model(tiny_images[0][:2])
    tiny_model.backbone.set_mode("full")
    optimizer = kt.optimizers.discriminative(tiny_model, "sgd", lr=0.1, factor=2.0)
    variables = tiny_model.trainable_variables
    before = [v.numpy().copy() for v in variables]
    optimizer.apply([keras.ops.ones_like(v) for v in variables], variables)  # gradient 1 everywhere
    group_of = {w.path: g.name for g in tiny_model.backbone.layer_groups for w in g.weights}
    expected = {"block1": 0.1 / 8, "block2": 0.1 / 4, "block3": 0.1 / 2, "head": 0.1}
    moved = set()
    for variable, old in zip(variables, before):
        group = group_of.get(variable.path, "head")
        np.testing.assert_allclose(old - variable.numpy(), expected[group], rtol=1e-5)
        moved.add(group)
    assert moved == set(expected)


def test_survives_keras_round_trip(tiny_model, tiny_images, tmp_path):
    x, y = tiny_images
    tiny_model.backbone.set_mode("full")
    tiny_model.compile(optimizer=kt.optimizers.discriminative(tiny_model, "adam", lr=1e-3))
    tiny_model(x[:2])
    variables = tiny_model.trainable_variables
    for _ in range(2):  # a real state to round-trip: moments and step counts
        tiny_model.optimizer.apply([keras.ops.ones_like(v) for v in variables], variables)
    tiny_model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.optimizer, keras.optimizers.MultiOptimizer)
    assert kt.optimizers.get_learning_rates(loaded.optimizer) == kt.optimizers.get_learning_rates(tiny_model.optimizer)
    assert [o.name for o in loaded.optimizer.optimizers] == ["block1", "block2", "block3", "head"]
    for a, b in zip(tiny_model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # Variables route to the same sub-optimizer after loading.
    loaded_groups = [loaded.optimizer._var_to_optimizer_idx[loaded.optimizer._var_key(v)]
                     for v in loaded.trainable_variables]
    original = [tiny_model.optimizer._var_to_optimizer_idx[tiny_model.optimizer._var_key(v)]
                for v in tiny_model.trainable_variables]
    assert loaded_groups == original
