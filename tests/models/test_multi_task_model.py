"""MultiTaskModel: dict outputs, partially labelled data, per-task optimizers, fine_tune and `.keras` round trip."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_transfer as kt
from keras_transfer import errors
from keras_transfer.models.multi_task_model import task_optimizer, validate_task_labels
from keras_transfer.testing import register_tiny_backbone


def _model(**kwargs):
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32))
    heads = kwargs.pop("heads", None) or {
        "digit": kt.ClassificationHead(3, dropout=0.0),
        "size": kt.RegressionHead(),
    }
    return kt.MultiTaskModel(backbone, heads, **kwargs)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(12, 28, 28, 1), dtype=np.uint8)
    digit = np.arange(12) % 3
    size = x.mean(axis=(1, 2, 3)).astype("float32") / 255
    return x, {"digit": digit, "size": size}


def _np(value):
    return float(keras.ops.convert_to_numpy(value))


def test_compile_alone_fit_with_partial_labels_and_dict_outputs(data):
    x, y = data
    model = _model(loss_weighting="uncertainty")
    model.compile(optimizer=keras.optimizers.SGD(0.05))  # no momentum: a zero gradient moves nothing
    partial = {"digit": np.where(np.arange(12) % 4 == 0, -1, y["digit"]), "size": y["size"].copy()}
    partial["size"][::3] = np.nan
    history = model.fit(x, partial, epochs=2, batch_size=4, verbose=0)
    keys = {"loss", "digit_loss", "digit_accuracy", "digit_weight", "size_loss", "size_mae", "size_weight"}
    assert keys == set(history.history)
    assert np.isfinite(history.history["loss"]).all()
    outputs = model(x[:2])
    assert set(outputs) == {"digit", "size"} and tuple(outputs["digit"].shape) == (2, 3)
    assert model.tasks == ["digit", "size"]
    # A task without any label in training: finite loss, its head and its learned weight stay untouched.
    kernel, weights = model.heads["size"].output_layer.kernel.numpy().copy(), model.task_weights()
    unlabelled = {"digit": y["digit"], "size": np.full(12, np.nan, "float32")}
    history = model.fit(x, unlabelled, epochs=1, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"]).all() and history.history["size_loss"] == [0.0]
    np.testing.assert_array_equal(model.heads["size"].output_layer.kernel.numpy(), kernel)
    assert model.task_weights()["size"] == weights["size"] and model.task_weights()["digit"] != weights["digit"]


def test_missing_labels_change_no_labelled_task_loss_and_empty_tasks_give_zero(data):
    x, y = data
    model = _model(loss_weighting={"digit": 1.0, "size": 2.0})
    model.compile(optimizer="adam")
    pred = model(x)
    full = model.task_losses(y, pred)
    size = y["size"].copy()
    size[[1, 4, 7, 10]] = np.nan
    digit = y["digit"].copy()
    digit[[0, 5]] = -1
    partial = model.task_losses({"digit": y["digit"], "size": size}, pred)
    assert _np(partial["digit"]) == pytest.approx(_np(full["digit"]), rel=1e-6)
    labelled = ~np.isnan(size)
    manual = np.mean((keras.ops.convert_to_numpy(pred["size"])[labelled, 0] - size[labelled]) ** 2)
    assert _np(partial["size"]) == pytest.approx(manual, rel=1e-5)
    assert _np(model.task_losses({"digit": digit, "size": y["size"]}, pred)["size"]) == pytest.approx(_np(full["size"]))
    # A task with no label in the batch: loss 0 (not NaN), and the total is the other task's weighted loss.
    none = {"digit": y["digit"], "size": np.full(12, np.nan, "float32")}
    assert _np(model.task_losses(none, pred)["size"]) == 0.0
    assert _np(model.compute_loss(x, none, pred, training=False)) == pytest.approx(_np(full["digit"]), rel=1e-6)
    # One-hot labels with a missing row (-1) on a softmax head: categorical CE over the labelled rows.
    one_hot = np.eye(3, dtype="float32")[y["digit"]]
    one_hot[2] = -1
    probs = keras.ops.convert_to_numpy(pred["digit"])
    manual = np.mean(-np.log(probs[np.arange(12), y["digit"]])[np.arange(12) != 2])
    loss = model.task_losses({"digit": one_hot, "size": y["size"]}, pred)["digit"]
    assert _np(loss) == pytest.approx(manual, rel=1e-5)


def test_label_checks():
    model = _model()
    with pytest.raises(errors.InvalidInputError, match="dict"):
        validate_task_labels(model, np.zeros(4), n=4)
    with pytest.raises(errors.InvalidInputError, match=r"missing \['size'\]; no head for \['colour'\]"):
        validate_task_labels(model, {"digit": [0, 1], "colour": [0, 1]}, n=2)
    with pytest.raises(errors.InvalidInputError, match=r"Received: 4 examples and 3 labels"):
        validate_task_labels(model, {"digit": [0, 1, 2], "size": [0.0] * 4}, n=4)
    with pytest.raises(errors.InvalidInputError, match="only negative class id allowed is -1"):
        validate_task_labels(model, {"digit": [0, -2], "size": [0.0, 1.0]}, n=2)
    with pytest.raises(errors.InvalidInputError, match="integers in"):
        validate_task_labels(model, {"digit": [0, 3], "size": [0.0, 1.0]}, n=2)
    with pytest.raises(errors.InvalidInputError, match="inf"):
        validate_task_labels(model, {"digit": [0, 1], "size": [0.0, np.inf]}, n=2)
    with pytest.raises(errors.InvalidInputError, match="Task 'size' has no label"):
        validate_task_labels(model, {"digit": [0, 1], "size": [np.nan, np.nan]}, n=2)
    checked = validate_task_labels(model, {"digit": [0, -1], "size": [np.nan, np.nan]}, n=2, require_labels=False)
    assert checked["digit"].tolist() == [0, -1] and np.isnan(checked["size"]).all()
    model.compile(optimizer="adam")
    with pytest.raises(errors.InvalidInputError, match="keys must match"):
        model.fit(np.zeros((2, 28, 28, 1), "uint8"), {"digit": np.array([0, 1])}, verbose=0)


def test_configuration_errors():
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None)
    head = kt.ClassificationHead(2)
    with pytest.raises(errors.InvalidConfigError, match="non-empty dict"):
        kt.MultiTaskModel(backbone, {})
    with pytest.raises(errors.InvalidConfigError, match="identifiers"):
        kt.MultiTaskModel(backbone, {"my task": head})
    with pytest.raises(errors.InvalidConfigError, match="same layer twice"):
        kt.MultiTaskModel(backbone, {"a": head, "b": head})
    with pytest.raises(errors.InvalidConfigError, match=r"tasks without a head: \['c'\]"):
        kt.MultiTaskModel(backbone, {"a": head}, head_optimizers={"c": 2.0})
    with pytest.raises(errors.InvalidConfigError, match="positive float"):
        kt.MultiTaskModel(backbone, {"a": head}, head_optimizers={"a": -1.0})
    model = kt.MultiTaskModel(backbone, {"a": head})
    with pytest.raises(errors.InvalidConfigError, match="loss_weighting"):
        model.compile(optimizer="adam", loss_weights={"a": 2.0})
    with pytest.raises(errors.InvalidConfigError, match=r"tasks without a head: \['b'\]"):
        model.compile(optimizer="adam", loss={"b": "mse"})
    with pytest.raises(errors.InvalidConfigError, match="mixup"):
        kt.fine_tune(model, (np.zeros((2, 8, 8, 1), "uint8"), {"a": np.array([0, 1])}), mixup=0.2, verbose=0)


def test_per_task_optimizers_and_multipliers(data):
    x, y = data
    model = _model(head_optimizers={"digit": 1e-4, "size": "sgd"}, shift_bias={"lr_multiplier": 5.0})
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    subs = {o.name: o for o in model.optimizer.optimizers}
    assert float(subs["head_digit"].learning_rate) == pytest.approx(1e-6)
    assert isinstance(subs["head_size"], keras.optimizers.SGD) and float(subs["head_size"].learning_rate) == pytest.approx(1e-2)
    assert float(subs["shift_digit"].learning_rate) == pytest.approx(1e-2 * 1e-4 * 5.0)
    assert float(subs["shift_size"].learning_rate) == pytest.approx(5e-2)
    assert task_optimizer(model, model.optimizer) is model.optimizer  # idempotent
    kernels = {t: h.output_layer.kernel.numpy().copy() for t, h in model.heads.items()}
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    moved = {t: np.abs(h.output_layer.kernel.numpy() - kernels[t]).max() for t, h in model.heads.items()}
    assert moved["digit"] < 1e-4 < moved["size"]  # the 1e-4 multiplier all but stops the digit head
    # An optimizer instance keeps its own rate.
    model = _model(head_optimizers={"size": keras.optimizers.SGD(0.3)})
    model.compile(optimizer="adam")
    assert kt.optimizers.get_learning_rates(model.optimizer)["head_size"] == pytest.approx(0.3)


def test_keras_round_trip_is_exact(tmp_path, data):
    x, y = data
    model = _model(loss_weighting="uncertainty", shift_bias={"scale": True}, head_optimizers={"size": 3.0})
    model.compile(optimizer="adam", metrics={"size": ["mse"]})
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    path = tmp_path / "multi.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, kt.MultiTaskModel) and loaded.tasks == model.tasks
    before, after = model(x), loaded(x)
    for task in model.tasks:
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(after[task]), keras.ops.convert_to_numpy(before[task]))
    assert loaded.task_weights() == model.task_weights() and loaded.task_weights()["size"] != 1.0
    assert kt.optimizers.get_learning_rates(loaded.optimizer) == kt.optimizers.get_learning_rates(model.optimizer)
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) == 3
    assert {"size_mean_squared_error", "digit_accuracy", "size_weight"} <= {m.name for m in loaded.metrics}


def test_fine_tune_runs_both_stages_on_a_multi_task_model(data):
    x, y = data
    model = _model(loss_weighting="dwa", head_optimizers={"size": 2.0})
    model.loss_weighting.period = 1
    conv = model.backbone.network.get_layer("block3_conv").kernel
    before = conv.numpy().copy()
    partial = dict(y, digit=np.where(np.arange(12) < 2, -1, y["digit"]))
    dataset = tf.data.Dataset.from_tensor_slices((x, partial)).batch(6)
    history = kt.fine_tune(model, dataset, head_epochs=1, fine_tune_epochs=1, lr_factor=2.6, verbose=0)
    assert [s["name"] for s in history.stages] == ["head", "fine_tune"]
    assert {"digit_loss", "digit_accuracy", "size_mae", "digit_weight"} <= set(history.history)
    assert not np.array_equal(conv.numpy(), before)  # the backbone trained in stage 2
    rates = kt.optimizers.get_learning_rates(model.optimizer)
    assert rates["head_size"] == pytest.approx(2 * rates["head"]) and rates["block3"] < rates["head"]
    assert model.task_weights() != {"digit": 1.0, "size": 1.0}  # DWA moved after two windows
    assert sum(model.task_weights().values()) == pytest.approx(2.0)
    with pytest.raises(errors.InvalidInputError, match="Received: 12 examples and 11 labels"):
        kt.fine_tune(model, (x, y), validation=(x, dict(y, size=y["size"][:11])), verbose=0)
    with pytest.raises(errors.InvalidInputError, match=r"label keys must match the heads"):
        kt.fine_tune(model, dataset.map(lambda a, b: (a, {"digit": b["digit"]})), verbose=0)
