"""Small Functional / Sequential models with non-trivial BatchNorm statistics for the growth tests."""

from types import SimpleNamespace

import keras
import numpy as np
import pytest

L = keras.layers


def randomise_batchnorm(model, seed=0):
    """Give every BatchNormalization non-trivial statistics and affine parameters."""
    rng = np.random.default_rng(seed)
    layers = model._flatten_layers() if hasattr(model, "_flatten_layers") else model.layers
    for layer in layers:
        if isinstance(layer, L.BatchNormalization):
            c = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.normal(0.0, 1.0, c).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.3, 3.0, c).astype("float32"))
            if layer.gamma is not None:
                layer.gamma.assign(rng.normal(1.0, 0.5, c).astype("float32"))
            if layer.beta is not None:
                layer.beta.assign(rng.normal(0.0, 0.5, c).astype("float32"))
    return model


def dense_functional(batchnorm):
    inputs = keras.Input((10,), name="x")
    x = L.Dense(6, activation="relu", name="dense_1")(inputs)
    if batchnorm:
        x = L.BatchNormalization(name="bn_1")(x)
    x = L.Dropout(0.2, name="drop")(x)
    x = L.Dense(5, activation="tanh", name="dense_2")(x)
    if batchnorm:
        x = L.BatchNormalization(name="bn_2")(x)
    outputs = L.Dense(3, name="out")(x)  # linear: differences are not squashed by a softmax
    return keras.Model(inputs, outputs, name="dense_functional")


def dense_sequential(batchnorm):
    layers = [keras.Input((10,)), L.Dense(6, name="dense_1")]
    if batchnorm:
        layers.append(L.BatchNormalization(name="bn_1"))
    layers += [L.ReLU(name="relu_1"), L.Dense(5, activation="relu", name="dense_2"), L.Dense(3, name="out")]
    return keras.Sequential(layers, name="dense_sequential")


def conv_functional(batchnorm):
    inputs = keras.Input((12, 12, 2), name="image")
    x = L.Conv2D(4, 3, use_bias=not batchnorm, name="conv_1")(inputs)
    if batchnorm:
        x = L.BatchNormalization(name="bn_1")(x)
    x = L.ReLU(name="relu_1")(x)
    x = L.MaxPooling2D(name="pool")(x)
    x = L.Conv2D(6, 3, padding="same", activation="relu", name="conv_2")(x)
    if batchnorm:
        x = L.BatchNormalization(name="bn_2")(x)
    x = L.Flatten(name="flatten")(x)
    x = L.Dense(5, activation="relu", name="dense_1")(x)
    outputs = L.Dense(3, name="out")(x)
    return keras.Model(inputs, outputs, name="conv_functional")


def conv_sequential(batchnorm):
    layers = [keras.Input((12, 12, 2)), L.Conv2D(4, 3, padding="same", name="conv_1")]
    if batchnorm:
        layers.append(L.BatchNormalization(name="bn_1"))
    layers += [
        L.Activation("relu", name="relu_1"),
        L.Conv2D(6, 5, strides=2, activation="relu", name="conv_2"),
        L.GlobalAveragePooling2D(name="gap"),
        L.Dense(3, name="out"),
    ]
    return keras.Sequential(layers, name="conv_sequential")


BUILDERS = {
    "dense_functional": dense_functional,
    "dense_sequential": dense_sequential,
    "conv_functional": conv_functional,
    "conv_sequential": conv_sequential,
}


def inputs_for(model, n=6, seed=1):
    shape = tuple(model.inputs[0].shape[1:])
    return np.random.default_rng(seed).normal(0.0, 1.0, (n,) + shape).astype("float32")


def outputs(model, x):
    return np.asarray(keras.ops.convert_to_numpy(model(x, training=False)))


def snapshot(model):
    return [np.array(w) for w in model.get_weights()]


def build(kind, batchnorm=True):
    """A ``BUILDERS[kind]`` model with random BatchNorm statistics."""
    return randomise_batchnorm(BUILDERS[kind](batchnorm))


@pytest.fixture
def kit():
    """The helpers above, for test modules (conftest modules are not importable under importlib mode)."""
    return SimpleNamespace(
        build=build, inputs=inputs_for, outputs=outputs, snapshot=snapshot, randomise_batchnorm=randomise_batchnorm
    )
