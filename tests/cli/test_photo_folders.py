"""``evaluate`` and ``predict`` read folders of mixed-size images, resized to the model's input size."""

import json
import os

import keras
import numpy as np
import pytest
from PIL import Image

from keras_transfer.cli.main import main
from keras_transfer.data import image_folder

_SIZES = [(40, 30), (64, 48), (33, 77)]  # (width, height): three sizes in every class


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    rng = np.random.default_rng(0)
    for c, name in enumerate(("ant", "bee", "cow")):
        os.makedirs(root / name)
        for i, (w, h) in enumerate(_SIZES):
            pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            pixels[..., c] = 255  # a class colour the model can see
            Image.fromarray(pixels).save(root / name / f"{i}.{'png' if i % 2 else 'jpg'}")
    return root


@pytest.fixture(scope="module")
def fixed_size_model(tmp_path_factory):
    """A .keras model taking exactly 32x32 RGB images."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
    path = tmp_path_factory.mktemp("model") / "fixed.keras"
    model.save(path)
    return path, model


def test_evaluate_reads_a_folder_of_three_sizes(folder, fixed_size_model, tmp_path, capsys):
    path, model = fixed_size_model
    code = main(["evaluate", str(path), "--data", str(folder), "--output-dir", str(tmp_path / "eval")])
    assert code == 0, capsys.readouterr().err
    report = json.loads((tmp_path / "eval" / "evaluation.json").read_text())
    x, y = image_folder(folder, image_size=(32, 32), channels=3).train
    predicted = model.predict(x, verbose=0).argmax(1)
    assert np.array(report["confusion_matrix"]).sum() == 9
    assert report["class_names"] == ["ant", "bee", "cow"]
    assert report["accuracy"] == pytest.approx(float(np.mean(predicted == y)))


def test_predict_reads_a_folder_of_three_sizes(folder, fixed_size_model, capsys):
    path, model = fixed_size_model
    capsys.readouterr()
    code = main(["predict", str(path), str(folder), "--json", "--top-k", "1"])
    assert code == 0
    results = json.loads(capsys.readouterr().out)
    assert len(results) == 9 and all(r["input"].startswith(str(folder)) for r in results)
    from keras_transfer.data.image_folder import decode_image

    for result in results:
        image = decode_image(result["input"], (32, 32), 3)  # the reader fit uses, at the model's size
        expected = model.predict(image[None], verbose=0)[0]
        assert result["top"][0]["id"] == int(expected.argmax())
        assert result["top"][0]["score"] == pytest.approx(float(expected.max()), abs=1e-5)


def test_predict_mixes_folders_and_files(folder, fixed_size_model, capsys):
    path, _ = fixed_size_model
    single = str(folder / "ant" / "1.png")
    capsys.readouterr()
    assert main(["predict", str(path), single, str(folder / "bee"), "--resize", "--json"]) == 0
    names = [r["input"] for r in json.loads(capsys.readouterr().out)]
    assert names[0] == single and len(names) == 4 and all("bee" in n for n in names[1:])


def _check_output(capsys, argv):
    import yaml

    capsys.readouterr()
    assert main(argv) == 0
    return yaml.safe_load(capsys.readouterr().out)


def test_fit_on_a_photo_folder_chooses_the_photo_recipe(tmp_path, capsys):
    for c in ("a", "b"):
        os.makedirs(tmp_path / "photos" / c)
        os.makedirs(tmp_path / "small" / c)
        for i in range(3):
            Image.new("RGB", (300 + 40 * i, 250)).save(tmp_path / "photos" / c / f"{i}.jpg")
            Image.new("L", (28, 28)).save(tmp_path / "small" / c / f"{i}.png")
    photos = _check_output(capsys, ["fit", "--backbone", "efficientnet_lite0", "--data", str(tmp_path / "photos"),
                                    "--check"])
    assert photos["backbone"]["input_size"] == [224, 224]
    assert [list(op) for op in photos["augmentation"]] == [["random_resized_crop"], ["flip"]]
    assert photos["optimizer"]["batch_size"] == 32
    assert (photos["stages"]["head_epochs"], photos["stages"]["fine_tune_epochs"]) == (5, 5)
    overridden = _check_output(capsys, ["fit", "--backbone", "mobilenet_v2", "--data", str(tmp_path / "photos"),
                                        "--check", "--set", "augmentation=none", "--set", "stages.head_epochs=1"])
    assert overridden["augmentation"] == "none" and overridden["stages"]["head_epochs"] == 1
    small = _check_output(capsys, ["fit", "--backbone", "mobilenet_v2", "--data", str(tmp_path / "small"),
                                   "--check"])
    assert small["augmentation"] == "none" and small["backbone"]["input_size"] is None
