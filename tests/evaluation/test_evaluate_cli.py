"""``keras-transfer evaluate --tta N --top-losses N --gradcam``: the report's new numbers and figures."""

import json

import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.cli.main import main


def test_evaluate_reports_tta_calibration_and_error_analysis(square_task, tmp_path, capsys):
    model, _, (tx, ty, _) = square_task
    model.save(tmp_path / "model.keras")
    np.savez(tmp_path / "test.npz", x=tx, y=ty)
    code = main(["evaluate", str(tmp_path / "model.keras"), "--data", str(tmp_path / "test.npz"), "--tta", "2",
                 "--top-losses", "6", "--gradcam", "--output-dir", str(tmp_path / "out")])
    assert code == 0
    printed = capsys.readouterr().out
    assert "expected calibration error" in printed and "test-time augmentation (2 views)" in printed
    report = json.loads((tmp_path / "out" / "evaluation.json").read_text())
    plain = model.predict(tx, verbose=0)
    assert report["accuracy"] == pytest.approx(np.mean(plain.argmax(1) == ty))
    assert report["accuracy_tta"] == pytest.approx(np.mean(kt.predict(model, tx, tta=2).argmax(1) == ty))
    assert report["ece"] == pytest.approx(kt.evaluation.expected_calibration_error(plain, ty), abs=1e-6)
    assert 0 <= report["balanced_accuracy"] <= 1 and 0 <= report["macro_f1"] <= 1
    assert len(report["top_losses"]) == 6 and isinstance(report["most_confused"], list)
    for name in ("top_losses", "reliability_diagram", "confusion_matrix"):
        assert (tmp_path / "out" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"


def test_gradcam_on_an_exported_file_is_refused_before_any_work(tmp_path, capsys):
    (tmp_path / "model.tflite").write_bytes(b"never read")
    assert main(["evaluate", str(tmp_path / "model.tflite"), "--data", "missing.npz", "--gradcam"]) != 0
    assert "--gradcam needs gradients" in capsys.readouterr().err
