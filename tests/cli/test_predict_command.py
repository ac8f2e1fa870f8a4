"""``keras-transfer predict``: every model format, image / WAV / text inputs, clear errors."""

import json
import wave

import keras
import numpy as np
import pytest
from PIL import Image

from keras_transfer.cli.main import main
from keras_transfer.export import export


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A tiny classifier as .keras, SavedModel, .tflite and .onnx (labels a, b, c), plus 28x28 grey PNGs."""
    import keras_transfer as kt
    from keras_transfer.testing import register_tiny_backbone

    keras.utils.set_random_seed(3)
    directory = tmp_path_factory.mktemp("predict")
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32))
    model = kt.TransferModel(backbone, kt.ClassificationHead(3, dropout=0.0))
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (4, 28, 28, 1), dtype=np.uint8)
    model.compile("adam")
    model.fit(images, np.arange(4) % 3, epochs=1, verbose=0)
    paths = {"keras": directory / "model.keras"}
    model.save(paths["keras"])
    for fmt, name in (("saved_model", "saved"), ("tflite", "model.tflite"), ("onnx", "model.onnx")):
        paths[fmt] = directory / name
        export(model, paths[fmt], fmt, parity_data=images, class_names=["a", "b", "c"], verbose=False)
    files = []
    for i, image in enumerate(images[:3]):
        files.append(str(directory / f"img{i}.png"))
        Image.fromarray(image[..., 0]).save(files[-1])
    return model, paths, files, model(images[:3]).numpy()


def _predict(capsys, *args):
    code = main(["predict", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("fmt", ["keras", "saved_model", "tflite", "onnx"])
def test_predict_on_each_format(models, capsys, fmt):
    _, paths, files, reference = models
    code, out, _ = _predict(capsys, paths[fmt], *files, "--json", "--top-k", "3")
    assert code == 0
    results = json.loads(out)
    assert [r["input"] for r in results] == files
    for result, expected in zip(results, reference):
        scores = np.zeros(3)
        for entry in result["top"]:
            scores[entry["id"]] = entry["score"]
        np.testing.assert_allclose(scores, expected, atol=1e-5)
        assert result["top"][0]["id"] == expected.argmax()
        if fmt != "keras":  # labels.txt written by the export
            assert result["top"][0]["class"] == "abc"[expected.argmax()]


def test_plain_output_and_labels_file(models, capsys, tmp_path):
    _, paths, files, reference = models
    (tmp_path / "names.txt").write_text("x\ny\nz\n")
    code, out, _ = _predict(capsys, paths["tflite"], files[0], "--labels", tmp_path / "names.txt", "--top-k", "1")
    assert code == 0 and out == f"{files[0]}\t{'xyz'[reference[0].argmax()]} {reference[0].max():.3f}\n"


def test_wrong_size_is_a_clear_error_unless_resized(models, capsys, tmp_path):
    _, paths, _, _ = models
    Image.fromarray(np.zeros((40, 30), "uint8")).save(tmp_path / "big.png")
    for fmt in ("tflite", "onnx", "saved_model"):
        code, out, err = _predict(capsys, paths[fmt], tmp_path / "big.png")
        assert code == 1 and out == "" and "takes 28x28 images" in err and "size 40x30" in err and "--resize" in err
    assert _predict(capsys, paths["tflite"], tmp_path / "big.png", "--resize")[0] == 0
    assert _predict(capsys, paths["keras"], tmp_path / "big.png")[0] == 0  # the Keras model resizes inside


def test_input_of_the_wrong_kind(models, capsys, tmp_path):
    _, paths, _, _ = models
    (tmp_path / "t.txt").write_text("hello\n")
    code, _, err = _predict(capsys, paths["onnx"], tmp_path / "t.txt")
    assert code == 1 and "This model takes image inputs" in err
    code, _, err = _predict(capsys, paths["onnx"], tmp_path / "t.csv")
    assert code == 1 and "Unknown input file type" in err


def test_text_lines_and_wav_files(capsys, tmp_path):
    text_in = keras.Input((1,), dtype="string")
    lookup = keras.layers.StringLookup(vocabulary=["good", "bad"], output_mode="one_hot")(text_in)
    text_model = keras.Model(text_in, keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(lookup)))
    text_model.save(tmp_path / "text.keras")
    (tmp_path / "reviews.txt").write_text("good\nbad\n\nunknown\n")
    code, out, _ = _predict(capsys, tmp_path / "text.keras", tmp_path / "reviews.txt", "--json")
    results = json.loads(out)
    assert code == 0 and [r["input"] for r in results] == [f"{tmp_path / 'reviews.txt'}:{i}" for i in (1, 2, 3)]
    expected = text_model(np.array([["good"], ["bad"], ["unknown"]])).numpy()
    assert [r["top"][0]["id"] for r in results] == expected.argmax(1).tolist()

    audio_model = keras.Sequential([keras.Input((400,)), keras.layers.Dense(2, activation="softmax")])
    audio_model.save(tmp_path / "audio.keras")
    for name, n in (("ok.wav", 400), ("short.wav", 300)):
        with wave.open(str(tmp_path / name), "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(8000)
            handle.writeframes((np.sin(np.arange(n) / 5) * 9000).astype("<i2").tobytes())
    code, out, _ = _predict(capsys, tmp_path / "audio.keras", tmp_path / "ok.wav", "--json")
    samples = (np.sin(np.arange(400) / 5) * 9000).astype("<i2") / 32768.0
    assert code == 0
    np.testing.assert_allclose(json.loads(out)[0]["top"][0]["score"], audio_model(samples[None]).numpy().max(),
                               atol=1e-5)
    code, _, err = _predict(capsys, tmp_path / "audio.keras", tmp_path / "short.wav")
    assert code == 1 and "takes 400 samples" in err
    assert _predict(capsys, tmp_path / "audio.keras", tmp_path / "short.wav", "--resize")[0] == 0
