"""preview: writes a non-empty PNG grid of the right size."""

import numpy as np
import pytest
from PIL import Image

from keras_transfer.augmentation import preview
from keras_transfer.errors import InvalidConfigError, InvalidInputError


def test_preview_writes_a_png_grid(tmp_path, tiny_images):
    images, _ = tiny_images
    path = preview("strong", images, tmp_path / "sub" / "grid.png", samples=3, max_images=4, seed=0)
    assert path.exists() and path.stat().st_size > 0
    with Image.open(path) as image:
        assert image.format == "PNG" and image.mode == "L"
        factor = 4  # 28 px cells are upscaled to >= 96 px
        assert image.size == (4 * (28 * factor + 2) + 2, 4 * (28 * factor + 2) + 2)
        grid = np.asarray(image)
    first_cell = grid[2:2 + 28 * factor:factor, 2:2 + 28 * factor:factor]
    np.testing.assert_array_equal(first_cell, images[0, ..., 0])  # the original comes first


def test_preview_of_rgb_images_and_bad_inputs(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3)).astype("uint8")
    with Image.open(preview({"flip": True}, images, tmp_path / "rgb.png", samples=1, min_cell=16)) as image:
        assert image.mode == "RGB" and image.size == (2 * 18 + 2, 2 * 18 + 2)
    with pytest.raises(InvalidInputError, match="Received: shape \\(2, 16\\)"):
        preview("light", np.zeros((2, 16)), tmp_path / "bad.png")
    with pytest.raises(InvalidConfigError, match="samples=0"):
        preview("light", images, tmp_path / "bad.png", samples=0)
