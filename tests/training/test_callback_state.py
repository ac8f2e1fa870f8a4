"""keras_transfer.training.callback_state: what a checkpoint keeps of each callback."""

import math

import keras
import numpy as np
import tensorflow as tf

from keras_transfer.training.callback_state import callback_states, restore_callback_states


class _Holder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.count = 3
        self.best = float("inf")
        self.scalar = np.float32(0.25)
        self.pair = (1, "a")
        self.table = {1: [np.int64(2)]}
        self.tensor = tf.constant(1.5)  # like TensorBoard's _previous_epoch_iterations
        self.variable = keras.Variable(2.0)
        self.weights = np.zeros(3)


def test_plain_state_round_trips_and_tensors_are_left_alone():
    saved = callback_states([_Holder()])  # used to raise AttributeError on the tensor / Variable
    attributes = saved[0]["attributes"]
    assert set(attributes) == {"count", "best", "scalar", "pair", "table"}

    target = _Holder()
    target.count, target.best, target.scalar, target.pair, target.table = 0, 0.0, 0.0, None, None
    assert restore_callback_states([target], saved) == 1
    assert target.count == 3 and math.isinf(target.best) and target.scalar == 0.25
    assert target.pair == (1, "a") and target.table == {1: [2]}
    assert isinstance(target.variable, keras.Variable) and float(target.tensor) == 1.5
