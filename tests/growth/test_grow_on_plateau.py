"""GrowOnPlateau: widen on a stalled validation metric, keep training the grown model, refuse bad set-ups."""

import keras
import numpy as np
import pytest

from keras_transfer.errors import InvalidConfigError
from keras_transfer.growth import GrowOnPlateau


@pytest.fixture
def task(kit):
    model = kit.build("dense_functional", batchnorm=False)
    # Eager steps: these tiny fits would spend seconds tracing tf.functions for a few milliseconds of work.
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse", run_eagerly=True)
    x = kit.inputs(model, n=24)
    y = np.random.default_rng(0).normal(size=(24, 3)).astype("float32")
    return model, x, y


def test_policy_grows_on_plateau_and_trains_on(task):
    model, x, y = task
    # min_delta so large that nothing after the first epoch counts as an improvement: grows after epoch 1.
    policy = GrowOnPlateau("dense_2", patience=1, min_delta=1e9, seed=0)
    final, history = policy.fit(model, x, y, validation_data=(x, y), epochs=3, batch_size=8, verbose=0)
    assert policy.growths == [{"epoch": 1, "layer": "dense_2", "old_units": 5, "new_units": 10}]
    assert final is not model and final.get_layer("dense_2").units == 10 and model.get_layer("dense_2").units == 5
    assert history.epoch == [0, 1, 2]
    assert [(s["name"], s["epochs"], s["mode"]) for s in history.stages] == [
        ("initial", [0, 1], "dense_2=5"),
        ("grown_1", [2], "dense_2=10"),
    ]
    assert len(history.history["val_loss"]) == 3 and np.all(np.isfinite(history.history["val_loss"]))
    assert final.optimizer is not model.optimizer


def test_no_growth_while_improving(task):
    model, x, y = task
    policy = GrowOnPlateau(patience=3)
    final, history = policy.fit(model, x, y, validation_data=(x, y), epochs=2, verbose=0)
    assert final is model and policy.growths == [] and [s["name"] for s in history.stages] == ["initial"]


def test_as_plain_callback_stops_and_leaves_grown_model(task, kit):
    model, x, y = task
    policy = GrowOnPlateau(monitor="loss", patience=1, min_delta=1e9, factor=1.5, seed=1)
    history = model.fit(x, y, epochs=6, callbacks=[policy], verbose=0)
    assert history.epoch == [0, 1]  # stopped at the plateau
    grown = policy.grown_model
    assert grown.get_layer("dense_2").units == 8  # default layer: the last widenable Dense; ceil(5 × 1.5)
    np.testing.assert_allclose(kit.outputs(grown, x), kit.outputs(model, x), atol=1e-5)


def test_bad_set_ups_fail_before_training(task, kit):
    model, x, y = task
    with pytest.raises(InvalidConfigError, match="no validation data"):
        GrowOnPlateau().fit(model, x, y, epochs=2)
    with pytest.raises(InvalidConfigError, match="model's output shape"):
        GrowOnPlateau("out", monitor="loss").fit(model, x, y, epochs=2)
    with pytest.raises(InvalidConfigError, match="compiled model"):
        GrowOnPlateau().fit(kit.build("dense_functional"), x, y, validation_data=(x, y), epochs=2)
    with pytest.raises(InvalidConfigError, match="sets epochs itself|epochs must be"):
        GrowOnPlateau(monitor="loss").fit(model, x, y, epochs=0)
    for kwargs in ({"factor": 1.0}, {"patience": 0}, {"mode": "up"}, {"noise": -1.0}, {"layer_name": ""}):
        with pytest.raises(InvalidConfigError):
            GrowOnPlateau(**kwargs)


def test_missing_monitored_metric_is_explained(task):
    model, x, y = task
    with pytest.raises(InvalidConfigError, match=r"watches 'val_auc'.*Received: logs with \['loss', 'val_loss'\]"):
        model.fit(x, y, validation_data=(x, y), epochs=1, callbacks=[GrowOnPlateau(monitor="val_auc")], verbose=0)
