"""lr_find: sweep, exact restore of weights and optimizer state, result, plot."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.errors import InvalidConfigError


def test_restores_weights_and_optimizer_state_bit_for_bit(tiny_model, tiny_images, tmp_path):
    x, y = tiny_images
    tiny_model.backbone.set_mode("full")
    tiny_model.compile(optimizer=kt.optimizers.discriminative(tiny_model, "adam", lr=1e-3))
    tiny_model.fit(x, y, batch_size=6, epochs=1, verbose=0)  # non-trivial moments and step counts
    weights = [v.numpy().copy() for v in tiny_model.variables]
    state = [v.numpy().copy() for v in tiny_model.optimizer.variables]
    result = kt.lr_find(tiny_model, (x, y), start_lr=1e-5, end_lr=1.0, steps=12, batch_size=6)
    for variable, value in zip(tiny_model.variables, weights):
        np.testing.assert_array_equal(variable.numpy(), value)
    for variable, value in zip(tiny_model.optimizer.variables, state):
        np.testing.assert_array_equal(variable.numpy(), value)
    assert 2 <= len(result.lrs) <= 12 and len(result.losses) == len(result.lrs)
    np.testing.assert_allclose(result.lrs, [1e-5 * (1e5) ** (i / 11) for i in range(len(result.lrs))])
    assert set(result.suggestions) == {"valley", "steepest", "minimum"}
    assert result.lrs[0] <= result.suggestion <= result.lrs[-1]
    png = result.plot(tmp_path / "lr.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result.to_dict()["suggestion"] == result.suggestion


def test_unbuilt_optimizer_is_left_fresh(tiny_model, tiny_images):
    tiny_model.compile(optimizer=keras.optimizers.Adam(1e-3, name="adam"))
    kt.lr_find(tiny_model, tiny_images, steps=5, batch_size=6)
    assert int(tiny_model.optimizer.iterations.numpy()) == 0
    assert all(not np.any(v.numpy()) for v in tiny_model.optimizer.variables if "momentum" in v.path)
    assert tiny_model.optimizer.learning_rate.numpy() == pytest.approx(1e-3)


def test_errors(tiny_model, tiny_images):
    with pytest.raises(InvalidConfigError, match="compiled model"):
        kt.lr_find(tiny_model, tiny_images)
    tiny_model.compile(optimizer="adam")
    with pytest.raises(InvalidConfigError, match="Unknown LR suggestion"):
        kt.lr_find(tiny_model, tiny_images, method="best")
    with pytest.raises(InvalidConfigError, match="end_lr must be above"):
        kt.lr_find(tiny_model, tiny_images, start_lr=1.0, end_lr=0.1)
