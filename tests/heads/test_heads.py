"""Heads: shapes, activations, default losses, config round trips and refused arguments."""

import keras
import numpy as np
import pytest

from keras_transfer import errors
from keras_transfer.heads import ClassificationHead, RegressionHead


def test_softmax_head_outputs_probabilities():
    head = ClassificationHead(4, hidden_units=(8,), dropout=0.1)
    out = keras.ops.convert_to_numpy(head(np.random.default_rng(0).normal(size=(5, 6)).astype("float32")))
    assert out.shape == (5, 4)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    assert [layer.units for layer in head.hidden_layers] == [8]
    assert isinstance(head.default_loss(), keras.losses.SparseCategoricalCrossentropy)
    assert head.output_layer.dtype_policy.name == "float32"


def test_multi_label_head_is_independent_sigmoids():
    head = ClassificationHead(3, multi_label=True, dropout=0.0)
    out = keras.ops.convert_to_numpy(head(np.ones((2, 4), "float32")))
    assert out.shape == (2, 3) and np.all((out > 0) & (out < 1))
    assert isinstance(head.default_loss(), keras.losses.BinaryCrossentropy)
    assert ClassificationHead(1, multi_label=True).num_classes == 1


def test_regression_head_is_linear():
    head = RegressionHead(2)
    features = np.random.default_rng(0).normal(size=(3, 5)).astype("float32")
    out = keras.ops.convert_to_numpy(head(features))
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in head.output_layer.weights)
    np.testing.assert_allclose(out, features @ kernel + bias, rtol=1e-5, atol=1e-6)
    assert isinstance(head.default_loss(), keras.losses.MeanSquaredError)


@pytest.mark.parametrize("head", [ClassificationHead(5, hidden_units=(4, 3)), RegressionHead(3, dropout=0.5)])
def test_config_round_trip(head):
    clone = type(head).from_config(head.get_config())
    assert clone.get_config() == head.get_config()


def test_refused_arguments():
    with pytest.raises(errors.InvalidConfigError, match=r"at least 2 classes.*num_classes=1"):
        ClassificationHead(1)
    with pytest.raises(errors.InvalidConfigError, match=r"num_classes=2.5"):
        ClassificationHead(2.5)
    with pytest.raises(errors.InvalidConfigError, match=r"dropout=1.5"):
        ClassificationHead(3, dropout=1.5)
    with pytest.raises(errors.InvalidConfigError, match=r"hidden_units"):
        ClassificationHead(3, hidden_units=(0,))
    with pytest.raises(errors.InvalidConfigError, match=r"units=0"):
        RegressionHead(0)
