"""Bad arguments to the backbone API are refused with messages naming what was received and the fix."""

import numpy as np
import pytest

from keras_transfer import errors
from keras_transfer.backbones import get


def test_unknown_name_suggests_close_names():
    with pytest.raises(errors.UnknownBackboneError, match=r"mobilenetv2.*Did you mean 'mobilenet_v2'"):
        get("mobilenetv2", weights=None)


def test_unknown_trainable_mode():
    with pytest.raises(errors.InvalidConfigError, match=r"trainable='half'.*'last:N'"):
        get("vgg16", weights=None, input_shape=(32, 32), trainable="half")
    with pytest.raises(errors.InvalidConfigError, match=r"5 layer groups.*last:9"):
        get("vgg16", weights=None, input_shape=(32, 32), trainable="last:9")


def test_bad_input_shape_and_pooling():
    with pytest.raises(errors.InvalidInputError, match=r"input_shape=\(28, 28, 1\)"):
        get("vgg16", weights=None, input_shape=(28, 28, 1))
    with pytest.raises(errors.InvalidInputError, match=r"at least 75x75.*input_shape=\(32, 32\)"):
        get("inception_v3", weights=None, input_shape=(32, 32))
    with pytest.raises(errors.InvalidConfigError, match=r"pooling='mean'"):
        get("vgg16", weights=None, input_shape=(32, 32), pooling="mean")


def test_wrong_rank_or_channels_at_call():
    backbone = get("vgg16", weights=None, input_shape=(32, 32))
    with pytest.raises(errors.InvalidInputError, match=r"Received: input shape \(2, 28, 28\).*x\[\.\.\., None\]"):
        backbone(np.zeros((2, 28, 28), "uint8"))
    with pytest.raises(errors.InvalidInputError, match=r"\(2, 28, 28, 4\).*x\[\.\.\., :3\]"):
        backbone(np.zeros((2, 28, 28, 4), "uint8"))


def test_missing_and_corrupt_weights_file(tmp_path):
    with pytest.raises(errors.WeightsUnavailableError, match="nope.weights.h5"):
        get("vgg16", weights=str(tmp_path / "nope.weights.h5"), input_shape=(32, 32))
    bad = tmp_path / "bad.weights.h5"
    bad.write_bytes(b"this is not an HDF5 file")
    with pytest.raises(errors.CorruptWeightsError, match="bad.weights.h5"):
        get("vgg16", weights=str(bad), input_shape=(32, 32))
