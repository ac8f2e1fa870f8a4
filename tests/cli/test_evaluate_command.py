"""``keras-transfer evaluate``: per-class report, confusion-matrix and training-curve PNGs."""

import json

import numpy as np
import pytest

from keras_transfer.cli.evaluate_command import evaluate_model
from keras_transfer.cli.main import main
from keras_transfer.export.model_card import model_card, write_metadata


@pytest.fixture(scope="module")
def trained_file(tmp_path_factory):
    """``(directory, model, history, x, y)``: a tiny model saved as model.keras beside test.npz."""
    import keras_transfer as kt
    from keras_transfer.testing import register_tiny_backbone

    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32))
    model = kt.TransferModel(backbone, kt.ClassificationHead(3, dropout=0.0))
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (24, 28, 28, 1), dtype=np.uint8)
    y = np.arange(24) % 3
    tmp_path = tmp_path_factory.mktemp("evaluate_command")
    model.compile("adam", run_eagerly=True)  # eager steps: no tracing for a 2-step fit
    history = model.fit(x, y, epochs=2, batch_size=12, validation_data=(x[:6], y[:6]), verbose=0)
    model.save(tmp_path / "model.keras")
    np.savez(tmp_path / "test.npz", x=x, y=y)
    return tmp_path, model, history, x, y


def test_evaluate_writes_report_and_figures(trained_file, capsys):
    tmp_path, model, history, x, y = trained_file
    card = model_card(model, input_shape=(None, 28, 28, 1), class_names=["a", "b", "c"], history=history)
    write_metadata(tmp_path, card, "model.keras", {}, ["a", "b", "c"])  # as an export beside it would
    code = main(["evaluate", str(tmp_path / "model.keras"), "--data", str(tmp_path / "test.npz"),
                 "--output-dir", str(tmp_path / "eval")])
    out = capsys.readouterr().out
    assert code == 0 and "| class | precision | recall | f1 | support |" in out and "| a | " in out
    report = json.loads((tmp_path / "eval" / "evaluation.json").read_text())
    predicted = model(x).numpy().argmax(1)
    assert report["accuracy"] == float(np.mean(predicted == y)) and report["class_names"] == ["a", "b", "c"]
    assert np.array(report["confusion_matrix"]).sum() == 24 and report["format"] == "keras"
    for name in ("confusion_matrix.png", "training_curves.png"):
        assert (tmp_path / "eval" / name).read_bytes()[:4] == b"\x89PNG"


def test_history_and_default_output_dir(trained_file):
    tmp_path = trained_file[0]
    report = evaluate_model(tmp_path / "model.keras", str(tmp_path / "test.npz"), limit=12,
                            history={"loss": [1.0, 0.5]}, labels=["x", "y", "z"])
    assert report["n_examples"] == 12 and report["class_names"] == ["x", "y", "z"]
    assert set(report["files"]) == {"confusion_matrix", "reliability_diagram", "training_curves", "report"}
    assert str(tmp_path / "model_evaluation") in report["files"]["report"]


def test_unlabelled_data_is_an_error_before_the_model_loads(tmp_path, capsys):
    np.savez(tmp_path / "nolabels.npz", x=np.zeros((2, 28, 28, 1), "uint8"))
    (tmp_path / "model.tflite").write_bytes(b"")  # never read: the data is checked first
    code = main(["evaluate", str(tmp_path / "model.tflite"), "--data", str(tmp_path / "nolabels.npz")])
    assert code == 1 and "Evaluation needs labels" in capsys.readouterr().err
