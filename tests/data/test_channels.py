"""keras_transfer.data.channels: the one 1-or-3-channel rule and its fixes."""

import pytest

from keras_transfer.data.channels import IMAGE_CHANNELS, channels_fix, check_image_channels, has_image_channels
from keras_transfer.errors import InvalidInputError


def test_has_image_channels():
    assert IMAGE_CHANNELS == (1, 3)
    assert has_image_channels((2, 8, 8, 1)) and has_image_channels([2, 8, 8, 3])
    assert not has_image_channels((2, 8, 8, 2)) and not has_image_channels((8, 8, 3))
    assert has_image_channels((8, 8, 3), rank=3) and has_image_channels((5, 1), rank=None)
    assert not has_image_channels((None, 8, 8, None)) and has_image_channels((None, 8, 8, None), allow_unknown=True)
    assert not has_image_channels(())


@pytest.mark.parametrize("shape, fix", [
    ((2, 8, 8, 4), "Drop the alpha channel with `imgs[..., :3]`."),
    ((2, 1, 8, 8), "channels-first (N, C, H, W): transpose it with `np.transpose(imgs, (0, 2, 3, 1))`."),
    ((2, 8, 8, 5), "Convert the images to grey (C=1) or RGB (C=3)."),
])
def test_channels_fix(shape, fix):
    assert fix in channels_fix(shape, "imgs")


def test_check_image_channels():
    check_image_channels((2, 8, 8, 1))
    check_image_channels((None, None, None, None))
    with pytest.raises(InvalidInputError, match=r"^`ds` must have 1 \(grey\) or 3 \(RGB\) channels in the last axis\. "
                       r"Received: x spec shape=\(2, 3, 8, 8\) \(8 channels\)\. .*tf\.transpose\(x, "):
        check_image_channels((2, 3, 8, 8), what="ds", received="x spec shape=(2, 3, 8, 8)", x_name="x",
                             transpose="tf.transpose")
