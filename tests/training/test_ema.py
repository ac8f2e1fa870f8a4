"""fine_tune(ema=...): the returned model holds the average; an interrupted run with ema resumes exactly."""

import json

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.testing import register_tiny_backbone

SETTINGS = dict(head_epochs=2, fine_tune_epochs=2, unfreeze=2, batch_size=4, seed=3, verbose=0, ema=0.9)


def _model():
    keras.utils.set_random_seed(11)
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(16, 16), train_bn=False)
    return kt.TransferModel(backbone, kt.ClassificationHead(3, dropout=0.2))


def _weights(model):
    return [keras.ops.convert_to_numpy(w) for w in model.weights]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (12, 16, 16, 3), dtype=np.uint8), np.arange(12) % 3


class CrashAt(keras.callbacks.Callback):
    """Raises after batch ``batch`` of epoch ``epoch``."""

    def __init__(self, epoch, batch=1):
        super().__init__()
        self.at, self.batch, self.epoch = epoch, batch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == self.at and batch == self.batch:
            raise KeyboardInterrupt("simulated crash")


class Raw(keras.callbacks.Callback):
    """The raw (trained) float weights at the end of the last batch."""

    def on_train_batch_end(self, batch, logs=None):
        self.weights = [keras.ops.convert_to_numpy(w) for w in self.model.weights]


def test_the_returned_model_holds_the_average_and_validation_judged_it(data):
    raw = Raw()
    model = _model()
    history = kt.fine_tune(model, data, validation=data, callbacks=[raw], **SETTINGS)
    assert any(not np.allclose(a, b) for a, b in zip(_weights(model), raw.weights))
    x, y = data
    assert history.history["val_loss"][-1] == pytest.approx(model.evaluate(x, y, verbose=0)[0], rel=1e-5)
    plain = _model()
    kt.fine_tune(plain, data, validation=data, **dict(SETTINGS, ema=None))
    for a, b in zip(_weights(plain), raw.weights):  # the average never fed back into training
        np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("crash_epoch", [3], ids=["in_stage_two"])
def test_an_interrupted_run_with_ema_resumes_exactly(tmp_path, data, crash_epoch):
    full = _model()
    full_history = kt.fine_tune(full, data, validation=data, checkpoint_dir=tmp_path / "full", **SETTINGS)
    crashed = _model()
    with pytest.raises(KeyboardInterrupt):
        kt.fine_tune(crashed, data, validation=data, checkpoint_dir=tmp_path / "crash",
                     callbacks=[CrashAt(crash_epoch)], **SETTINGS)
    state = json.loads((tmp_path / "crash" / "state.json").read_text())
    assert state["next_epoch"] == crash_epoch and state["average"] and state["average_updates"] == 3 * crash_epoch
    resumed = _model()
    history = kt.fine_tune(resumed, data, validation=data, checkpoint_dir=tmp_path / "crash", **SETTINGS)
    np.testing.assert_allclose(history.history["val_loss"], full_history.history["val_loss"], rtol=1e-5)
    for a, b in zip(_weights(full), _weights(resumed)):
        np.testing.assert_allclose(a, b, atol=1e-6)
    again = _model()  # the finished run: the averaged weights come back without training
    kt.fine_tune(again, data, validation=data, checkpoint_dir=tmp_path / "crash", **SETTINGS)
    for a, b in zip(_weights(full), _weights(again)):
        np.testing.assert_allclose(a, b, atol=1e-6)
