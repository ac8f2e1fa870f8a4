"""Shared helpers for the LR callback tests: a tiny dense model and an LR recorder."""

import keras
import numpy as np

import keras_transfer as kt


class RateRecorder(keras.callbacks.Callback):
    """Records every sub-optimizer's rate as used by each batch (place it after the LR callbacks)."""

    def __init__(self):
        super().__init__()
        self.rates = []

    def on_train_batch_begin(self, batch, logs=None):
        self.rates.append(kt.optimizers.get_learning_rates(self.model.optimizer))


def dense_model(optimizer):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax", name="dense")])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


def dense_data(n=32):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4)).astype("float32"), np.arange(n) % 3


def multi_sgd(a=0.1, b=0.01):
    optimizer_map = keras.optimizers.OptimizerMap(keras.optimizers.SGD(a, name="head"))
    optimizer_map["dense/kernel"] = keras.optimizers.SGD(b, name="kernel")
    return keras.optimizers.MultiOptimizer(optimizer_map)
