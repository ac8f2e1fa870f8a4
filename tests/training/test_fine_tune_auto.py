"""fine_tune(lr="auto") and fine_tune(unfreeze="gradual"): rates of every step across stages, trainable counts."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.callbacks import warmup_factor
from keras_transfer.errors import InvalidConfigError


class _Recorder(keras.callbacks.Callback):
    """Per step: every rate in use; per epoch: the number of trainable variables."""

    def __init__(self):
        super().__init__()
        self.rates, self.trainable = [], []

    def on_epoch_end(self, epoch, logs=None):
        self.trainable.append((epoch, len(self.model.trainable_variables)))

    def on_train_batch_begin(self, batch, logs=None):
        self.rates.append(kt.optimizers.get_learning_rates(self.model.optimizer))


def test_auto_rates_of_every_step_across_the_stages(tiny_model, tiny_images):
    x, y = tiny_images  # 18 images, batch 6: 3 steps per epoch
    recorder = _Recorder()
    # Two epochs per stage: a plateau reduction can only act after a stage's second epoch, so none here.
    history = kt.fine_tune(tiny_model, (x, y), head_epochs=2, fine_tune_epochs=2, lr="auto", batch_size=6,
                           callbacks=[recorder], verbose=0)
    head_lr = history.stages[0]["learning_rate"]
    assert 1e-4 <= head_lr <= 1e-2  # the LR finder's suggestion, clipped
    warm = [warmup_factor(s, 1, 6) for s in range(6)]  # 10 % of 6 steps -> 1 warmup step
    stage1 = [next(iter(r.values())) for r in recorder.rates[:6]]
    np.testing.assert_allclose(stage1, head_lr * np.array(warm), rtol=1e-5)
    stage2 = recorder.rates[6:]
    ramp = np.repeat([1.0, 2.0], 3)  # top group at head_lr / 10, doubled in the second epoch
    np.testing.assert_allclose([r["head"] for r in stage2], head_lr / 2 * np.array(warm), rtol=1e-5)
    for group in ("block1", "block2", "block3"):
        np.testing.assert_allclose([r[group] for r in stage2], head_lr / 10 * ramp * np.array(warm), rtol=1e-5)
    assert history.stages[1]["learning_rate"] == pytest.approx(head_lr / 2)
    logged = history.history
    assert np.isnan(logged["learning_rate_head"][0]) and logged["learning_rate"][0] == pytest.approx(head_lr, rel=1e-5)
    np.testing.assert_allclose(logged["learning_rate_block3"][2:], [head_lr / 10, head_lr / 5], rtol=1e-5)


def test_gradual_unfreezing_counts_and_optimizer_state(tiny_model, tiny_images):
    x, y = tiny_images
    recorder = _Recorder()
    history = kt.fine_tune(tiny_model, (x, y), head_epochs=0, fine_tune_epochs=3, unfreeze="gradual",
                           lr_factor=2.0, batch_size=9, callbacks=[recorder], verbose=0)
    # head: kernel + bias; each tiny_cnn group adds one conv kernel (BatchNorm stays frozen).
    assert recorder.trainable == [(0, 3), (1, 4), (2, 5)]
    assert history.epoch == [0, 1, 2] and history.stages[0]["mode"] == "full"
    # The optimizer kept its state across the recompiles: each sub-optimizer counted its own steps.
    steps = {o.name: int(o.iterations.numpy()) for o in tiny_model.optimizer.optimizers}
    assert steps == {"block1": 2, "block2": 4, "block3": 6, "head": 6}
    rates = recorder.rates[-1]
    assert rates["block2"] == pytest.approx(rates["block3"] / 2) and rates["block3"] == pytest.approx(rates["head"] / 2)


def test_bad_policies(tiny_model, tiny_images):
    with pytest.raises(InvalidConfigError, match="Unknown unfreeze policy"):
        kt.fine_tune(tiny_model, tiny_images, unfreeze="sometimes", verbose=0)
    with pytest.raises(InvalidConfigError, match="Unknown learning-rate policy"):
        kt.fine_tune(tiny_model, tiny_images, lr="fast", verbose=0)
    with pytest.raises(InvalidConfigError, match="lr_factor must be a float > 1"):
        kt.fine_tune(tiny_model, tiny_images, lr_factor=1.0, verbose=0)
    with pytest.raises(InvalidConfigError, match="head_lr must be a positive"):
        kt.fine_tune(tiny_model, tiny_images, lr="auto", head_lr=0.0, verbose=0)
