"""RandomResizedCrop: area and aspect-ratio bounds, identity at inference, seeds, errors."""

import numpy as np
import pytest

from keras_transfer.augmentation import RandomResizedCrop
from keras_transfer.errors import InvalidConfigError


def _coordinate_ramp(height, width, n=64):
    yy, xx = np.meshgrid(np.arange(height, dtype="float32"), np.arange(width, dtype="float32"), indexing="ij")
    return np.stack([xx, yy, np.zeros_like(xx)], -1)[None].repeat(n, 0)


def _crop_sides(out, height, width):
    """Crop width and height in pixels, read from the ramp's slope in the middle of the output."""
    cy, cx = height // 2, width // 2
    return (out[:, cy, cx + 1, 0] - out[:, cy, cx, 0]) * width, (out[:, cy + 1, cx, 1] - out[:, cy, cx, 1]) * height


def test_crop_area_and_ratio_stay_in_bounds():
    layer = RandomResizedCrop(scale=(0.2, 0.6), ratio=(0.75, 4 / 3), seed=1)
    out = np.asarray(layer(_coordinate_ramp(40, 40), training=True))
    crop_w, crop_h = _crop_sides(out, 40, 40)
    area = crop_w * crop_h / (40 * 40)
    ratio = crop_w / crop_h
    assert area.min() >= 0.2 - 1e-3 and area.max() <= 0.6 + 1e-3
    assert ratio.min() >= 0.75 - 1e-3 and ratio.max() <= 4 / 3 + 1e-3
    assert area.max() - area.min() > 0.2 and ratio.max() - ratio.min() > 0.3  # the ranges are really sampled


def test_ratio_none_keeps_the_image_aspect_and_boxes_stay_inside():
    layer = RandomResizedCrop(scale=(0.25, 0.25), ratio=None, seed=2)
    top, left, crop_h, crop_w = (np.asarray(t) for t in layer.crop_boxes(32, 20, 40))
    np.testing.assert_allclose(crop_w / crop_h, 2.0, rtol=1e-5)
    np.testing.assert_allclose(crop_w * crop_h, 0.25 * 800, rtol=1e-5)
    assert top.min() >= 0 and (top + crop_h).max() <= 20 + 1e-4
    assert left.min() >= 0 and (left + crop_w).max() <= 40 + 1e-4


def test_identity_at_inference_and_repeatable_under_a_seed():
    images = np.random.default_rng(0).integers(0, 256, (3, 24, 24, 1)).astype("uint8")
    assert np.array_equal(np.asarray(RandomResizedCrop(seed=0)(images)), images)
    first = np.asarray(RandomResizedCrop(seed=5)(images, training=True))
    again = np.asarray(RandomResizedCrop(seed=5)(images, training=True))
    np.testing.assert_array_equal(first, again)
    assert first.shape == images.shape and first.dtype == np.float32


@pytest.mark.parametrize(
    "kwargs, message",
    [({"scale": (0.0, 1.0)}, "above 0"), ({"scale": (0.5, 1.5)}, "scale="), ({"ratio": (2, 1)}, "ratio=")],
)
def test_bad_ranges_are_refused(kwargs, message):
    with pytest.raises(InvalidConfigError, match=message):
        RandomResizedCrop(**kwargs)
