"""The median stopping rule, as a pure function and inside a Keras fit."""

import keras
import numpy as np
import pytest

from keras_transfer.tuning import MedianStopping, TrialStopped, median_stop


def test_median_rule():
    assert median_stop(0.5, [0.6, 0.8], maximize=True) == pytest.approx(0.7)
    assert median_stop(0.9, [0.6, 0.8], maximize=True) is None
    assert median_stop(0.5, [0.6], maximize=True) is None  # too few trials to judge
    assert median_stop(2.0, [1.0, 1.5, 3.0], maximize=False) == 1.5


def test_weak_trial_stops_after_the_grace_epochs():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = np.zeros((8, 2)), np.zeros(8, "int64")
    strong = [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]  # losses no trial beats
    monitor = MedianStopping("loss", False, strong, grace_epochs=2).create()
    with pytest.raises(TrialStopped) as stop:
        model.fit(x, y, epochs=5, verbose=0, callbacks=[monitor])
    assert stop.value.epoch == 3 and len(monitor.curve) == 3
    relaxed = MedianStopping("loss", False, strong, grace_epochs=0, enabled=False).create()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[relaxed])
    assert len(relaxed.curve) == 2
