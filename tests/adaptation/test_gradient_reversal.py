"""GradientReversal: identity forward, gradient times -scale backward (eager and traced), scale changeable."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_transfer.adaptation import GradientReversal


def _gradient(layer, x, upstream, traced=False):
    def compute(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            total = tf.reduce_sum(y * upstream)
        return y, tape.gradient(total, x)

    return (tf.function(compute) if traced else compute)(x)


@pytest.mark.parametrize("scale", [0.0, 0.5, 1.0, 3.0])
@pytest.mark.parametrize("traced", [False, True])
def test_reverses_and_scales_the_gradient(scale, traced):
    layer = GradientReversal(scale)
    x = tf.constant(np.random.default_rng(0).normal(size=(4, 5)), "float32")
    upstream = tf.constant(np.random.default_rng(1).normal(size=(4, 5)), "float32")
    y, gradient = _gradient(layer, x, upstream, traced)
    np.testing.assert_array_equal(y.numpy(), x.numpy())  # the forward pass is the identity
    np.testing.assert_allclose(gradient.numpy(), -scale * upstream.numpy(), rtol=1e-6)


def test_scale_changes_between_traced_steps():
    layer = GradientReversal(1.0)
    step = tf.function(lambda x: _gradient(layer, x, tf.ones_like(x))[1])
    x = tf.ones((2, 3))
    assert step(x).numpy().tolist() == [[-1.0] * 3] * 2
    layer.set_scale(0.25)
    assert step(x).numpy().tolist() == [[-0.25] * 3] * 2


def test_a_layer_behind_it_climbs_the_loss_it_would_descend():
    """One SGD step on a Dense layer through the reversal increases the loss that the plain step decreases."""
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    target = np.ones((16, 1), "float32")
    losses = {}
    for reverse in (False, True):
        keras.utils.set_random_seed(0)
        dense, head = keras.layers.Dense(4), keras.layers.Dense(1, trainable=False)
        layers = [dense] + ([GradientReversal(1.0)] if reverse else []) + [head]
        model = keras.Sequential([keras.Input((4,))] + layers)
        model.compile(keras.optimizers.SGD(0.1), loss="mse")
        before = model.evaluate(x, target, verbose=0)
        model.train_on_batch(x, target)
        losses[reverse] = (before, model.evaluate(x, target, verbose=0))
    assert losses[False][1] < losses[False][0]
    assert losses[True][1] > losses[True][0]


def test_round_trips_through_its_config():
    layer = GradientReversal(0.7, name="grl")
    assert GradientReversal.from_config(layer.get_config()).initial_scale == pytest.approx(0.7)
