"""`preview`: a PNG grid of augmented samples, to look at the augmentation before training."""

from pathlib import Path
from typing import Optional

import numpy as np

from keras_transfer.augmentation.presets import get
from keras_transfer.checks import check_int
from keras_transfer.errors import InvalidInputError

__all__ = ["preview"]


def preview(
    augmentation,
    images,
    path,
    *,
    samples: int = 6,
    max_images: int = 8,
    seed: Optional[int] = None,
    min_cell: int = 96,
) -> Path:
    """Write a PNG grid: one row per image, the original first, then ``samples`` augmented versions.

    Args:
        augmentation: a preset name, a config, or a layer (anything ``keras_transfer.augmentation.get`` takes).
        images: array ``(N, H, W, C)`` (or ``(N, H, W)``) with values in [0, 255], C = 1 or 3.
        path: str or Path of the PNG to write (parent folders are created).
        samples: int >= 1. Augmented versions per image.
        max_images: int >= 1. Rows (the first ``max_images`` images).
        seed: int or None. Seed for a preset / config (ignored for a ready layer).
        min_cell: int. Small images are upscaled (nearest) by an integer factor to at least this size.

    Returns:
        pathlib.Path of the written PNG.

    Raises:
        InvalidInputError: images of the wrong shape, or none.
        InvalidConfigError: bad ``samples`` / ``max_images``, unknown preset or op.

    Examples:
    >>> import numpy as np
    >>> images = np.random.randint(0, 255, (2, 28, 28, 1)).astype("uint8")
    >>> path = keras_transfer.augmentation.preview("strong", images, "/tmp/augmentation.png", seed=0)
    >>> path.stat().st_size > 0
    True
    """
    from PIL import Image

    for name, value in (("samples", samples), ("max_images", max_images), ("min_cell", min_cell)):
        check_int(name, value, minimum=1, expected="a positive int")
    array = np.asarray(images)
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4 or array.shape[-1] not in (1, 3) or len(array) == 0:
        raise InvalidInputError(
            "preview needs a batch of images (N, height, width, channels) with 1 or 3 channels and N >= 1. "
            f"Received: shape {array.shape}."
        )
    layer = get(augmentation, seed=seed)
    batch = array[:max_images].astype("float32")
    columns = [batch] + [np.asarray(layer(batch, training=True)) for _ in range(samples)]
    grid = np.stack(columns, axis=1)  # (rows, cols, H, W, C)
    rows, cols, height, width, channels = grid.shape
    factor = max(1, -(-min_cell // max(height, width)))
    pad = 2
    cell_h, cell_w = height * factor + pad, width * factor + pad
    canvas = np.full((rows * cell_h + pad, cols * cell_w + pad, channels), 255, dtype=np.uint8)
    for r in range(rows):
        for c in range(cols):
            cell = np.clip(np.round(grid[r, c]), 0, 255).astype(np.uint8)
            cell = cell.repeat(factor, axis=0).repeat(factor, axis=1)
            top, left = pad + r * cell_h, pad + c * cell_w
            canvas[top:top + height * factor, left:left + width * factor] = cell
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "L" if channels == 1 else "RGB"
    Image.fromarray(canvas[..., 0] if channels == 1 else canvas, mode=mode).save(path, format="PNG")
    return path
