"""AutoLR: the ramp of every epoch, its composition with warmup, and per-epoch logging."""

import importlib.util
import pathlib

import numpy as np
import pytest

from keras_transfer.callbacks import AutoLR, Warmup, ramp_learning_rate, warmup_factor
from keras_transfer.errors import InvalidConfigError

_spec = importlib.util.spec_from_file_location("lr_helpers", pathlib.Path(__file__).parent / "helpers.py")
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)


def test_ramp_is_pure_and_capped():
    assert [ramp_learning_rate(e, 2, 1.0, 5.0) for e in range(0, 7)] == [1.0, 1.0, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert ramp_learning_rate(4, 0, 1.0, 1.0) == 1.0


def test_ramp_every_step_with_warmup_and_logs():
    x, y = helpers.dense_data()  # 4 steps per epoch
    model = helpers.dense_model(helpers.multi_sgd(0.1, 0.01))
    auto = AutoLR(start={"kernel": 0.01}, target={"kernel": 0.05}, unfrozen_at={"kernel": 0})
    recorder = helpers.RateRecorder()
    model.fit(x, y, batch_size=8, epochs=4, verbose=0, callbacks=[auto, Warmup(steps=2), recorder])
    warm = np.array([warmup_factor(s, 2) for s in range(16)])
    ramp = np.repeat([0.01, 0.02, 0.04, 0.05], 4)
    np.testing.assert_allclose([r["kernel"] for r in recorder.rates], ramp * warm, rtol=1e-5)
    np.testing.assert_allclose([r["head"] for r in recorder.rates], 0.1 * warm, rtol=1e-5)
    np.testing.assert_allclose(model.history.history["learning_rate_kernel"], [0.01, 0.02, 0.04, 0.05], rtol=1e-5)
    np.testing.assert_allclose(model.history.history["learning_rate_head"], [0.1] * 4, rtol=1e-5)


def test_bad_arguments():
    with pytest.raises(InvalidConfigError, match="same groups"):
        AutoLR(start={"a": 1e-3}, target={}, unfrozen_at={})
    with pytest.raises(InvalidConfigError, match="ramp"):
        AutoLR(ramp=0.5)
    with pytest.raises(InvalidConfigError, match="positive"):
        AutoLR(start={"a": 0.0}, target={"a": 1e-3}, unfrozen_at={"a": 0})
