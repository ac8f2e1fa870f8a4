"""fine_tune(checkpoint_dir=...): atomic per-epoch state, resume at a stage boundary, finished runs, NaN guard."""

import json

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer import errors
from keras_transfer.testing import register_tiny_backbone


def _model(head=None):
    keras.utils.set_random_seed(11)
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(16, 16))
    return kt.TransferModel(backbone, head or kt.ClassificationHead(3, dropout=0.2))


def _weights(model):
    return [keras.ops.convert_to_numpy(w) for w in model.weights]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (12, 16, 16, 3), dtype=np.uint8), np.arange(12) % 3


SETTINGS = dict(head_epochs=2, fine_tune_epochs=2, unfreeze=2, batch_size=4, seed=3, verbose=0)


class CrashAt(keras.callbacks.Callback):
    """Raises at a given batch of a given epoch (a crash at a point we choose)."""

    def __init__(self, epoch, batch=0):
        super().__init__()
        self.at, self.batch = epoch, batch

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == self.at and batch == self.batch:
            raise KeyboardInterrupt("simulated crash")


@pytest.mark.parametrize("cached", [False, True], ids=["at_the_stage_boundary", "after_a_cached_stage_one"])
def test_crash_in_stage_two_resumes_into_stage_two(tmp_path, data, cached):
    settings = dict(SETTINGS, cache_dir=tmp_path / "features") if cached else SETTINGS
    crash_epoch = 3 if cached else 2  # cached: mid stage 2 (a stage on the cache is checkpointed when it ends)
    full = _model()
    full_history = kt.fine_tune(full, data, checkpoint_dir=tmp_path / "full", **settings)
    crashed = _model()
    with pytest.raises(KeyboardInterrupt):
        kt.fine_tune(crashed, data, checkpoint_dir=tmp_path / "crash", callbacks=[CrashAt(crash_epoch)], **settings)
    state = json.loads((tmp_path / "crash" / "state.json").read_text())
    assert (state["stage_index"], state["next_epoch"], state["at_stage_start"]) == (1, crash_epoch, not cached)
    assert [s["name"] for s in state["completed_stages"]] == ["head"]
    resumed = _model()
    history = kt.fine_tune(resumed, data, checkpoint_dir=tmp_path / "crash", **settings)
    assert history.epoch == full_history.epoch == [0, 1, 2, 3]
    assert [s["mode"] for s in history.stages] == ["frozen", "last:2"] and resumed.backbone.mode == "last:2"
    np.testing.assert_allclose(history.history["loss"], full_history.history["loss"], rtol=1e-6)
    for a, b in zip(_weights(full), _weights(resumed)):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_a_finished_run_restores_its_weights_without_training(tmp_path, data, monkeypatch):
    trained = _model()
    first = kt.fine_tune(trained, data, checkpoint_dir=tmp_path, **SETTINGS)
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["finished"] is True
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [state["folder"], "state.json"]  # one complete epoch folder, no temporary files
    with np.load(tmp_path / state["folder"] / "weights.npz", allow_pickle=False) as stored:
        assert len(stored.files) >= len(trained.weights)

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run must not train again")

    monkeypatch.setattr(keras.Model, "fit", no_training)
    again = _model()
    history = kt.fine_tune(again, data, checkpoint_dir=tmp_path, **SETTINGS)
    assert history.history == first.history and history.stages == first.stages
    for a, b in zip(_weights(trained), _weights(again)):
        np.testing.assert_array_equal(a, b)
    assert again.backbone.mode == "last:2"
    np.testing.assert_allclose(again.predict(data[0], verbose=0), trained.predict(data[0], verbose=0), atol=1e-6)


def test_other_settings_are_refused_rather_than_mixed(tmp_path, data):
    kt.fine_tune(_model(), data, checkpoint_dir=tmp_path, **dict(SETTINGS, fine_tune_epochs=0))
    with pytest.raises(errors.InvalidConfigError, match=r"head_epochs=3 \(checkpoint: 2\)"):
        kt.fine_tune(_model(), data, checkpoint_dir=tmp_path, **dict(SETTINGS, fine_tune_epochs=0, head_epochs=3))


class LearningRateBlowUp(keras.callbacks.Callback):
    """From epoch 1 on, a learning rate far too high (a bad schedule)."""

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            self.model.optimizer.learning_rate.assign(1e12)


def test_nan_guard_stops_points_at_the_learning_rate_and_keeps_the_last_good_checkpoint(tmp_path, data):
    x, _ = data
    targets = np.linspace(0, 100, len(x)).astype("float32")
    model = _model(kt.RegressionHead(1))
    with pytest.raises(errors.TrainingDivergedError) as info:
        kt.fine_tune(model, (x, targets), head_epochs=3, fine_tune_epochs=0, optimizer="sgd", head_lr=1e-6,
                     batch_size=2, callbacks=[LearningRateBlowUp()], checkpoint_dir=tmp_path, verbose=0)
    message = str(info.value)
    assert "epoch 1" in message and "learning rate" in message and "1e+12" in message and "lower it" in message
    assert "Received" in message and str(tmp_path) in message
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["next_epoch"] == 1  # the diverged epoch was never checkpointed
    with np.load(tmp_path / state["folder"] / "weights.npz", allow_pickle=False) as stored:
        kept = [stored[f"a{i:05d}"] for i in range(len(model.weights))]
    for now, good in zip(_weights(model), kept):  # the model holds the last good weights, finite
        assert np.all(np.isfinite(now))
        np.testing.assert_array_equal(now, good)


def test_without_the_guard_a_diverging_run_ends_with_nan_weights(data):
    x, _ = data
    model = _model(kt.RegressionHead(1))
    history = kt.fine_tune(model, (x, np.linspace(0, 100, len(x)).astype("float32")), head_epochs=2,
                           fine_tune_epochs=0, optimizer="sgd", head_lr=1e-6, batch_size=2,
                           callbacks=[LearningRateBlowUp()], nan_guard=False, verbose=0)
    assert not np.isfinite(history.history["loss"][-1])
    with pytest.raises(errors.InvalidConfigError, match="Received: nan_guard='yes'"):
        kt.fine_tune(model, (x, np.zeros(len(x), "float32")), nan_guard="yes", verbose=0)


def test_nan_guard_also_watches_a_head_stage_on_cached_features(tmp_path, data):
    x, _ = data
    model = _model(kt.RegressionHead(1))
    with pytest.raises(errors.TrainingDivergedError, match="learning rate"):
        kt.fine_tune(model, (x, np.linspace(0, 100, len(x)).astype("float32")), head_epochs=3, fine_tune_epochs=0,
                     optimizer="sgd", head_lr=1e-6, batch_size=2, callbacks=[LearningRateBlowUp()],
                     cache_dir=tmp_path / "cache", verbose=0)
    assert all(np.all(np.isfinite(w)) for w in _weights(model))  # the last good head weights are back


def test_stored_optimizer_moments_that_find_no_variable_are_refused(tmp_path, data):
    from keras_transfer.training.checkpoint import TrainingCheckpoint

    x, y = data
    model = _model()
    model.backbone.set_mode("full")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=6, verbose=0)  # moments for backbone and head
    checkpoint = TrainingCheckpoint(tmp_path)
    checkpoint.save({"next_epoch": 1}, model, model.optimizer)

    model.backbone.set_mode("frozen")  # fewer trainable variables: the backbone's moments have no place
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)
    with pytest.raises(errors.InvalidConfigError, match="optimizer variables match none.*Received: optimizer Adam"):
        checkpoint.restore_optimizer(model.optimizer, model, checkpoint.load())
