"""keras_transfer.export.litert.converter_options: the converter settings behind each quantization mode."""

import numpy as np
import pytest
import tensorflow as tf

from keras_transfer.errors import InvalidConfigError
from keras_transfer.export.litert import converter_options


def test_float_has_no_options():
    assert converter_options(None) == {}


def test_float16_and_dynamic():
    assert converter_options("float16") == {"optimizations": [tf.lite.Optimize.DEFAULT],
                                            "target_spec": {"supported_types": [tf.float16]}}
    assert converter_options("dynamic") == {"optimizations": [tf.lite.Optimize.DEFAULT]}


def test_int8_calibrates_one_example_at_a_time_and_sets_integer_io():
    x = np.arange(3 * 4 * 4 * 1, dtype="uint8").reshape(3, 4, 4, 1)
    options = converter_options("int8", (x, np.zeros(3)), input_dtype="float32")
    batches = list(options["representative_dataset"]())
    assert len(batches) == 3 and batches[1][0].shape == (1, 4, 4, 1) and batches[1][0].dtype == np.float32
    np.testing.assert_array_equal(batches[2][0][0], x[2])
    assert options["target_spec"] == {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]}
    assert options["inference_input_type"] == tf.uint8 and options["inference_output_type"] == tf.uint8
    raw = converter_options("int8", x, input_dtype="uint8")  # uint8 input already: no input quantization
    assert "inference_input_type" not in raw and raw["inference_output_type"] == tf.uint8
    float_io = converter_options("int8", x, input_dtype="uint8", integer_io=False)
    assert "inference_output_type" not in float_io


@pytest.mark.parametrize("quantization, data, match", [
    ("int4", None, "Unknown quantization"),
    ("int8", None, "Received: representative_data=None"),
    ("int8", np.zeros((0, 4, 4, 1)), "representative_data=None"),
])
def test_errors(quantization, data, match):
    with pytest.raises(InvalidConfigError, match=match):
        converter_options(quantization, data)
