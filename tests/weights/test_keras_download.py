"""load_weights_file: .weights.h5 and .npz round trips, and the errors for bad files."""

import keras
import numpy as np
import pytest

from keras_transfer.errors import CorruptWeightsError, WeightsUnavailableError
from keras_transfer.weights import load_weights_file, save_arrays, weights_by_layer_name


def _model(seed):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4,))
    x = keras.layers.Dense(3, name="hidden")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    return keras.Model(inputs, keras.layers.Dense(2, name="out")(x))


def _assert_same(a, b):
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_weights_h5_round_trip(tmp_path):
    source, target = _model(1), _model(2)
    path = tmp_path / "m.weights.h5"
    source.save_weights(path)
    assert load_weights_file(target, str(path)) is target
    _assert_same(source, target)


def test_npz_round_trip_skips_extra_layers(tmp_path):
    source, target = _model(1), _model(2)
    arrays = weights_by_layer_name(source)
    arrays["classifier_not_in_model/0"] = np.zeros(3)
    load_weights_file(target, save_arrays(tmp_path / "m.npz", arrays))
    _assert_same(source, target)


def test_npz_missing_layer(tmp_path):
    arrays = {k: v for k, v in weights_by_layer_name(_model(1)).items() if not k.startswith("out/")}
    with pytest.raises(CorruptWeightsError, match="'out'"):
        load_weights_file(_model(2), save_arrays(tmp_path / "m.npz", arrays))


def test_unsupported_format(tmp_path):
    path = tmp_path / "m.pth"
    path.write_bytes(b"x")
    with pytest.raises(CorruptWeightsError, match=r"Accepted formats: '\.weights\.h5'.*'\.npz'"):
        load_weights_file(_model(1), path)


def test_missing_file(tmp_path):
    with pytest.raises(WeightsUnavailableError, match="nope.weights.h5"):
        load_weights_file(_model(1), tmp_path / "nope.weights.h5")


@pytest.mark.parametrize("name", ["bad.weights.h5", "bad.npz"])
def test_corrupt_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"definitely not weights" * 10)
    with pytest.raises(CorruptWeightsError, match=name):
        load_weights_file(_model(1), path)


def test_npz_with_pickled_objects_is_refused(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, **{"hidden/0": np.array([object()], dtype=object)})
    with pytest.raises(CorruptWeightsError, match="objects.npz"):
        load_weights_file(_model(1), path)
