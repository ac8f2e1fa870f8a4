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
