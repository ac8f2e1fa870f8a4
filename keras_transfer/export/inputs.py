"""Inputs for the command line: image / text / WAV files for ``predict``, labelled data for ``export`` and
``evaluate``, fitted to an exported model's input spec."""

import os
import wave
from typing import List, Optional, Tuple

import numpy as np

from keras_transfer.data import image_folder, list_datasets, load_dataset
from keras_transfer.data.image_folder import IMAGE_EXTENSIONS
from keras_transfer.data.image_folder import decode_image  # data's reader: the same decoding as image_folder
from keras_transfer.errors import InvalidInputError

__all__ = ["IMAGE_SUFFIXES", "fit_images", "load_labelled_data", "read_images", "read_text_lines", "read_wav"]

IMAGE_SUFFIXES = IMAGE_EXTENSIONS  # the files keras_transfer.data.image_folder reads


def _spec_size_and_channels(input_shape):
    """``((height, width) or None, channels or None)`` of a model input shape ``(H, W, C)`` (entries may be None)."""
    if input_shape is None:
        return None, None
    size = None
    if len(input_shape) >= 2 and input_shape[0] is not None and input_shape[1] is not None:
        size = (int(input_shape[0]), int(input_shape[1]))
    channels = input_shape[-1] if len(input_shape) == 3 and input_shape[-1] in (1, 3) else None
    return size, channels


def read_images(paths, input_shape=None, resize: bool = False) -> List[np.ndarray]:
    """Read image files as uint8 arrays ``(H, W, C)`` fitting ``input_shape``, with ``keras_transfer.data``'s
    image reader (the one ``image_folder`` uses: EXIF orientation, first frame, 16-bit grey scaled).

    Channels are converted to the model's (grey ↔ RGB, alpha dropped); without a channel count in
    ``input_shape``, grey files stay grey. A fixed height / width that differs from the image's raises unless
    ``resize`` (bilinear).

    Args:
        paths: list of str. Image files (PNG, JPEG, BMP, GIF, WebP).
        input_shape: tuple or None. ``(H, W, C)`` of the model (entries may be None); None: any size.
        resize: bool. Resize images whose size differs from ``input_shape``'s.

    Returns:
        list of np.ndarray: uint8 arrays ``(H, W, C)``.

    Raises:
        keras_transfer.errors.InvalidInputError: unreadable file, or wrong size without ``resize``.

    Examples:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from PIL import Image
    >>> from keras_transfer.export.inputs import read_images
    >>> path = Path(tempfile.mkdtemp()) / "grey.png"
    >>> Image.new("L", (12, 10)).save(path)
    >>> [image.shape for image in read_images([path], (28, 28, 3), resize=True)]
    [(28, 28, 3)]
    """
    size, channels = _spec_size_and_channels(input_shape)
    images = []
    for path in paths:
        try:
            array = decode_image(path, size if resize else None, channels)
        except OSError as error:  # Pillow's UnidentifiedImageError included
            raise InvalidInputError(f"Cannot read this image. Received: {path!r} ({error}). "
                                    "Pass PNG, JPEG, BMP, GIF or WebP files.") from error
        if size is not None and tuple(array.shape[:2]) != size:
            raise InvalidInputError(
                f"The model takes {size[0]}x{size[1]} images. Received: {path!r} of size "
                f"{array.shape[0]}x{array.shape[1]} (height x width). Pass --resize to resize "
                "inputs, or export the model with input_shape matching your images."
            )
        images.append(array)
    return images


def read_text_lines(path) -> List[str]:
    """The non-empty lines of a UTF-8 text file: one model input each.

    Args:
        path: str.

    Returns:
        list of str.
    """
    with open(path, encoding="utf-8") as handle:
        return [line.rstrip("\n") for line in handle if line.strip()]


def read_wav(path) -> Tuple[np.ndarray, int]:
    """A PCM WAV file as mono float32 samples in [-1, 1] and its sample rate.

    Args:
        path: str. 8-, 16- or 32-bit integer PCM.

    Returns:
        tuple: ``(samples, sample_rate)``.

    Raises:
        keras_transfer.errors.InvalidInputError: not a PCM WAV file.

    Examples:
    >>> samples, rate = keras_transfer.export.inputs.read_wav("clip.wav")  # doctest: +SKIP
    """
    try:
        with wave.open(str(path), "rb") as handle:
            width, channels, rate = handle.getsampwidth(), handle.getnchannels(), handle.getframerate()
            frames = handle.readframes(handle.getnframes())
    except (wave.Error, EOFError, OSError) as error:
        raise InvalidInputError(f"Cannot read this WAV file. Received: {str(path)!r} ({error}). "
                                "Pass 8-, 16- or 32-bit integer PCM WAV files.") from error
    dtypes = {1: ("uint8", 128.0, 128.0), 2: ("<i2", 0.0, 32768.0), 4: ("<i4", 0.0, 2147483648.0)}
    if width not in dtypes:
        raise InvalidInputError(f"Unsupported WAV sample width. Received: {width * 8}-bit samples in {str(path)!r}. "
                                "Convert it to 16-bit PCM.")
    dtype, offset, scale = dtypes[width]
    samples = (np.frombuffer(frames, dtype=dtype).astype("float32") - offset) / scale
    samples = samples.reshape(-1, channels).mean(axis=1)
    return samples.astype("float32"), rate


def fit_images(x, input_shape=None, resize: bool = False) -> np.ndarray:
    """Fit a batch of images ``(n, H, W, C)`` to a model's input shape (channels always; size with ``resize``).

    Args:
        x: uint8 array.
        input_shape: ``(H, W, C)`` or None (anything goes).
        resize: bool. Bilinear resize when the size differs.

    Returns:
        array.

    Raises:
        keras_transfer.errors.InvalidInputError: the size differs and ``resize`` is False.
    """
    x = np.asarray(x)
    if input_shape is None or len(input_shape) != 3 or x.ndim != 4:
        return x
    channels = input_shape[-1]
    if channels == 3 and x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    elif channels == 1 and x.shape[-1] == 3:
        x = np.round(x.astype("float32") @ np.array([0.299, 0.587, 0.114], "float32"))[..., None].astype(x.dtype)
    height, width = input_shape[0], input_shape[1]
    if (height is not None and height != x.shape[1]) or (width is not None and width != x.shape[2]):
        if not resize:
            raise InvalidInputError(
                f"The model takes {height}x{width} images. Received: images of size {x.shape[1]}x{x.shape[2]}. "
                "Pass --resize to resize them, or export the model with a matching input_shape."
            )
        import tensorflow as tf

        x = tf.image.resize(x, (height, width), method="bilinear").numpy()
        x = np.clip(np.round(x), 0, 255).astype("uint8")
    return x


def load_labelled_data(source: str, split: str = "test", limit: Optional[int] = None, seed: int = 0):
    """Labelled images from an offline dataset name, an ``.npz`` file (``x``, ``y``) or an image folder.

    Args:
        source: str. A name from ``keras_transfer.data.list_datasets()``, a ``.npz`` file with arrays ``x``
            and ``y`` (and optionally ``class_names``), or a folder ``<class>/<image>`` (all images used).
        split: str. ``"train"``, ``"validation"`` or ``"test"`` for a dataset name.
        limit: int or None. Keep the first ``limit`` examples.
        seed: int. Split seed of a dataset name.

    Returns:
        tuple: ``(x, y, class_names)`` (class names may be None for ``.npz``).

    Raises:
        keras_transfer.errors.InvalidInputError: unknown source or split.

    Examples:
    >>> x, y, names = keras_transfer.export.inputs.load_labelled_data("animal_mnist", "test", limit=100)
    >>> x.shape, names[0]
    ((100, 28, 28, 1), 'bear')
    """
    class_names = None
    if source in list_datasets():
        splits = load_dataset(source, seed=seed)
        if split not in ("train", "validation", "test") or getattr(splits, split) is None:
            raise InvalidInputError(f"Unknown split. Received: split={split!r}. Use 'train', 'validation' or 'test'.")
        (x, y), class_names = getattr(splits, split), splits.class_names
    elif str(source).endswith(".npz") and os.path.isfile(source):
        with np.load(source, allow_pickle=False) as data:
            if "x" not in data:
                raise InvalidInputError(f"The .npz file needs arrays 'x' and 'y'. Received: {sorted(data.files)} "
                                        f"in {source!r}.")
            x, y = data["x"], data["y"] if "y" in data else None
            class_names = [str(c) for c in data["class_names"]] if "class_names" in data else None
    elif os.path.isdir(source):
        splits = image_folder(source, image_size=None, channels=None)
        (x, y), class_names = splits.train, splits.class_names
    else:
        raise InvalidInputError(
            f"Unknown data source. Received: {source!r}. Use a dataset name ({', '.join(list_datasets())}), a .npz "
            "file with arrays x and y, or a folder of class sub-folders of images."
        )
    if limit is not None:
        x = x[:limit]
        y = None if y is None else y[:limit]
    return x, y, class_names
