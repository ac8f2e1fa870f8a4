"""BiasInitializer: output biases from label priors (initial loss = prior entropy), per output, logged per epoch."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer import errors
from keras_transfer.callbacks import BiasInitializer, prior_bias
from keras_transfer.testing import register_tiny_backbone


def _backbone():
    return kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32))


def test_prior_bias_per_head_kind():
    softmax = kt.ClassificationHead(3)
    bias = prior_bias(softmax, [0, 0, 1, 2, -1, -1])  # -1: missing
    np.testing.assert_allclose(keras.ops.convert_to_numpy(keras.ops.softmax(bias)), [0.5, 0.25, 0.25], rtol=1e-5)
    np.testing.assert_allclose(prior_bias(softmax, np.eye(3)[[0, 0, 1, 2]]), bias, rtol=1e-5)  # one-hot rows
    sigmoid = kt.ClassificationHead(2, multi_label=True)
    np.testing.assert_allclose(prior_bias(sigmoid, [[1, 0], [0, 0], [0, 1], [0, 0], [np.nan, np.nan]]),
                               np.log([0.25 / 0.75, 0.25 / 0.75]), rtol=1e-5)
    np.testing.assert_allclose(prior_bias(kt.RegressionHead(2), [[1.0, 10.0], [3.0, 20.0], [np.nan, 0.0]]), [2.0, 15.0])
    assert prior_bias(softmax, [0, 0, 1])[2] < -5  # an absent class gets a floor, not -inf
    with pytest.raises(errors.InvalidInputError, match="no labelled example"):
        prior_bias(softmax, [-1, -1])
    with pytest.raises(errors.InvalidInputError, match="out of range"):
        prior_bias(softmax, [0, 5])


def test_initial_loss_is_the_prior_entropy_on_a_90_10_task():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(40, 28, 28, 1), dtype=np.uint8)
    y = (np.arange(40) % 10 == 0).astype("int64")  # 90 % / 10 %
    entropy = -(0.9 * np.log(0.9) + 0.1 * np.log(0.1))
    model = kt.TransferModel(_backbone(), kt.ClassificationHead(2, dropout=0.0))
    model.compile(optimizer=keras.optimizers.SGD(1e-9))  # measure the start: no learning
    history = model.fit(x, y, epochs=1, batch_size=40, verbose=0, callbacks=[BiasInitializer(y)])
    assert history.history["loss"][0] == pytest.approx(entropy, rel=0.05)
    assert history.history["output_bias_norm"][0] == pytest.approx(np.log(9) / np.sqrt(2), rel=1e-4)
    # Without it the start is about log 2, more than twice the prior entropy.
    plain = kt.TransferModel(_backbone(), kt.ClassificationHead(2, dropout=0.0))
    plain.compile(optimizer=keras.optimizers.SGD(1e-9))
    assert plain.fit(x, y, epochs=1, batch_size=40, verbose=0).history["loss"][0] > 2 * entropy


def test_per_output_of_a_multi_task_model_once_and_logging():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(16, 28, 28, 1), dtype=np.uint8)
    y = {
        "kind": np.array([0] * 12 + [1] * 3 + [-1]),
        "tags": (rng.uniform(size=(16, 3)) < [0.5, 0.25, 0.125]).astype("float32"),
        "size": rng.normal(5.0, 1.0, 16).astype("float32"),
    }
    heads = {
        "kind": kt.ClassificationHead(2, dropout=0.0),
        "tags": kt.ClassificationHead(3, multi_label=True, dropout=0.0),
        "size": kt.RegressionHead(),
    }
    model = kt.MultiTaskModel(_backbone(), heads, shift_bias=True)
    model.compile(optimizer=keras.optimizers.SGD(1e-9))
    init = BiasInitializer(y)
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[init])
    for task, head in heads.items():
        np.testing.assert_allclose(head.output_layer.bias.numpy(), prior_bias(head, y[task]), rtol=1e-5)
    assert history.history["size_loss"][0] == pytest.approx(np.var(y["size"]), rel=0.05)
    assert history.history["kind_loss"][0] == pytest.approx(-(0.8 * np.log(0.8) + 0.2 * np.log(0.2)), rel=0.05)
    assert {"kind_bias_norm", "tags_bias_norm", "size_bias_norm", "size_shift_norm"} <= set(history.history)
    assert len(history.history["size_shift_norm"]) == 2
    heads["size"].output_layer.bias.assign([0.0])
    model.fit(x, y, epochs=1, verbose=0, callbacks=[init])  # once=True: a later stage keeps its biases
    assert abs(heads["size"].output_layer.bias.numpy()[0]) < 1e-6  # not reset to the mean (about 5)


def test_refuses_labels_that_do_not_fit_the_model():
    model = kt.MultiTaskModel(_backbone(), {"a": kt.ClassificationHead(2), "b": kt.RegressionHead()})
    model.compile(optimizer="adam")
    init = BiasInitializer({"c": [0, 1]})
    init.set_model(model)
    with pytest.raises(errors.InvalidConfigError, match=r"no head for: \['c'\]"):
        init.on_train_begin()
    init = BiasInitializer(np.array([0, 1]))
    init.set_model(model)
    with pytest.raises(errors.InvalidConfigError, match="give BiasInitializer a dict"):
        init.on_train_begin()
