"""Bad inputs through the ``keras-transfer`` command line: exit code 1 and one line naming what was received,
never a traceback."""

import errno

import keras
import numpy as np
import pytest
from PIL import Image

from keras_transfer.cli.main import main


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    import keras_transfer as kt
    from keras_transfer.testing import register_tiny_backbone

    directory = tmp_path_factory.mktemp("cli_bad_inputs")
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(16, 16))
    model = kt.TransferModel(backbone, kt.ClassificationHead(3, dropout=0.0))
    model.predict(np.zeros((1, 16, 16, 3), "uint8"), verbose=0)
    model.save(directory / "model.keras")
    Image.new("RGB", (16, 16), 90).save(directory / "good.png")
    (directory / "garbage.png").write_bytes(b"this is not a PNG")
    (directory / "cut.png").write_bytes((directory / "good.png").read_bytes()[:30])
    (directory / "cut.keras").write_bytes((directory / "model.keras").read_bytes()[:600])
    inputs = keras.Input((16, 16, 3))
    code = keras.layers.Lambda(lambda t: t * 2.0)(inputs)  # would run Python when loaded unsafely
    keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(code)).save(directory / "lambda.keras")
    return directory


def _run(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.err


@pytest.mark.parametrize("case, expected", [
    ("missing_model", "No model at this path"),
    ("corrupt_image", "Cannot read this image"),
    ("truncated_image", "Cannot read this image"),
    ("lambda_model", "safe_mode"),
    ("truncated_model", "cut.keras"),
])
def test_predict_refuses_bad_files(files, capsys, case, expected):
    model, inputs = {
        "missing_model": (files / "missing.keras", files / "good.png"),
        "corrupt_image": (files / "model.keras", files / "garbage.png"),
        "truncated_image": (files / "model.keras", files / "cut.png"),
        "lambda_model": (files / "lambda.keras", files / "good.png"),
        "truncated_model": (files / "cut.keras", files / "good.png"),
    }[case]
    code, err = _run(capsys, "predict", model, inputs)
    assert code == 1
    assert err.startswith("keras-transfer predict: error:") and expected in err, err


def test_export_unknown_format(files, capsys):
    code, err = _run(capsys, "export", files / "model.keras", files / "out.xyz", "--format", "xyz")
    assert code == 1 and "Received: format='xyz'" in err


def test_export_into_an_unwritable_directory(files, capsys):
    (files / "blocker").write_text("a file where a directory should be")
    code, err = _run(capsys, "export", files / "model.keras", files / "blocker" / "model", "--input-shape", "16,16,3")
    assert code == 1 and "not a writable directory" in err and "Received" in err


def test_export_with_a_full_disk(files, capsys, monkeypatch):
    def disk_full(self, filepath, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", filepath)

    monkeypatch.setattr(keras.Model, "export", disk_full)
    code, err = _run(capsys, "export", files / "model.keras", files / "full" / "model", "--input-shape", "16,16,3")
    assert code == 1 and "No space left on device" in err
    assert not (files / "full" / "model").exists()


def test_lr_find_unknown_backbone(capsys):
    code, err = _run(capsys, "lr-find", "--backbone", "mobilenet_v9", "--steps", "2")
    assert code == 1 and "Received: name='mobilenet_v9'" in err


def test_evaluate_unknown_data_source(files, capsys):
    code, err = _run(capsys, "evaluate", files / "model.keras", "--data", "no_such_dataset")
    assert code == 1 and "Received: 'no_such_dataset'" in err
