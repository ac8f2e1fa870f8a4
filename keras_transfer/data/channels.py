"""The image channel rule: an image batch is ``(batch, height, width, channels)`` with 1 (grey) or 3 (RGB) channels.

Every place that accepts raw images (array and dataset checks, backbones, augmentation, export) asks this
module, so the rule and the fixes it suggests are written once.
"""

from keras_transfer.errors import InvalidInputError

__all__ = ["IMAGE_CHANNELS", "has_image_channels", "channels_fix", "check_image_channels"]

#: The channel counts raw images may have: grey or RGB.
IMAGE_CHANNELS = (1, 3)


def has_image_channels(shape, rank=4, allow_unknown=False) -> bool:
    """Whether ``shape`` has ``rank`` axes and 1 or 3 channels in the last one.

    Args:
        shape: sequence of int or None. A batch shape ``(batch, H, W, C)`` (``rank=4``) or one image
            ``(H, W, C)`` (``rank=3``).
        rank: int or None. The number of axes required; None accepts any rank of at least 1.
        allow_unknown: bool. Whether an unknown channel count (None) passes.

    Returns:
        bool.

    Examples:
    >>> from keras_transfer.data.channels import has_image_channels
    >>> has_image_channels((8, 28, 28, 1)), has_image_channels((8, 28, 28, 4)), has_image_channels((28, 28, 3))
    (True, False, False)
    >>> has_image_channels((28, 28, 3), rank=3), has_image_channels((None, 8, 8, None), allow_unknown=True)
    (True, True)
    """
    shape = tuple(shape)
    if not shape or (rank is not None and len(shape) != rank):
        return False
    return shape[-1] in IMAGE_CHANNELS or (allow_unknown and shape[-1] is None)


def channels_fix(shape, x_name="x", transpose="np.transpose") -> str:
    """The fix to suggest for an image batch ``(batch, H, W, C)`` whose channel count is not 1 or 3.

    Args:
        shape: sequence of int or None. The batch shape.
        x_name: str. How the images are called in the suggested code.
        transpose: str. The transpose function to suggest for channels-first data (``"np.transpose"``,
            ``"tf.transpose"``).

    Returns:
        str: one sentence: drop the alpha channel (4 channels), transpose channels-first data, or convert.

    Examples:
    >>> from keras_transfer.data.channels import channels_fix
    >>> channels_fix((2, 8, 8, 4))
    'Drop the alpha channel with `x[..., :3]`.'
    >>> channels_fix((2, 3, 8, 8), transpose="tf.transpose")
    'The array looks channels-first (N, C, H, W): transpose it with `tf.transpose(x, (0, 2, 3, 1))`.'
    """
    shape = tuple(shape)
    if shape[-1] == 4:
        return f"Drop the alpha channel with `{x_name}[..., :3]`."
    if len(shape) == 4 and shape[1] in IMAGE_CHANNELS:
        return (f"The array looks channels-first (N, C, H, W): transpose it with "
                f"`{transpose}({x_name}, (0, 2, 3, 1))`.")
    return "Convert the images to grey (C=1) or RGB (C=3)."


def check_image_channels(shape, *, what="x", received=None, x_name=None, transpose="np.transpose"):
    """Raises unless the last axis of an image shape holds 1 or 3 channels (an unknown count passes).

    Args:
        shape: sequence of int or None. The images' shape, channels last.
        what: str. The argument's name in the message.
        received: str or None. What to show after ``Received:``; default ``"<what>.shape=<shape>"``.
        x_name: str or None. How the images are called in the suggested code; default ``what``.
        transpose: str. The transpose function suggested for channels-first data.

    Returns:
        None.

    Raises:
        keras_transfer.errors.InvalidInputError: the channel count is known and not 1 or 3; the message gives
            the fix (:func:`channels_fix`).

    Examples:
    >>> from keras_transfer.data.channels import check_image_channels
    >>> check_image_channels((2, 8, 8, 3))
    >>> check_image_channels((2, 8, 8, 4), what="images")
    Traceback (most recent call last):
    ...
    keras_transfer.errors.InvalidInputError: `images` must have 1 (grey) or 3 (RGB) channels in the last axis. Received: images.shape=(2, 8, 8, 4) (4 channels). Drop the alpha channel with `images[..., :3]`.
    """
    shape = tuple(shape)
    channels = shape[-1]
    if channels is None or channels in IMAGE_CHANNELS:
        return
    received = received or f"{what}.shape={shape}"
    raise InvalidInputError(
        f"`{what}` must have 1 (grey) or 3 (RGB) channels in the last axis. "
        f"Received: {received} ({channels} channels). {channels_fix(shape, x_name or what, transpose)}"
    )
