"""keras_transfer.export.runtime: format detection, input checks, running a .keras file."""

import keras
import numpy as np
import pytest

from keras_transfer.errors import InvalidInputError
from keras_transfer.export import ExportedModel, detect_format, load_exported


def test_detect_format(tmp_path):
    (tmp_path / "sm").mkdir()
    (tmp_path / "sm" / "saved_model.pb").write_bytes(b"")
    for name in ("a.keras", "a.tflite", "a.onnx", "a.txt"):
        (tmp_path / name).write_bytes(b"")
    assert detect_format(tmp_path / "sm") == "saved_model"
    assert [detect_format(tmp_path / n) for n in ("a.keras", "a.tflite", "a.onnx")] == ["keras", "tflite", "onnx"]
    with pytest.raises(InvalidInputError, match="Unknown model file type"):
        detect_format(tmp_path / "a.txt")
    with pytest.raises(InvalidInputError, match="No model at this path"):
        detect_format(tmp_path / "missing.tflite")
    with pytest.raises(InvalidInputError, match="no saved_model.pb"):
        detect_format(tmp_path)


def test_input_checks_and_batching():
    calls = []

    def runner(x):
        calls.append(len(x))
        return x.reshape(len(x), -1)[:, :2].astype("float32")

    model = ExportedModel("m.tflite", "tflite", runner, (4, 4, 1), "uint8")
    out = model.predict(np.full((5, 4, 4, 1), 3.7, dtype="float32"), batch_size=2)
    assert calls == [2, 2, 1] and out.shape == (5, 2) and out[0, 0] == 4.0  # rounded into uint8
    with pytest.raises(InvalidInputError, match=r"shape \(batch, 4, 4, 1\).*Received: input shape \(2, 5, 4, 1\)"):
        model.predict(np.zeros((2, 5, 4, 1), "uint8"))
    with pytest.raises(InvalidInputError, match="empty batch"):
        model.predict(np.zeros((0, 4, 4, 1), "uint8"))
    free = ExportedModel("m.onnx", "onnx", runner, (None, None, 1), "uint8")
    assert free.predict(np.zeros((1, 7, 9, 1), "uint8")).shape == (1, 2)


def test_keras_file(tiny_model, tiny_images, tmp_path):
    x, _ = tiny_images
    tiny_model(x[:1])
    tiny_model.save(tmp_path / "m.keras")
    loaded = load_exported(tmp_path / "m.keras")
    assert loaded.format == "keras" and loaded.input_shape is None  # a TransferModel takes any image size
    np.testing.assert_allclose(loaded.predict(x), tiny_model(x).numpy(), atol=1e-6)
    functional = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    functional.save(tmp_path / "f.keras")
    assert load_exported(tmp_path / "f.keras").input_shape == (3,)
