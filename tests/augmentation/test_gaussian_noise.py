"""RandomGaussianNoise: deviation as a fraction of the value range; identity at inference."""

import numpy as np
import pytest

from keras_transfer.augmentation import RandomGaussianNoise
from keras_transfer.errors import InvalidConfigError


def test_noise_has_the_stated_deviation_and_vanishes_at_inference():
    images = np.full((8, 32, 32, 3), 128.0, "float32")
    layer = RandomGaussianNoise(0.04, seed=0)
    noisy = np.asarray(layer(images, training=True))
    assert np.std(noisy - images) == pytest.approx(0.04 * 255, rel=0.05)
    assert np.array_equal(np.asarray(layer(images)), images)


@pytest.mark.parametrize("stddev", [0, -0.1, 1.5, float("nan")])
def test_bad_deviation_is_refused(stddev):
    with pytest.raises(InvalidConfigError, match="stddev"):
        RandomGaussianNoise(stddev)
