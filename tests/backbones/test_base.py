"""`BaseBackbone`'s trainability rules, through real tiny fits: Keras' own `trainable` switch and `train_bn="auto"`."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.errors import InvalidConfigError
from keras_transfer.testing import register_tiny_backbone


def _bn_layers(backbone):
    return [layer for layer in backbone.network.layers if isinstance(layer, keras.layers.BatchNormalization)]


def _values(variables):
    return [keras.ops.convert_to_numpy(v).copy() for v in variables]


def _moved(before, variables):
    return [not np.array_equal(b, keras.ops.convert_to_numpy(v)) for b, v in zip(before, variables)]


def test_trainable_true_is_unfreeze_and_false_is_freeze():
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32), train_bn=False)
    assert backbone.mode == "frozen" and backbone.trainable is False and backbone.trainable_weights == []
    backbone.trainable = True
    assert backbone.mode == "full" and backbone.trainable is True
    via_switch = {v.path for v in backbone.trainable_weights}
    backbone.freeze()
    backbone.unfreeze()
    assert via_switch == {v.path for v in backbone.trainable_weights} and via_switch
    assert not any(layer.trainable for layer in _bn_layers(backbone))  # the BatchNorm rule still holds
    backbone.trainable = False
    assert backbone.mode == "frozen" and backbone.trainable_weights == []
    backbone.unfreeze(1)  # after Keras' switch, the toolkit's own switch still works
    assert backbone.mode == "last:1" and backbone.trainable and backbone.trainable_weights


def test_model_level_switch_reaches_the_backbone():
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32), train_bn=False)
    backbone.unfreeze(1)
    model = kt.TransferModel(backbone, kt.ClassificationHead(3))
    model.trainable = False
    assert backbone.mode == "frozen" and model.trainable_weights == []
    model.trainable = True  # (Keras skips `model.trainable = True` on a model that already reads True)
    assert backbone.mode == "full"


@pytest.mark.parametrize("value", ["last:2", 1, None])
def test_trainable_takes_only_bools_and_points_at_set_mode(value):
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32))
    with pytest.raises(InvalidConfigError, match=r"Received: trainable=.*set_mode\('last:2'\)"):
        backbone.trainable = value
    assert backbone.mode == "frozen"


def test_the_keras_guide_recipe_fine_tunes_the_backbone(tiny_images):
    """Keras' transfer-learning guide: train the head, `base_model.trainable = True`, recompile, fit again."""
    x, y = tiny_images
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32), train_bn=False)
    model = kt.TransferModel(backbone, kt.ClassificationHead(3))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=6, verbose=0)
    kernels = [w for w in backbone.network.weights if "kernel" in w.path]
    stats = [v for layer in _bn_layers(backbone) for v in (layer.moving_mean, layer.moving_variance)]
    kernels_before, stats_before = _values(kernels), _values(stats)

    backbone.trainable = True
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=6, verbose=0)
    assert kernels and all(_moved(kernels_before, kernels))
    assert stats and not any(_moved(stats_before, stats))  # pretrained rule: running statistics stay put


def test_train_bn_auto_follows_the_weights():
    name = register_tiny_backbone()
    assert kt.backbones.get(name, weights=None, input_shape=(32, 32)).train_bn is True
    assert kt.backbones.get("audio_cnn", weights=None).train_bn is True
    assert kt.backbones.get(name, weights=None, input_shape=(32, 32), train_bn=False).train_bn is False
    with pytest.raises(InvalidConfigError, match="Received: train_bn='yes'"):
        kt.backbones.get(name, weights=None, input_shape=(32, 32), train_bn="yes")


def test_train_bn_auto_survives_a_keras_round_trip(tmp_path):
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32), trainable="full")
    model = kt.TransferModel(backbone, kt.ClassificationHead(3))
    model(np.zeros((1, 32, 32, 1), "uint8"))
    model.save(tmp_path / "m.keras")
    loaded = kt.load_model(tmp_path / "m.keras")
    assert loaded.backbone.train_bn is True and loaded.backbone.mode == "full"
    assert all(layer.trainable for layer in _bn_layers(loaded.backbone))
    # from scratch, the running statistics follow the weights quickly (momentum 0.9, not Keras' 0.99)
    assert loaded.backbone.bn_momentum == kt.backbones.SCRATCH_BN_MOMENTUM
    assert {layer.momentum for layer in _bn_layers(loaded.backbone)} == {kt.backbones.SCRATCH_BN_MOMENTUM}


def test_pretrained_rule_and_explicit_train_bn_keep_the_networks_momentum():
    name = register_tiny_backbone()
    for kwargs in ({"train_bn": False}, {"train_bn": True}):
        backbone = kt.backbones.get(name, weights=None, input_shape=(32, 32), **kwargs)
        assert backbone.bn_momentum is None and {layer.momentum for layer in _bn_layers(backbone)} == {0.99}
    backbone = kt.backbones.get(name, weights=None, input_shape=(32, 32), train_bn=True)
    with pytest.raises(InvalidConfigError, match="Received: bn_momentum=1.5"):
        kt.backbones.batch_norm_settings(True, None, bn_momentum=1.5)


@pytest.mark.slow
def test_a_network_from_random_weights_leaves_chance():
    """MobileNetV2 from random weights on sklearn digits: with frozen BatchNorm it stayed at chance (0.099)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images[..., None] * (255.0 / 16.0)).astype("uint8")
    y = digits.target
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    train, test = order[:1200], order[1200:]
    keras.utils.set_random_seed(0)
    backbone = kt.backbones.get("mobilenet_v2", weights=None, input_shape=(32, 32), trainable="full")
    assert backbone.train_bn is True
    model = kt.TransferModel(backbone, kt.ClassificationHead(10, dropout=0.0))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x[train], y[train], epochs=6, batch_size=32, verbose=0)
    accuracy = model.evaluate(x[test], y[test], verbose=0)[1]
    assert accuracy > 0.5, accuracy  # chance is 0.1
