"""Loss weighting: fixed weights, learned uncertainty weights (Kendall et al.), dynamic weight averaging."""

import math

import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer import errors
from keras_transfer.models import loss_weighting as lw
from keras_transfer.testing import register_tiny_backbone


def _combine(weighting, losses, present=None):
    present = present or {t: 1.0 for t in losses}
    return float(weighting.combine({t: np.float32(v) for t, v in losses.items()}, present, training=True))


def test_fixed_weights_and_scheme_names():
    fixed = lw.get({"a": 2.0}, ["a", "b"])
    assert isinstance(fixed, lw.FixedWeighting) and fixed.task_weights() == {"a": 2.0, "b": 1.0}
    assert _combine(fixed, {"a": 1.5, "b": 3.0}) == pytest.approx(6.0)
    assert _combine(fixed, {"a": 1.5, "b": 3.0}, {"a": 1.0, "b": 0.0}) == pytest.approx(3.0)
    assert lw.get(None, ["a"]).task_weights() == {"a": 1.0}
    assert isinstance(lw.get("uncertainty", ["a"]), lw.UncertaintyWeighting)
    assert isinstance(lw.get("DWA", ["a"]), lw.DynamicWeightAveraging)
    with pytest.raises(errors.InvalidConfigError, match="loss_weighting='kendall'"):
        lw.get("kendall", ["a"])
    with pytest.raises(errors.InvalidConfigError, match=r"no head: \['c'\]"):
        lw.get({"c": 1.0}, ["a", "b"])
    with pytest.raises(errors.InvalidConfigError, match="finite floats"):
        lw.get({"a": -1.0}, ["a"])
    with pytest.raises(errors.InvalidConfigError, match="of type int"):
        lw.get(3, ["a"])
    with pytest.raises(errors.InvalidConfigError, match="made for tasks"):
        lw.UncertaintyWeighting(tasks=["x"]).bind(["a"])


def test_uncertainty_objective_and_absent_tasks():
    weighting = lw.get("uncertainty", ["a", "b"])
    weighting.log_variance.assign([0.5, -1.0])
    expected = math.exp(-0.5) * 2.0 + 0.5 + math.exp(1.0) * 3.0 - 1.0
    assert _combine(weighting, {"a": 2.0, "b": 3.0}) == pytest.approx(expected, rel=1e-6)
    # A task with no label in the batch adds nothing, not even its log-variance term.
    assert _combine(weighting, {"a": 2.0, "b": 0.0}, {"a": 1.0, "b": 0.0}) == pytest.approx(math.exp(-0.5) * 2 + 0.5)
    assert weighting.task_weights() == pytest.approx({"a": math.exp(-0.5), "b": math.exp(1.0)})


def test_dwa_follows_the_rate_of_descent_over_windows():
    weighting = lw.DynamicWeightAveraging(temperature=2.0, period=2).bind(["a", "b"])
    for losses in ({"a": 1.0, "b": 1.0}, {"a": 1.0, "b": 1.0}):  # window 1
        _combine(weighting, losses)
    assert weighting.task_weights() == {"a": 1.0, "b": 1.0}  # one window is not enough
    for losses in ({"a": 0.4, "b": 1.0}, {"a": 0.6, "b": 1.0}):  # window 2: a falls to half, b stays
        _combine(weighting, losses)
    e = np.exp(np.array([0.5, 1.0]) / 2.0)
    assert weighting.task_weights() == pytest.approx(dict(zip("ab", 2 * e / e.sum())), rel=1e-5)
    before = weighting.task_weights()
    weighting.combine({"a": np.float32(9.0), "b": np.float32(9.0)}, {"a": 1.0, "b": 1.0}, training=False)
    weighting.combine({"a": np.float32(9.0), "b": np.float32(9.0)}, {"a": 1.0, "b": 1.0}, training=False)
    assert weighting.task_weights() == before  # evaluation never updates the state
    with pytest.raises(errors.InvalidConfigError, match="period=0"):
        lw.DynamicWeightAveraging(period=0)


def test_learned_weights_favour_the_task_with_cleaner_labels():
    """Two regression tasks on the same images whose label noise differs 4x: the clean one weighs ≥ 1.5x more."""
    rng = np.random.default_rng(0)
    n = 256
    level = rng.uniform(0, 1, n).astype("float32")
    x = np.clip(level[:, None, None, None] * 255 + rng.normal(0, 8, (n, 28, 28, 1)), 0, 255).astype("uint8")
    y = {
        "clean": 2 * level + rng.normal(0, 0.1, n).astype("float32"),
        "noisy": 2 * level + rng.normal(0, 0.4, n).astype("float32"),
    }
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32))
    model = kt.MultiTaskModel(
        backbone, {"clean": kt.RegressionHead(), "noisy": kt.RegressionHead()}, loss_weighting="uncertainty"
    )
    model.compile(optimizer=kt.training.make_optimizer("adam", 0.05))
    history = model.fit(x, y, epochs=9, batch_size=32, verbose=0)
    weights = model.task_weights()
    assert weights["clean"] >= 1.5 * weights["noisy"], weights
    assert history.history["clean_weight"][-1] > history.history["noisy_weight"][-1]
