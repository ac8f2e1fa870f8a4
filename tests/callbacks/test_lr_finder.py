"""LRFinder callback: exponential sweep, per-batch losses, divergence stop."""

import importlib.util
import pathlib

import keras
import numpy as np
import pytest

from keras_transfer.callbacks import LRFinder, sweep_learning_rate
from keras_transfer.errors import InvalidConfigError

_spec = importlib.util.spec_from_file_location("lr_helpers", pathlib.Path(__file__).parent / "helpers.py")
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)


def test_sweep_is_exponential_and_recovers_batch_losses():
    x, y = helpers.dense_data(64)
    model = helpers.dense_model(helpers.multi_sgd(0.1, 0.01))
    finder = LRFinder(start_lr=1e-4, end_lr=1e-2, steps=8, smoothing=0.0)
    recorder = helpers.RateRecorder()
    losses = []
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False, callbacks=[finder, recorder])
    expected = [sweep_learning_rate(s, 1e-4, 1e-2, 8) for s in range(8)]
    np.testing.assert_allclose(finder.lrs, expected)
    np.testing.assert_allclose([r["head"] for r in recorder.rates], expected, rtol=1e-5)
    np.testing.assert_allclose([r["kernel"] for r in recorder.rates], np.array(expected) / 10, rtol=1e-5)
    # The recovered per-batch losses average back to the epoch's mean loss.
    assert np.mean(finder.losses) == pytest.approx(model.history.history["loss"][0], rel=1e-4)
    assert finder.smoothed_losses == finder.losses  # smoothing=0
    del losses


def test_stops_when_loss_exceeds_four_times_best():
    x, y = helpers.dense_data(64)
    x = x * 50  # large inputs: SGD diverges fast at high rates
    model = helpers.dense_model(keras.optimizers.SGD(0.1, name="sgd"))
    finder = LRFinder(start_lr=1e-3, end_lr=1e4, steps=40, smoothing=0.0)
    model.fit(x, y, batch_size=8, epochs=5, verbose=0, callbacks=[finder])
    assert finder.stopped_early and len(finder.lrs) < 40
    last, best = finder.smoothed_losses[-1], min(finder.smoothed_losses[:-1])
    assert not np.isfinite(last) or last > 4 * best
    assert all(v <= 4 * min(finder.smoothed_losses[: i + 1]) for i, v in enumerate(finder.smoothed_losses[:-1]))


def test_bad_arguments():
    for kwargs in ({"start_lr": 0}, {"start_lr": 1e-2, "end_lr": 1e-3}, {"steps": 1}, {"stop_factor": 1.0}):
        with pytest.raises(InvalidConfigError):
            LRFinder(**kwargs)
