"""ExponentialMovingAverage: the average of the weight trajectory, swapped in for validation and at the end of fit."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer import errors
from keras_transfer.callbacks import ExponentialMovingAverage
from keras_transfer.testing import register_tiny_backbone


def _model(trainable="full"):
    keras.utils.set_random_seed(5)
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(16, 16), trainable=trainable,
                                train_bn=False)
    model = kt.TransferModel(backbone, kt.ClassificationHead(3, dropout=0.0))
    model.compile(keras.optimizers.Adam(0.01))
    model(np.zeros((1, 16, 16, 3), "uint8"))  # built: every weight exists when fit begins
    return model


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(2)
    return rng.integers(0, 256, (24, 16, 16, 3), dtype=np.uint8), np.arange(24) % 3


def _floats(model):
    return [keras.ops.convert_to_numpy(w) for w in model.weights if "float" in str(w.dtype)]


class Trajectory(keras.callbacks.Callback):
    """The float weights at the start of fit and after every training batch."""

    def on_train_begin(self, logs=None):
        self.steps = [_floats(self.model)]

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append(_floats(self.model))


def test_the_model_ends_with_the_warmed_up_average_of_the_trajectory(data):
    model, trajectory, ema = _model(), Trajectory(), ExponentialMovingAverage(0.9)
    model.fit(*data, batch_size=8, epochs=2, shuffle=False, callbacks=[ema, trajectory], verbose=0)
    expected = trajectory.steps[0]
    for n, weights in enumerate(trajectory.steps[1:]):
        decay = min(0.9, (1 + n) / (10 + n))
        expected = [w + decay * (a - w) for a, w in zip(expected, weights)]
    assert ema.updates == 6 and ema.averaged and len(expected) == len(ema.average_weights())
    final, raw = _floats(model), trajectory.steps[-1]
    assert any(not np.allclose(f, r) for f, r in zip(final, raw))  # the average is not the last step
    for got, want in zip(final, expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_validation_judges_the_average_and_the_next_fit_trains_the_raw_weights(data):
    x, y = data
    model, ema, trajectory = _model(), ExponentialMovingAverage(0.95), Trajectory()
    history = model.fit(x, y, batch_size=8, epochs=2, validation_data=(x, y), callbacks=[ema], verbose=0)
    # the last validation ran on the final average, which the model now holds
    assert history.history["val_loss"][-1] == pytest.approx(model.evaluate(x, y, verbose=0)[0], rel=1e-5)
    raw = ema._raw
    model.fit(x, y, batch_size=8, epochs=1, callbacks=[ema, trajectory], verbose=0)
    for got, want in zip(trajectory.steps[0], raw):  # training continued from the raw weights
        np.testing.assert_array_equal(got, want)
    assert ema.updates == 9


def test_frozen_weights_stay_bit_exact(data):
    model, ema = _model(trainable="frozen"), ExponentialMovingAverage(0.9)
    before = [keras.ops.convert_to_numpy(w) for w in model.backbone.weights]
    model.fit(*data, batch_size=8, epochs=1, callbacks=[ema], verbose=0)
    for got, want in zip(model.backbone.weights, before):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(got), want)


def test_decay_is_checked():
    with pytest.raises(errors.InvalidConfigError, match=r"Received: decay=1\.0"):
        ExponentialMovingAverage(1.0)
