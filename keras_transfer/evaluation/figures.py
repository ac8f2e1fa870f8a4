"""Figure helpers for the evaluation PNGs: a standalone Matplotlib figure and its PNG bytes or file."""

import io
import os
from typing import Optional

import numpy as np

from keras_transfer.atomic import write_file
from keras_transfer.errors import InvalidConfigError

__all__ = ["figure", "save_png", "to_uint8_image"]


def figure(**kwargs):
    """A standalone ``matplotlib.figure.Figure`` and its axes, without pyplot (a notebook's backend and pyplot's
    figure list are left alone).

    Args:
        **kwargs: ``shape=(rows, cols)``, ``squeeze``, ``gridspec_kw`` and ``Figure`` arguments (``figsize``).

    Returns:
        tuple ``(figure, axes)``.

    Raises:
        InvalidConfigError: matplotlib is not installed.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise InvalidConfigError(
            "Evaluation figures need matplotlib. Received: ImportError. Install it with pip install "
            "'keras-transfer[plot]'."
        ) from error
    nrows, ncols = kwargs.pop("shape", (1, 1))
    squeeze, gridspec = kwargs.pop("squeeze", True), kwargs.pop("gridspec_kw", None)
    result = Figure(**kwargs)
    return result, result.subplots(nrows, ncols, squeeze=squeeze, gridspec_kw=gridspec)


def save_png(fig, path: Optional[str] = None, dpi: int = 100):
    """A figure as PNG: bytes when ``path`` is None, else written atomically to ``path`` (returned).

    Args:
        fig: matplotlib Figure.
        path: str or None.
        dpi: int.

    Returns:
        bytes or str.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    data = buffer.getvalue()
    if path is None:
        return data
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_file(path, data)
    return path


def to_uint8_image(image) -> np.ndarray:
    """A raw image ``(H, W, C)`` in [0, 255] as uint8 RGB ``(H, W, 3)`` for display.

    Args:
        image: array.

    Returns:
        uint8 array.
    """
    image = np.clip(np.round(np.asarray(image, dtype="float32")), 0, 255).astype("uint8")
    if image.ndim == 2:
        image = image[..., None]
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image[..., :3]
