"""Load a folder of images, one sub-folder per class, into `Splits`."""

from __future__ import annotations

import logging
import os

import numpy as np

from keras_transfer.checks import is_int
from keras_transfer.data.arrays import _build_splits
from keras_transfer.data.splits import Splits
from keras_transfer.errors import InvalidConfigError, InvalidInputError

__all__ = ["decode_image", "image_folder", "IMAGE_EXTENSIONS", "is_image_size"]

logger = logging.getLogger(__name__)

#: File extensions read by `image_folder` (case-insensitive); other files are ignored.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
_ON_ERROR_VALUES = ("skip", "raise")
_GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F")


def is_image_size(value) -> bool:
    """Whether ``value`` is a ``(height, width)`` tuple or list of two positive ints (the loaders' ``image_size``).

    Args:
        value: object. Anything.

    Returns:
        bool.

    Examples:
    >>> from keras_transfer.data.image_folder import is_image_size
    >>> is_image_size((160, 160)), is_image_size((160, 0)), is_image_size((True, 2)), is_image_size(160)
    (True, False, False, False)
    """
    return isinstance(value, (tuple, list)) and len(value) == 2 and all(is_int(s) and s > 0 for s in value)


def _check_image_size(image_size):
    if image_size is None:
        return None
    if not is_image_size(image_size):
        raise InvalidConfigError(
            f"`image_size` must be a (height, width) tuple of two positive integers, "
            f"or None to keep the original size. Received: image_size={image_size!r}."
        )
    return int(image_size[0]), int(image_size[1])


def _list_class_files(root: str, class_dir: str):
    """Image files (by extension) under one class folder, recursively, sorted."""
    found = []
    for dirpath, dirnames, filenames in os.walk(os.path.join(root, class_dir)):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                found.append(os.path.join(dirpath, name))
    return found


def decode_image(path: str, image_size=None, channels=None):
    """Decodes one image file to a uint8 array ``(H, W, 1 or 3)``, as ``image_folder`` reads each file.

    The first frame of animated files, EXIF orientation applied, 16-bit and float grey scaled to ``[0, 255]``,
    transparency dropped. A JPEG much larger than ``image_size`` is decoded at a reduced scale first (libjpeg's
    DCT scaling, never below the target size), then resized.

    Args:
        path: str. The image file.
        image_size: tuple ``(height, width)`` or None. Resize (bilinear) to this size; None keeps the file's.
        channels: 1, 3 or None. Grey or RGB; None keeps grey files grey and everything else RGB.

    Returns:
        numpy.ndarray: uint8 ``(H, W, channels)``.

    Raises:
        OSError, ValueError: the file is not a readable image (Pillow's own errors).

    Examples:
    >>> import tempfile, os
    >>> from PIL import Image
    >>> path = os.path.join(tempfile.mkdtemp(), "grey.png")
    >>> Image.new("L", (5, 4), 7).save(path)
    >>> from keras_transfer.data.image_folder import decode_image
    >>> decode_image(path, image_size=(2, 3), channels=3).shape
    (2, 3, 3)
    """
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        im.seek(0)  # First frame of animated GIF / WebP.
        if image_size is not None and im.format == "JPEG":
            # Decode at 1/2, 1/4 or 1/8 scale where that still leaves every side >= the target's longer side
            # (whatever the EXIF rotation): a 4000x3000 photo for 224x224 decodes ~30x faster.
            side = max(image_size)
            im.draft(im.mode, (side, side))
        im.load()
        im = ImageOps.exif_transpose(im)
        mode = im.mode
        if mode.startswith("I;16") or mode in ("I", "F"):
            arr = np.asarray(im, dtype=np.float64)
            top = 65535.0 if mode.startswith("I;16") or arr.max() > 255 else 255.0
            im = Image.fromarray(np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8))
            mode = "L"
        want = channels
        if want is None:
            want = 1 if mode in _GREY_MODES else 3
        if want == 1:
            im = im.convert("L")
        else:
            if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in im.info):
                im = im.convert("RGBA")
            im = im.convert("RGB")
        if image_size is not None and im.size != (image_size[1], image_size[0]):
            im = im.resize((image_size[1], image_size[0]), Image.BILINEAR)
        arr = np.asarray(im, dtype=np.uint8)
    if arr.ndim == 2:
        arr = arr[..., None]
    return arr


def image_folder(path, *, image_size=(224, 224), on_error: str = "skip",
                 validation_size=0.0, test_size=0.0, n_per_class=None, seed=0,
                 channels=3) -> Splits:
    """Load images stored as `path/<class name>/<image file>` into `Splits`.

    Class names are the sub-folder names, sorted; class ids follow that order.
    Files are found recursively inside each class folder and read with Pillow:
    JPEG, PNG, BMP, GIF (first frame) and WebP, by extension (case-insensitive).
    Hidden files and folders and files with other extensions are ignored. EXIF
    orientation is applied. All images are decoded into memory.

    Files that cannot be decoded (corrupt, truncated, not an image) are skipped
    with `on_error="skip"`: they are listed as `(path, reason)` in
    `Splits.skipped` and a warning with their count is logged on the
    `keras_transfer.data.image_folder` logger. With `on_error="raise"` the first
    one raises.

    Args:
        path: `str` or path-like, the root folder.
        image_size: `tuple[int, int]` `(height, width)` to resize every image to
            (bilinear, aspect ratio not kept), or `None` to keep the original size
            (all images must then have the same size).
        on_error: `str`, `"skip"` or `"raise"`: what to do with unreadable files.
        validation_size: `float` fraction in [0, 1) or `int` count, stratified.
        test_size: `float` fraction in [0, 1) or `int` count, stratified.
        n_per_class: `int` or `None`, training examples kept per class (see
            `keras_transfer.data.from_arrays`).
        seed: `int` or `None`, the random seed of the split and the subsample.
        channels: `int` or `None`: 3 converts every image to RGB, 1 to grey; `None`
            keeps grey (C=1) when every image is grey and otherwise converts grey
            images to RGB (C=3).

    Returns:
        `keras_transfer.data.Splits` with `uint8` images `(N, H, W, C)`, `int64`
        labels, `class_names` = the sorted folder names and `skipped` = the
        unreadable files.

    Raises:
        keras_transfer.errors.InvalidConfigError: `on_error`, `channels` or
            `image_size` is not an allowed value (the message lists them), or split
            sizes are out of range.
        keras_transfer.errors.InvalidInputError: `path` does not exist or is not a
            directory; it has no class folders, a single class, or class folders
            without images (named); with `image_size=None`, two images differ in
            size (both files are named); with `on_error="raise"`, an unreadable file
            (named); a class with fewer than `n_per_class` training examples.

    Examples:

    ```python
    import keras_transfer

    # photos/cat/*.jpg, photos/dog/*.jpg
    splits = keras_transfer.data.image_folder(
        "photos", image_size=(160, 160), validation_size=0.2, seed=0)
    print(splits.class_names, splits.summary())
    if splits.skipped:
        print("unreadable:", splits.skipped)
    ```
    """
    _check_options(on_error, channels)
    image_size = _check_image_size(image_size)
    root = _root_folder(path)
    files_by_class = _class_files(root)
    class_dirs = list(files_by_class)
    images, labels, skipped = _decode_all(files_by_class, image_size, channels, on_error)
    _check_every_class_read(root, class_dirs, labels, skipped)
    if channels is None and any(a.shape[-1] == 3 for a in images):
        images = [np.repeat(a, 3, axis=-1) if a.shape[-1] == 1 else a for a in images]
    x = np.stack(images).astype(np.uint8, copy=False)
    return _build_splits(
        x, labels, class_dirs, validation_size=validation_size, test_size=test_size,
        n_per_class=n_per_class, seed=seed, source=f"image folder {root}", skipped=skipped,
    )


def _check_options(on_error, channels):
    if on_error not in _ON_ERROR_VALUES:
        raise InvalidConfigError(
            f"`on_error` must be one of {list(_ON_ERROR_VALUES)}. Received: "
            f"on_error={on_error!r}."
        )
    if channels not in (1, 3, None):
        raise InvalidConfigError(
            f"`channels` must be one of [1, 3, None] (grey, RGB, or grey only when "
            f"every image is grey). Received: channels={channels!r}."
        )


def _root_folder(path) -> str:
    """``path`` as a str, checked to be an existing directory."""
    try:
        root = os.fspath(path)
    except TypeError:
        raise TypeError(
            f"`path` must be a folder path (str or os.PathLike). Received: "
            f"path={path!r} of type {type(path).__name__}."
        ) from None
    if not os.path.isdir(root):
        raise _not_a_folder(root)
    return root


def _not_a_folder(root: str) -> InvalidInputError:
    """The error for a `path` that is missing, or a file (an archive gets its own hint)."""
    if not os.path.exists(root):
        return InvalidInputError(
            f"The image folder does not exist. Received: path={root!r} (absolute: "
            f"{os.path.abspath(root)!r}). Check the path and the working directory."
        )
    hint = ""
    if root.lower().endswith((".zip", ".tar", ".tar.gz", ".tgz")):
        hint = " It looks like an archive: extract it first."
    return InvalidInputError(
        f"`path` must be a directory with one sub-folder per class, but it is a "
        f"file. Received: path={root!r}.{hint}"
    )


def _class_files(root: str) -> dict:
    """Class name → its image files, classes sorted; at least 2 classes, each with images."""
    class_dirs = sorted(
        d for d in os.listdir(root)
        if not d.startswith(".") and os.path.isdir(os.path.join(root, d))
    )
    if not class_dirs:
        loose = [f for f in os.listdir(root)
                 if os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS]
        hint = (f" It holds {len(loose)} image file(s) directly: move them into one "
                f"sub-folder per class." if loose else "")
        raise InvalidInputError(
            f"The image folder has no class sub-folders; expected "
            f"path/<class name>/<images>. Received: path={root!r}.{hint}"
        )
    files_by_class = {c: _list_class_files(root, c) for c in class_dirs}
    empty = [c for c in class_dirs if not files_by_class[c]]
    if empty:
        raise InvalidInputError(
            f"{len(empty)} class folder(s) hold no image files "
            f"({', '.join(IMAGE_EXTENSIONS)}): {empty}. Received: path={root!r}. "
            f"Add images to them or remove the empty folders."
        )
    if len(class_dirs) < 2:
        raise InvalidInputError(
            f"Classification needs at least 2 classes, but the image folder has one "
            f"class folder: {class_dirs}. Received: path={root!r}. Add a folder per "
            f"class (path/<class name>/<images>)."
        )
    return files_by_class


def _decode_all(files_by_class: dict, image_size, channels, on_error):
    """Decodes every file: (images, int64 labels, skipped (path, reason) pairs).

    With channels=None, grey images are kept grey until an RGB one shows up (the caller maps them)."""
    images, labels, skipped = [], [], []
    first_file_of_size = {}
    for class_id, files in enumerate(files_by_class.values()):
        for file in files:
            try:
                arr = decode_image(file, image_size, channels)
            except Exception as e:  # Pillow raises many types on bad files.
                reason = f"{type(e).__name__}: {e}"
                if on_error == "raise":
                    raise InvalidInputError(
                        f"Could not read the image file {file!r} ({reason}). "
                        f"Received: on_error='raise'. Fix or delete the file, or pass "
                        f"on_error='skip' to skip unreadable files."
                    ) from e
                skipped.append((file, reason))
                continue
            if image_size is None:
                _check_same_size(first_file_of_size, arr.shape[:2], file)
            images.append(arr)
            labels.append(class_id)
    return images, np.asarray(labels, dtype=np.int64), skipped


def _check_same_size(first_file_of_size: dict, size, file):
    """With image_size=None every image must have the size of the first one read."""
    if first_file_of_size and size not in first_file_of_size:
        other_size, other_file = next(iter(first_file_of_size.items()))
        raise InvalidInputError(
            f"With `image_size=None` all images must have the same size, "
            f"but {other_file!r} is {other_size[0]}x{other_size[1]} "
            f"(height x width) and {file!r} is {size[0]}x{size[1]}. "
            f"Received: image_size=None. Pass image_size=(height, width) "
            f"to resize every image."
        )
    first_file_of_size.setdefault(size, file)


def _check_every_class_read(root, class_dirs, labels, skipped):
    """Logs the skipped files; raises when a class kept no readable image."""
    if skipped:
        logger.warning(
            "image_folder(%r): skipped %d unreadable file(s), e.g. %s (%s). The full "
            "list is in Splits.skipped.", root, len(skipped), skipped[0][0], skipped[0][1]
        )
    counts = np.bincount(labels, minlength=len(class_dirs))
    unreadable = [c for c, n in zip(class_dirs, counts) if n == 0]
    if unreadable:
        raise InvalidInputError(
            f"{len(unreadable)} class folder(s) have no readable image: {unreadable} "
            f"(all their files were skipped as unreadable; {len(skipped)} skipped in "
            f"total, e.g. {skipped[0][0]!r}: {skipped[0][1]}). Received: path={root!r}."
        )
