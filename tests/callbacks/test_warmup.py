"""Warmup: the rate of every step, cosine, MultiOptimizer, composition, resume, errors."""

import importlib.util
import pathlib

import keras
import numpy as np
import pytest

from keras_transfer.callbacks import Warmup, warmup_factor
from keras_transfer.errors import InvalidConfigError

_spec = importlib.util.spec_from_file_location("lr_helpers", pathlib.Path(__file__).parent / "helpers.py")
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)


def test_warmup_factor_pure():
    assert [warmup_factor(s, 4) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    cosine = [warmup_factor(s, 2, total_steps=6, then="cosine") for s in range(8)]
    np.testing.assert_allclose(cosine, [0.5, 1.0, 1.0, 0.5 * (1 + np.cos(np.pi / 4)), 0.5,
                                        0.5 * (1 + np.cos(3 * np.pi / 4)), 0.0, 0.0])
    assert warmup_factor(10, 0, total_steps=10, then="cosine", min_factor=0.1) == pytest.approx(0.1)


def test_every_step_constant_single_optimizer():
    x, y = helpers.dense_data()  # 4 steps per epoch
    model = helpers.dense_model(keras.optimizers.SGD(0.1, name="sgd"))
    recorder = helpers.RateRecorder()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False, callbacks=[Warmup(steps=4), recorder])
    got = [r["sgd"] for r in recorder.rates]
    np.testing.assert_allclose(got, [0.025, 0.05, 0.075, 0.1, 0.1, 0.1, 0.1, 0.1], rtol=1e-6)


def test_every_step_cosine_on_each_sub_optimizer():
    x, y = helpers.dense_data()
    model = helpers.dense_model(helpers.multi_sgd(0.1, 0.01))
    recorder = helpers.RateRecorder()
    warmup = Warmup(fraction=0.25, then="cosine")
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[warmup, recorder])
    factors = np.array([warmup_factor(s, 2, 8, "cosine") for s in range(8)])
    np.testing.assert_allclose([r["head"] for r in recorder.rates], 0.1 * factors, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose([r["kernel"] for r in recorder.rates], 0.01 * factors, rtol=1e-5, atol=1e-10)


def test_composes_with_reduce_lr_on_plateau():
    x, y = helpers.dense_data()
    model = helpers.dense_model(helpers.multi_sgd(0.1, 0.01))
    recorder = helpers.RateRecorder()
    # min_delta=10: never an "improvement", so the plateau callback halves every rate after every epoch.
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10.0)
    model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[Warmup(steps=6), plateau, recorder])
    factors = np.array([warmup_factor(s, 6) for s in range(12)])
    scale = np.repeat([1.0, 1.0, 0.5], 4)  # the first epoch sets the best, the second halves for the third
    np.testing.assert_allclose([r["head"] for r in recorder.rates], 0.1 * factors * scale, rtol=1e-5)
    np.testing.assert_allclose([r["kernel"] for r in recorder.rates], 0.01 * factors * scale, rtol=1e-5)


class _Kill(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            raise KeyboardInterrupt("killed")


def test_state_survives_backup_and_restore(tmp_path):
    x, y = helpers.dense_data()
    reference = helpers.RateRecorder()
    helpers.dense_model(keras.optimizers.SGD(0.1, name="sgd")).fit(
        x, y, batch_size=8, epochs=3, verbose=0, callbacks=[Warmup(steps=6, then="cosine"), reference]
    )
    backup = str(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        helpers.dense_model(keras.optimizers.SGD(0.1, name="sgd")).fit(
            x, y, batch_size=8, epochs=3, verbose=0,
            callbacks=[keras.callbacks.BackupAndRestore(backup), Warmup(steps=6, then="cosine"), _Kill()],
        )
    resumed = helpers.RateRecorder()  # a new process: new model, new callback, same backup folder
    helpers.dense_model(keras.optimizers.SGD(0.1, name="sgd")).fit(
        x, y, batch_size=8, epochs=3, verbose=0,
        callbacks=[keras.callbacks.BackupAndRestore(backup), Warmup(steps=6, then="cosine"), resumed],
    )
    assert len(resumed.rates) == 8
    np.testing.assert_allclose([r["sgd"] for r in resumed.rates], [r["sgd"] for r in reference.rates[4:]], rtol=1e-5)


def test_errors():
    x, y = helpers.dense_data()
    with pytest.raises(InvalidConfigError, match="longer than the training run"):
        helpers.dense_model(keras.optimizers.SGD(0.1, name="sgd")).fit(x, y, batch_size=8, epochs=1, verbose=0,
                                                           callbacks=[Warmup(steps=5)])
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)
    multi = keras.optimizers.MultiOptimizer(keras.optimizers.OptimizerMap(keras.optimizers.SGD(schedule)))
    with pytest.raises(InvalidConfigError, match="LearningRateSchedule"):
        helpers.dense_model(multi).fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[Warmup(steps=2)])
    for kwargs in ({}, {"steps": 2, "fraction": 0.1}, {"steps": 0}, {"fraction": 1.5}, {"steps": 2, "then": "linear"}):
        with pytest.raises(InvalidConfigError):
            Warmup(**kwargs)
