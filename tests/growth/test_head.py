"""Growing heads directly: widened / deepened hidden layers, same outputs, refused layers."""

import keras
import numpy as np
import pytest

from keras_transfer.errors import InvalidConfigError
from keras_transfer.growth.head import deepen_head, head_layer_names, widen_head
from keras_transfer.heads import ClassificationHead, RegressionHead


def _head(cls=RegressionHead, **kwargs):
    kwargs.setdefault("hidden_units", (6, 4))
    head = cls(3, **kwargs) if cls is RegressionHead else cls(3, **kwargs)
    head.build((None, 8))
    rng = np.random.default_rng(0)
    for layer in list(head.hidden_layers) + [head.output_layer]:
        layer.bias.assign(rng.normal(size=layer.bias.shape).astype("float32"))
    return head


def _features():
    return np.random.default_rng(1).normal(size=(5, 8)).astype("float32")


@pytest.mark.parametrize("layer_name", ["hidden_0", "hidden_1", "regression_head/hidden_1"])
@pytest.mark.parametrize("noise", [0.0, 0.1])
def test_widen_head_preserves_outputs(layer_name, noise):
    head, x = _head(name="regression_head"), _features()
    before = np.asarray(head(x))
    wide = widen_head(head, layer_name, 11, noise=noise, rng=np.random.default_rng(0))
    np.testing.assert_allclose(np.asarray(wide(x)), before, atol=1e-5)
    index = int(layer_name[-1])
    assert wide.hidden_units[index] == 11 and head.hidden_units == (6, 4)
    assert type(wide) is RegressionHead and wide.count_params() > head.count_params()
    assert not {id(v) for v in wide.weights} & {id(v) for v in head.weights}


def test_deepen_head_inserts_identity_hidden_layer():
    head, x = _head(ClassificationHead, dropout=0.3), _features()
    deep = deepen_head(head, "hidden_0", noise=0.0, rng=np.random.default_rng(0))
    assert deep.hidden_units == (6, 6, 4) and head_layer_names(deep) == ["hidden_0", "hidden_1", "hidden_2", "output"]
    np.testing.assert_allclose(np.asarray(deep(x)), np.asarray(head(x)), atol=1e-6)
    assert deep.num_classes == 3 and deep.dropout == 0.3


def test_head_errors_name_the_layers():
    head = _head()
    with pytest.raises(InvalidConfigError, match=r"No layer named 'hidden_7'.*\['hidden_0', 'hidden_1', 'output'\]"):
        widen_head(head, "hidden_7", 9, noise=0.0, rng=np.random.default_rng(0))
    with pytest.raises(InvalidConfigError, match="output layer 'output'.*cannot be widened"):
        widen_head(head, "output", 9, noise=0.0, rng=np.random.default_rng(0))
    with pytest.raises(InvalidConfigError, match="would become the output"):
        deepen_head(head, "output", noise=0.0, rng=np.random.default_rng(0))
    with pytest.raises(InvalidConfigError, match="only grows layers"):
        widen_head(head, "hidden_1", 4, noise=0.0, rng=np.random.default_rng(0))
    tanh = RegressionHead(2, hidden_units=(4,), hidden_activation="tanh")
    tanh.build((None, 8))
    with pytest.raises(InvalidConfigError, match="non-idempotent"):
        deepen_head(tanh, "hidden_0", noise=0.0, rng=np.random.default_rng(0))
    # Widening is exact for any element-wise activation.
    wide = widen_head(tanh, "hidden_0", 7, noise=0.1, rng=np.random.default_rng(0))
    assert wide.hidden_activation == "tanh"
    np.testing.assert_allclose(np.asarray(wide(_features())), np.asarray(tanh(_features())), atol=1e-5)
    with pytest.raises(InvalidConfigError, match="without `hidden_layers`"):
        widen_head(keras.layers.Dense(3), "hidden_0", 4, noise=0.0, rng=np.random.default_rng(0))
