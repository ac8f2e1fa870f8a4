"""The contract every registered backbone passes (timm-style: one test over every registry entry)."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.backbones import get, get_spec, list_backbones

ALL = list_backbones()


def _size(name):
    return max(get_spec(name).min_size, 32)


def _kind(name):
    return getattr(get_spec(name), "input_kind", "image")


def _raw_inputs(backbone, n, seed=1):
    """Raw inputs of the backbone's kind: grey uint8 images, strings or float waveforms."""
    rng = np.random.default_rng(seed)
    if backbone.input_kind == "text":
        words = np.array(["a", "fine", "film", "dull", "plot", "great", "acting"])
        return np.array([" ".join(rng.choice(words, 3 + i)) for i in range(n)], dtype=object)
    if backbone.input_kind == "audio":
        return rng.uniform(-0.5, 0.5, (n, 4000)).astype("float32")
    return rng.integers(0, 256, (n, 28, 28, 1), dtype=np.uint8)


def _bn(layer):
    return isinstance(layer, keras.layers.BatchNormalization)


@pytest.fixture(scope="module", params=ALL)
def backbone(request):
    keras.utils.set_random_seed(0)
    shape = {"image": (_size(request.param),) * 2, "text": (16,), "audio": None}[_kind(request.param)]
    # weights=None stands in for pretrained weights here: BatchNorm follows the pretrained rule (frozen).
    return get(request.param, weights=None, input_shape=shape, train_bn=False)


def test_registry_holds_the_required_families():
    required = {
        "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0", "efficientnetv2_b0",
        "resnet50_v2", "vgg16", "inception_v3", "xception", "densenet121", "convnext_tiny", "efficientnet_lite0",
    }
    assert required <= set(ALL)


def test_builds_and_output_dim_matches_call(backbone):
    if backbone.input_kind != "image":  # raw strings / waveforms in, pooled features out
        out = keras.ops.convert_to_numpy(backbone(_raw_inputs(backbone, 2)))
        assert out.shape == (2, backbone.output_dim) and np.all(np.isfinite(out))
        return
    # Raw grey images of another size go in; the layer resizes and maps channels itself.
    out = backbone(np.zeros((2, 20, 24, 1), "uint8"))
    assert tuple(out.shape) == (2, backbone.output_dim)
    rgb = backbone(np.full((1, 40, 40, 3), 255.0, "float32"))
    assert tuple(rgb.shape) == (1, backbone.output_dim)
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(rgb)))


def test_layer_groups_partition_the_weighted_layers(backbone):
    groups = backbone.layer_groups
    assert len(groups) >= 3
    names = [g.name for g in groups]
    assert len(set(names)) == len(names), names
    in_groups = [id(layer) for g in groups for layer in g.layers]
    assert len(in_groups) == len(set(in_groups))
    weighted = {id(layer) for layer in backbone.network.layers if layer.weights}
    assert weighted <= set(in_groups)
    # Every group but a pure-pooling one carries weights.
    assert sum(1 for g in groups if g.weights) >= len(groups) - 1


def _trainable_layers(backbone):
    return {id(layer) for layer in backbone.network.layers if layer.trainable and layer.trainable_weights}


def test_modes_set_exactly_the_expected_trainable_weights(backbone):
    backbone.set_mode("frozen")
    assert backbone.trainable_weights == []
    groups = backbone.layer_groups
    last = next(g for g in reversed(groups) if any(not _bn(layer) and layer.weights for layer in g.layers))
    n_last = len(groups) - groups.index(last)
    backbone.set_mode(f"last:{n_last}")
    expected = {
        id(layer) for g in groups[len(groups) - n_last:] for layer in g.layers if not _bn(layer) and layer.trainable_weights
    }
    assert _trainable_layers(backbone) == expected and expected
    backbone.set_mode("full")
    trainable = backbone.trainable_weights
    assert trainable and not any(_bn(layer) and layer.trainable for layer in backbone.network.layers)
    n_non_bn = sum(len(layer.trainable_weights) for layer in backbone.network.layers if not _bn(layer))
    assert len(trainable) == n_non_bn
    assert backbone.mode == "full"
    backbone.freeze()
    assert backbone.mode == "frozen" and backbone.trainable_weights == []


def test_keras_round_trip_gives_identical_predictions(backbone, tmp_path):
    backbone.set_mode("last:1")
    model = kt.TransferModel(backbone, kt.ClassificationHead(3))
    x = _raw_inputs(backbone, 3)
    before = keras.ops.convert_to_numpy(model(x))  # eager calls: predict() would trace a tf.function (slow)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)), before, atol=1e-6)
    assert loaded.backbone.mode == "last:1"
    assert loaded.backbone.backbone_name == backbone.backbone_name
    backbone.freeze()


def test_feature_maps_without_pooling():
    backbone = get("mobilenet_v2", weights=None, input_shape=(64, 64), pooling=None)
    out = backbone(np.zeros((1, 64, 64, 3), "uint8"))
    assert tuple(out.shape) == (1,) + backbone.feature_map_shape == (1, 2, 2, 1280)
