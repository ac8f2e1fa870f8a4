"""Predictor: labels from labels.txt or the .tflite metadata, image decoding and its errors, text models."""

import os
import shutil

import numpy as np
import pytest

from keras_transfer.errors import InvalidInputError
from keras_transfer.serving import Predictor


def test_images_of_any_size_are_fitted_and_classified(served_model, classes, png_bytes):
    path, _ = served_model
    NAMES, LEVELS = classes
    predictor = Predictor(path, top_k=2)
    assert predictor.kind == "image" and predictor.labels == NAMES and predictor.image_size == (28, 28)
    images = [png_bytes(level, size=(40 + 7 * i, 30), seed=i) for i, level in enumerate(LEVELS)]
    tops = predictor.predict_images(images)
    assert [top[0]["label"] for top in tops] == NAMES and all(len(top) == 2 for top in tops)
    assert all(top[0]["probability"] >= top[1]["probability"] for top in tops)
    assert predictor.describe()["num_labels"] == 3 and predictor.describe()["format"] == "tflite"


def test_labels_come_from_the_embedded_metadata_without_labels_txt(served_model, classes, tmp_path):
    path, _ = served_model
    alone = tmp_path / "alone.tflite"
    shutil.copy(path, alone)
    assert not (tmp_path / "labels.txt").exists()
    assert Predictor(alone).labels == classes[0]


@pytest.mark.parametrize("kind, match", [
    ("text", "Not an image: 'x.txt'"),
    ("truncated", "Not an image"),  # truncated PNG: the header reads, decoding fails
])
def test_bad_images_are_refused_with_a_clear_message(served_model, png_bytes, kind, match):
    predictor = Predictor(served_model[0])
    data = b"not an image at all" if kind == "text" else png_bytes(128)[:60]
    with pytest.raises(InvalidInputError, match=match):
        predictor.predict_images([data], names=["x.txt"])


def test_decompression_bomb_refused_before_decoding(served_model, png_bytes, monkeypatch):
    import keras_transfer.serving.predictor as module

    monkeypatch.setattr(module, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(InvalidInputError, match="Image too large"):
        Predictor(served_model[0]).predict_images([png_bytes(40)])


def test_wrong_kind_of_input_and_model(served_model, tmp_path):
    predictor = Predictor(served_model[0])
    with pytest.raises(InvalidInputError, match="This model takes images"):
        predictor.predict_texts(["hello"])
    with pytest.raises(InvalidInputError, match="No model at this path"):
        Predictor(tmp_path / "missing.tflite")


def test_text_classifier_served_from_a_keras_file(tmp_path, png_bytes):
    import keras_transfer as kt
    from keras_transfer.backbones import WordVectorBackbone

    vectors = tmp_path / "glove.txt"
    vectors.write_text("good 1 0\ngreat 0.9 0.1\nbad 0 1\nawful 0.1 0.9\n", encoding="utf-8")
    model = kt.TransferModel(WordVectorBackbone.from_file(vectors, sequence_length=4),
                             kt.ClassificationHead(2, dropout=0.0))
    texts = ["good great", "awful bad", "bad"]
    expected = np.asarray(model(np.array(texts, dtype=object)))
    model.save(tmp_path / "text.keras")
    (tmp_path / "labels.txt").write_text("negative\npositive\n")
    predictor = Predictor(tmp_path / "text.keras", top_k=2)
    assert predictor.kind == "text" and predictor.labels == ["negative", "positive"]
    tops = predictor.predict_texts(texts)
    for top, row in zip(tops, expected):
        assert top[0]["id"] == int(row.argmax()) and abs(top[0]["probability"] - row.max()) < 1e-5
        assert top[0]["label"] == ["negative", "positive"][int(row.argmax())]
    with pytest.raises(InvalidInputError, match="This model takes texts"):
        predictor.predict_images([png_bytes(40)])
    assert os.path.basename(predictor.describe()["path"]) == "text.keras"
