"""TFLite metadata inside the .tflite file: written, read back, replaced, and run by MediaPipe's ImageClassifier."""

import shutil

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.errors import InvalidConfigError, InvalidInputError
from keras_transfer.export.tflite_metadata import embed_metadata, read_metadata

pytest.importorskip("mediapipe", reason="the metadata schema and MediaPipe come with the edge extra")

NAMES = ["dark", "mid", "bright"]


def _rgb_brightness(n_per_class=16, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n_per_class)
    x = np.clip(np.array([40, 128, 215])[y][:, None, None, None] + rng.normal(0, 20, (len(y), 28, 28, 3)), 0, 255)
    order = rng.permutation(len(y))
    return x.astype("uint8")[order], y[order]


@pytest.fixture(scope="module")
def rgb_model():
    from keras_transfer.testing import register_tiny_backbone

    keras.utils.set_random_seed(3)
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32), train_bn=False)
    model = kt.TransferModel(backbone, kt.ClassificationHead(3, dropout=0.0))
    x, y = _rgb_brightness()
    model.compile(keras.optimizers.Adam(2e-2))
    model.fit(x, y, epochs=6, batch_size=12, verbose=0)
    return model, (x, y)


def test_export_embeds_labels_normalisation_and_card_and_mediapipe_agrees(rgb_model, tmp_path):
    model, (x, y) = rgb_model
    report = kt.export(model, tmp_path / "m.tflite", "tflite", parity_data=(x, y), class_names=NAMES, verbose=False)
    metadata = read_metadata(tmp_path / "m.tflite")
    assert metadata["labels"] == NAMES and metadata["packed_files"] == ["labels.txt"]
    assert metadata["name"] == model.name and metadata["version"] and "3 classes" in metadata["description"]
    assert metadata["min_parser_version"] == "1.0.0" and metadata["identifier_ok"]
    image, = metadata["inputs"]
    assert image["content"] == "ImageProperties" and image["color_space"] == "RGB"
    assert image["normalization"] == {"mean": [0.0], "std": [1.0]}
    assert image["stats"] == {"min": [0.0], "max": [255.0]}
    scores, = metadata["outputs"]
    assert scores["associated_files"] == [{"name": "labels.txt", "type": "TENSOR_AXIS_LABELS"}]
    # The file with metadata still runs in LiteRT (the parity check ran on it), and MediaPipe reads it.
    assert report.embedded_metadata and report.argmax_agreement == 1.0
    assert report.mediapipe_agreement is not None and report.mediapipe_agreement >= 0.99, report.mediapipe_note
    assert "MediaPipe agreement" in report.table()


def test_int8_file_carries_metadata_and_mediapipe_matches_keras(rgb_model, tmp_path):
    model, (x, y) = rgb_model
    report = kt.export(model, tmp_path / "q.tflite", "tflite", "int8", representative_data=x[:24],
                       parity_data=(x, y), class_names=NAMES, verbose=False)
    assert read_metadata(tmp_path / "q.tflite")["labels"] == NAMES
    assert report.output_dtype == "uint8" and report.mediapipe_agreement >= 0.9  # int8 rounding may flip a tie


def test_grey_model_gets_metadata_but_mediapipe_needs_rgb(tiny_model, tiny_images, tmp_path):
    x, _ = tiny_images
    report = kt.export(tiny_model, tmp_path / "g.tflite", "tflite", parity_data=x, verbose=False)
    assert read_metadata(tmp_path / "g.tflite")["inputs"][0]["color_space"] == "GRAYSCALE"
    assert report.embedded_metadata and report.mediapipe_agreement is None
    assert "RGB models only" in report.mediapipe_note and "input_shape=(28, 28, 3)" in report.mediapipe_note


def test_embedding_again_replaces_and_metadata_false_writes_none(tiny_model, tiny_images, tmp_path):
    x, _ = tiny_images
    kt.export(tiny_model, tmp_path / "n.tflite", "tflite", parity_data=x, metadata=False, verbose=False)
    assert read_metadata(tmp_path / "n.tflite") is None and not (tmp_path / "labels.txt").exists()
    shutil.copy(tmp_path / "n.tflite", tmp_path / "again.tflite")
    embed_metadata(tmp_path / "again.tflite", ["a", "b", "c"], name="first")
    size = (tmp_path / "again.tflite").stat().st_size
    again = embed_metadata(tmp_path / "again.tflite", ["x", "y", "z"], name="second", version="2")
    assert again["labels"] == ["x", "y", "z"] and again["name"] == "second" and again["version"] == "2"
    assert again["packed_files"] == ["labels.txt"] and abs((tmp_path / "again.tflite").stat().st_size - size) < 64
    probabilities = kt.export.load_exported(tmp_path / "again.tflite").predict(x)
    np.testing.assert_allclose(probabilities, kt.export.load_exported(tmp_path / "n.tflite").predict(x), atol=1e-6)


def test_labels_must_fit_the_output(tiny_model, tiny_images, tmp_path):
    x, _ = tiny_images
    kt.export(tiny_model, tmp_path / "n.tflite", "tflite", parity_data=x, metadata=False, verbose=False)
    with pytest.raises(InvalidInputError, match="Received: 2 class names"):
        embed_metadata(tmp_path / "n.tflite", ["a", "b"], name="m")
    with pytest.raises(InvalidConfigError, match="3 classes but 2 class names"):
        kt.export(tiny_model, tmp_path / "m.tflite", "tflite", parity_data=x, class_names=["a", "b"], verbose=False)


def test_text_models_have_no_tflite_to_carry_metadata():
    from keras_transfer.export.mediapipe_check import mediapipe_unsupported_reason

    reason = mediapipe_unsupported_reason((None,), "string")
    assert "TextClassifier" in reason and "int32 token ids" in reason and "SavedModel only" in reason
