"""``keras-transfer export``: a .keras file to an int8 TFLite file with calibration and parity data."""

import json

import numpy as np
import pytest

from keras_transfer.cli.export_command import parse_shape
from keras_transfer.cli.main import main
from keras_transfer.errors import InvalidConfigError


@pytest.fixture(scope="module")
def saved_model_file(tmp_path_factory):
    import keras_transfer as kt
    from keras_transfer.testing import register_tiny_backbone

    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32))
    model = kt.TransferModel(backbone, kt.ClassificationHead(3, dropout=0.0))
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (30, 28, 28, 1), dtype=np.uint8)
    y = np.arange(30) % 3
    tmp_path = tmp_path_factory.mktemp("export_command")
    model.compile("adam", run_eagerly=True)  # eager steps: no tracing for a 3-step fit
    history = model.fit(x, y, epochs=2, batch_size=10, verbose=0)
    model.save(tmp_path / "model.keras")
    np.savez(tmp_path / "data.npz", x=x, y=y, class_names=np.array(["cat", "dog", "cow"]))
    (tmp_path / "history.json").write_text(json.dumps(history.history))
    return tmp_path


def test_export_int8_from_the_command_line(saved_model_file, capsys):
    d = saved_model_file
    code = main(["export", str(d / "model.keras"), str(d / "out" / "model_int8.tflite"), "--format", "tflite",
                 "--quantization", "int8", "--data", str(d / "data.npz"), "--representative-size", "20",
                 "--parity-size", "30", "--history", str(d / "history.json")])
    out = capsys.readouterr().out
    assert code == 0 and "| format | tflite (int8) |" in out and "| output dtype | uint8 |" in out
    assert "| parity inputs | 30 (parity_data with labels) |" in out
    assert (d / "out" / "labels.txt").read_text() == "cat\ndog\ncow\n"
    card = json.loads((d / "out" / "model_card.json").read_text())
    assert card["exports"]["model_int8.tflite"]["quantization"] == "int8"
    assert card["training_recipe"]["epochs"] == 2 and len(card["history"]["history"]["loss"]) == 2


def test_errors_exit_with_a_message(saved_model_file, capsys):
    d = saved_model_file
    code = main(["export", str(d / "model.keras"), str(d / "m.tflite"), "--format", "tflite", "--quantization", "int8"])
    assert code == 1 and "representative_data=None" in capsys.readouterr().err
    code = main(["export", str(d / "model.keras"), str(d / "m"), "--format", "coreml"])
    assert code == 1 and "Unknown export format" in capsys.readouterr().err
    code = main(["export", str(d / "data.npz"), str(d / "m")])
    assert code == 1 and "Unknown model file type" in capsys.readouterr().err
    assert not (d / "m.tflite").exists() and not (d / "m").exists()


def test_parse_shape():
    assert parse_shape("28,28,1") == (28, 28, 1) and parse_shape("64x64x3") == (64, 64, 3)
    assert parse_shape(None) is None
    with pytest.raises(InvalidConfigError, match="--input-shape 28,28,1"):
        parse_shape("a,b")
