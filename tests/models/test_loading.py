"""keras_transfer.load_model: a class the file needs but nobody registered gets the registration hint."""

import keras
import pytest

import keras_transfer as kt
from keras_transfer import errors


def test_unregistered_custom_class_is_not_called_a_damaged_file(tmp_path):
    @keras.saving.register_keras_serializable(package="kt_test_gone")
    class Gone(keras.layers.Layer):
        def call(self, x):
            return x * 2.0

    inputs = keras.Input((3,))
    keras.Model(inputs, Gone()(inputs)).save(tmp_path / "gone.keras")
    keras.saving.get_custom_objects().pop("kt_test_gone>Gone")  # as in a new process that never defined it

    with pytest.raises(errors.CorruptWeightsError) as info:
        kt.load_model(tmp_path / "gone.keras")
    message = str(info.value)
    assert "Received: path=" in message and "registered" in message and "damaged" not in message
