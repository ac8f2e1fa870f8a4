"""keras_transfer.export.model_card: card contents, history summary, metadata files."""

import json

import keras
import pytest

import keras_transfer as kt
from keras_transfer.errors import InvalidConfigError
from keras_transfer.export.model_card import (
    class_names_of, history_summary, load_history_file, model_card, read_labels, read_model_card, write_metadata,
)


def _stage(losses):
    history = keras.callbacks.History()
    history.history = {"loss": losses, "accuracy": [0.5] * len(losses)}
    history.epoch = list(range(len(losses)))
    return history


def test_history_summary_of_fine_tune_stages():
    history = kt.FineTuneHistory()
    history.add_stage("head", _stage([1.0, 0.6]), learning_rate=1e-3, mode="frozen")
    history.add_stage("fine_tune", _stage([0.7]), learning_rate=1e-4, mode="full")
    summary = history_summary(history)
    assert summary["epochs"] == 3 and summary["best"]["loss"] == 0.6 and summary["final"]["loss"] == 0.7
    assert [s["name"] for s in summary["stages"]] == ["head", "fine_tune"]
    assert history_summary(history.to_dict()) == summary  # the JSON form gives the same summary
    assert history_summary({"loss": [float("nan"), 2.0]})["history"]["loss"] == [None, 2.0]  # JSON-safe
    assert history_summary(None) is None


def test_card_of_a_transfer_model(tiny_model, tiny_images):
    tiny_model(tiny_images[0][:1])
    card = model_card(tiny_model, input_shape=(None, 28, 28, 1), class_names=["a", "b", "c"])
    assert card["backbone"]["name"] == "tiny_cnn" and card["backbone"]["working_resolution"] == [32, 32, 3]
    assert card["head"]["num_classes"] == 3 and card["head"]["activation"] == "softmax"
    assert card["augmentation"]["layers"] is None and card["history"] is None
    assert json.loads(json.dumps(card)) == card


def test_class_names():
    head_model = type("M", (), {"head": kt.ClassificationHead(2)})()
    assert class_names_of(head_model) == ["0", "1"]
    assert class_names_of(object()) is None
    with pytest.raises(InvalidConfigError, match="2 classes but 3 class names"):
        class_names_of(head_model, ["a", "b", "c"])


def test_write_metadata_accumulates_exports_of_one_model(tmp_path):
    card = {"name": "m", "parameters": 10, "backbone": {"name": "x"}, "class_names": ["a", "b"]}
    write_metadata(tmp_path, card, "m.tflite", {"size_bytes": 1}, ["a", "b"])
    write_metadata(tmp_path, card, "m.onnx", {"size_bytes": 2}, ["a", "b"])
    assert set(read_model_card(tmp_path / "m.tflite")["exports"]) == {"m.tflite", "m.onnx"}
    assert read_labels(tmp_path / "m.onnx") == ["a", "b"]
    write_metadata(tmp_path, dict(card, parameters=11), "other.tflite", {"size_bytes": 3}, None)
    assert set(read_model_card(tmp_path / "x")["exports"]) == {"other.tflite"}  # another model: fresh card
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.txt", "model_card.json"]


def test_load_history_file(tmp_path):
    history = kt.FineTuneHistory()
    history.add_stage("head", _stage([1.0]), learning_rate=1e-3, mode="frozen")
    (tmp_path / "results.json").write_text(json.dumps({"accuracy": 0.9, "history": history.to_dict()}))
    (tmp_path / "plain.json").write_text(json.dumps({"loss": [1.0, 0.5]}))
    assert history_summary(load_history_file(tmp_path / "results.json"))["stages"][0]["name"] == "head"
    assert history_summary(load_history_file(tmp_path / "plain.json"))["final"] == {"loss": 0.5}
