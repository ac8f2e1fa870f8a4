"""The two-stage recipe, through real tiny fits: what each stage may and may not change."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_transfer as kt
from keras_transfer import errors


def _snapshot(layer):
    return {w.path: keras.ops.convert_to_numpy(w).copy() for w in layer.weights}


def _moving_stats(backbone):
    return {
        w.path: keras.ops.convert_to_numpy(w).copy()
        for layer in backbone.network.layers
        if isinstance(layer, keras.layers.BatchNormalization)
        for w in (layer.moving_mean, layer.moving_variance)
    }


def _changed(before, layer):
    after = _snapshot(layer)
    return {path for path, value in before.items() if not np.array_equal(value, after[path])}


def test_stage_one_leaves_every_backbone_weight_untouched(tiny_model, tiny_images):
    before = _snapshot(tiny_model.backbone)
    head_before = _snapshot(tiny_model.head) if tiny_model.head.built else None
    history = kt.fine_tune(tiny_model, tiny_images, head_epochs=2, fine_tune_epochs=0, verbose=0)
    assert _changed(before, tiny_model.backbone) == set()
    assert [stage["name"] for stage in history.stages] == ["head"]
    assert head_before is None or _changed(head_before, tiny_model.head)  # the head did train
    assert np.any(keras.ops.convert_to_numpy(tiny_model.head.output_layer.bias) != 0)
    assert tiny_model.backbone.mode == "frozen"


def test_stage_two_trains_the_backbone_at_a_lower_rate_with_batchnorm_statistics_fixed(tiny_model, tiny_images):
    backbone = tiny_model.backbone
    before = _snapshot(backbone)
    stats = _moving_stats(backbone)
    history = kt.fine_tune(
        tiny_model, tiny_images, head_epochs=1, fine_tune_epochs=2, head_lr=1e-2, verbose=0
    )
    changed = _changed(before, backbone)
    kernels = {w.path for layer in backbone.network.layers if isinstance(layer, keras.layers.Conv2D) for w in layer.weights}
    assert kernels and kernels <= changed  # every conv kernel moved in stage 2
    # The BatchNorm fact (docs/architecture.md): BatchNorm running statistics must stay put while fine-tuning.
    assert _changed(stats, backbone) & set(stats) == set()
    assert history.stages[1]["learning_rate"] == pytest.approx(1e-3)  # head_lr / 10 by default
    assert float(keras.ops.convert_to_numpy(tiny_model.optimizer.learning_rate)) == pytest.approx(1e-3)
    assert history.epoch == [0, 1, 2]
    assert [history.stage_of_epoch(e) for e in history.epoch] == ["head", "fine_tune", "fine_tune"]
    assert len(history.history["loss"]) == 3


def test_train_bn_lets_running_statistics_move(tiny_model, tiny_images):
    stats = _moving_stats(tiny_model.backbone)
    kt.fine_tune(tiny_model, tiny_images, head_epochs=1, fine_tune_epochs=1, train_bn=True, verbose=0)
    assert _changed(stats, tiny_model.backbone) & set(stats) == set(stats)


def test_unfreeze_last_n_groups_only(tiny_model, tiny_images):
    backbone = tiny_model.backbone
    before = _snapshot(backbone)
    kt.fine_tune(tiny_model, tiny_images, head_epochs=0, fine_tune_epochs=1, unfreeze=1, head_lr=1e-2, verbose=0)
    assert backbone.mode == "last:1"
    changed = _changed(before, backbone)
    assert any("block3_conv" in path for path in changed)
    assert not any("block1" in path or "block2" in path for path in changed)


def test_tf_data_and_one_hot_labels(tiny_model, tiny_images):
    x, y = tiny_images
    one_hot = np.eye(3, dtype="float32")[y]
    ds = tf.data.Dataset.from_tensor_slices((x, one_hot)).batch(6)
    history = kt.fine_tune(tiny_model, ds, validation=ds, head_epochs=1, fine_tune_epochs=1, verbose=0)
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(history.history)
    assert isinstance(tiny_model.loss, keras.losses.CategoricalCrossentropy)


def test_py_dataset(tiny_model, tiny_images):
    x, y = tiny_images

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return x[i * 6:(i + 1) * 6], y[i * 6:(i + 1) * 6]

    history = kt.fine_tune(tiny_model, Batches(), head_epochs=1, fine_tune_epochs=0, verbose=0)
    assert len(history.history["loss"]) == 1


def test_regression_head():
    from keras_transfer.testing import register_tiny_backbone

    backbone = kt.backbones.get(register_tiny_backbone(), weights=None)
    model = kt.TransferModel(backbone, kt.RegressionHead(2))
    x = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    history = kt.fine_tune(model, (x, np.ones((8, 2), "float32")), head_epochs=1, fine_tune_epochs=1, verbose=0)
    assert "mae" in history.history
    with pytest.raises(errors.InvalidInputError, match="finite"):
        kt.fine_tune(model, (x, np.full((8, 2), np.nan)), verbose=0)


@pytest.mark.parametrize(
    "mutate, error, pattern",
    [
        (lambda x, y: (x, y + 3), errors.InvalidInputError, r"\[0, 3\).*Received bad values: \[3, 4, 5\]"),
        (lambda x, y: (x, y.astype("str")), errors.InvalidInputError, r"(?i)string"),
        (lambda x, y: (x, y[:-1]), errors.InvalidInputError, r"18.*17|17.*18"),
        (lambda x, y: (x[:0], y[:0]), errors.InvalidInputError, r"(?i)empty"),
        (lambda x, y: (np.where(np.arange(x.size).reshape(x.shape) == 5, np.nan, x.astype("float32")), y),
         errors.InvalidInputError, r"NaN"),
        (lambda x, y: (x[..., 0], y), errors.InvalidInputError, r"x\[\.\.\., None\]"),
        (lambda x, y: (np.concatenate([x, x], -1), y), errors.InvalidInputError, r"1 \(grey\) or 3 \(RGB\)"),
    ],
)
def test_bad_data_is_refused_before_training(tiny_model, tiny_images, mutate, error, pattern):
    x, y = mutate(*tiny_images)
    before = _snapshot(tiny_model)
    with pytest.raises(error, match=pattern):
        kt.fine_tune(tiny_model, (x, y), verbose=0)
    assert _changed(before, tiny_model) == set()


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"head_epochs": -1}, r"head_epochs=-1"),
        ({"head_lr": 0.0}, r"head_lr=0.0"),
        ({"fine_tune_lr": float("nan")}, r"fine_tune_lr=nan"),
        ({"unfreeze": "most"}, r"unfreeze='most'"),
        ({"unfreeze": 7}, r"3 layer groups"),
        ({"optimizer": "adamz"}, r"optimizer='adamz'"),
        ({"batch_size": 0}, r"batch_size=0"),
        ({"head_epochs": 0, "fine_tune_epochs": 0}, r"Nothing to train"),
        ({"head_epochs": 0, "fine_tune_epochs": 2, "unfreeze": "none"}, r"Nothing to train.*unfreeze='none'"),
    ],
)
def test_bad_arguments(tiny_model, tiny_images, kwargs, pattern):
    with pytest.raises(errors.InvalidConfigError, match=pattern):
        kt.fine_tune(tiny_model, tiny_images, verbose=0, **kwargs)


def test_model_without_backbone_and_wrong_data_container(tiny_images, tiny_model):
    plain = keras.Sequential([keras.layers.Dense(2)])
    with pytest.raises(errors.InvalidConfigError, match="Sequential"):
        kt.fine_tune(plain, tiny_images)
    with pytest.raises(errors.InvalidInputError, match=r"Received: dict"):
        kt.fine_tune(tiny_model, {"x": tiny_images[0]})
