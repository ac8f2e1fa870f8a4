"""keras_transfer.export.ExportReport: table and JSON form."""

import json

from keras_transfer.export import ExportReport


def _report(**overrides):
    values = dict(path="/m.tflite", format="tflite", quantization="int8", size_bytes=12345,
                  input_shape=(None, 28, 28, 1), input_dtype="uint8", output_dtype="uint8", n_examples=10,
                  max_abs_diff=0.01, mean_abs_diff=0.001, argmax_agreement=0.9, keras_accuracy=0.8,
                  exported_accuracy=0.7, parity_data="parity_data with labels", seconds=1.5)
    values.update(overrides)
    return ExportReport(**values)


def test_table():
    table = str(_report())
    assert "| format | tflite (int8) |" in table and "| size | 12,345 bytes |" in table
    assert "| input | (batch, 28, 28, 1) uint8 |" in table and "| argmax agreement | 0.9 |" in table
    assert "| exported accuracy | 0.7 |" in str(table)
    assert "| Keras accuracy | — |" in _report(keras_accuracy=None).table()


def test_to_dict_is_json_with_the_accuracy_drop():
    data = json.loads(json.dumps(_report().to_dict()))
    assert data["input_shape"] == [None, 28, 28, 1] and abs(data["accuracy_drop"] - 0.1) < 1e-9
    assert _report(exported_accuracy=None).accuracy_drop is None
