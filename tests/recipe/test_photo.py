"""The photo recipe switches on for photos only: real-photo sizes yes; digits, MNIST-size and small images no."""

import numpy as np
import pytest
from PIL import Image

from keras_transfer.data import load_dataset
from keras_transfer.recipe.photo import PHOTO_AUGMENTATION, image_statistics, photo_recipe


@pytest.mark.parametrize("name", ["digits", "animal_mnist"])
def test_small_image_datasets_are_not_photos(name):
    x = load_dataset(name, validation_size=0.0, test_size=0.0).train[0]
    decided = photo_recipe(x, "mobilenet_v2")
    assert not decided.is_photo and decided.config() == {} and "not photos" in decided.reason


def test_photo_sized_images_get_the_backbones_native_size():
    x = np.zeros((3, 300, 300, 1), np.uint8)  # elpv's size, grey
    for backbone, size in (("mobilenet_v2", 224), ("efficientnet_lite1", 240), ("efficientnet_lite2", 260)):
        decided = photo_recipe(x, backbone)
        assert decided.is_photo and decided.input_size == (size, size)
        assert decided.config()["augmentation"] == PHOTO_AUGMENTATION
    assert not photo_recipe(np.zeros((3, 250, 250, 3), np.uint8), "efficientnet_lite2").is_photo
    assert not photo_recipe(np.zeros((3, 96, 96, 1), np.uint8), "mobilenet_v2").is_photo  # 96 px: not photos


def test_folder_statistics_read_headers(tmp_path):
    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        for i in range(3):
            Image.new("L" if c == "a" else "RGB", (400, 240 + 10 * i)).save(tmp_path / c / f"{i}.png")
    (tmp_path / "a" / "broken.jpg").write_bytes(b"no")
    assert image_statistics(tmp_path) == {"short_side": 250, "channels": 3, "images": 6}
    assert photo_recipe(tmp_path, "mobilenet_v2").is_photo
    assert image_statistics(tmp_path / "missing")["images"] == 0
    assert not photo_recipe(np.zeros((2, 300, 300), np.uint8), "mobilenet_v2").is_photo


def test_a_streamed_folder_trains_and_evaluates_through_the_recipe(tmp_path, tiny_arrays):
    from keras_transfer.recipe import Recipe
    from keras_transfer.recipe.data_source import load_recipe_data
    from keras_transfer.testing import tiny_recipe_config

    rng = np.random.default_rng(0)
    for c, name in enumerate(("cat", "dog")):
        (tmp_path / "photos" / name).mkdir(parents=True)
        for i in range(8):
            pixels = rng.integers(0, 256, (20 + 4 * (i % 3), 30, 3), dtype=np.uint8)  # three sizes
            Image.fromarray(pixels).save(tmp_path / "photos" / name / f"{i}.png")
    (tmp_path / "photos" / "dog" / "bad.png").write_bytes(b"not a png")
    data = {"kind": "image_folder", "path": "photos", "validation_size": 3, "test_size": 4, "stream": True}
    config = tiny_recipe_config(tiny_arrays, tmp_path, data=data)
    loaded = load_recipe_data(Recipe(config, base_dir=tmp_path).config)
    assert "streamed" in loaded.source and loaded.train[0].shape[1:] == (16, 16, 3)
    result = Recipe(config, base_dir=tmp_path).fit(quiet=True)
    assert len(result.history["epoch"]) == 2
    report = result.evaluation["output"]
    assert sum(map(sum, report["confusion_matrix"])) in (3, 4)  # 4 test files, one may be the unreadable one
    images = loaded.train[0][:3]  # slicing decodes just those files (the recipe builds the model and
    assert images.shape == (3, 16, 16, 3) and images.dtype == np.uint8  # calibrates exports this way)
    auto = load_recipe_data(Recipe(dict(config, data=dict(data, stream="auto")), base_dir=tmp_path).config)
    assert isinstance(auto.train[0], np.ndarray)  # a small folder stays in memory
