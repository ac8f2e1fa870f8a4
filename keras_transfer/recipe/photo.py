"""The photo recipe: the settings ``keras-transfer fit --data DIR`` chooses when the data are photos.

Photos are images read from a folder (or arrays) whose typical shorter side is at least the backbone's native
working size (224 for MobileNetV2 / EfficientNet-Lite0, 240 / 260 for Lite1 / Lite2): real camera or scanner
pictures, grey or RGB, not thumbnails. For them the recipe sets

- the working size: the backbone's native size (its ImageNet weights were trained there; photos have the pixels);
- augmentation: a random resized crop (area 35-100 %, aspect 3/4-4/3) and a horizontal flip, the two
  augmentations every ImageNet recipe trains with, inside the model so exports stay free of random ops;
- batch size 32 and 5 head + 5 fine-tune epochs (augmented data need more passes than the 3 + 3 of the plain
  recipe; the fine-tune stage keeps the default rate, head rate / 10, with BatchNorm frozen).

Small images (sklearn digits 8×8, MNIST 28×28, a 96×96 task under a 224 backbone) are not photos: nothing
changes for them. README.md ("Photo folders") gives the measurement behind each choice
(``python -m benchmarks photo_recipe``).
"""

import dataclasses
import os
from typing import Optional, Tuple

import numpy as np

__all__ = ["PHOTO_AUGMENTATION", "PhotoRecipe", "image_statistics", "photo_recipe"]

#: The photo recipe's augmentation (an ``keras_transfer.augmentation.get`` config).
PHOTO_AUGMENTATION = [{"random_resized_crop": {"scale": [0.35, 1.0]}}, {"flip": "horizontal"}]
_PHOTO_BATCH_SIZE = 32
_PHOTO_EPOCHS = (5, 5)
_SAMPLE = 64  # image headers read to describe a folder


@dataclasses.dataclass(frozen=True)
class PhotoRecipe:
    """What the photo recipe decided for one data source and backbone.

    Attributes:
        is_photo: bool. Whether the data are photos (then the settings below apply).
        reason: str. Why, in one sentence (printed by ``keras-transfer fit``).
        input_size: tuple ``(height, width)`` or None. The working size.
        augmentation: list or None. The augmentation config.
        batch_size: int or None.
        head_epochs: int or None.
        fine_tune_epochs: int or None.
    """

    is_photo: bool
    reason: str
    input_size: Optional[Tuple[int, int]] = None
    augmentation: Optional[list] = None
    batch_size: Optional[int] = None
    head_epochs: Optional[int] = None
    fine_tune_epochs: Optional[int] = None

    def config(self) -> dict:
        """The recipe-config sections the photo recipe sets (empty when the data are not photos).

        Returns:
            dict: ``backbone.input_size``, ``augmentation``, ``optimizer.batch_size`` and ``stages`` epochs.

        Examples:
        >>> from keras_transfer.recipe.photo import photo_recipe
        >>> photo_recipe(np.zeros((4, 28, 28, 1), "uint8"), "mobilenet_v2").config()
        {}
        """
        if not self.is_photo:
            return {}
        return {
            "backbone": {"input_size": list(self.input_size)},
            "augmentation": [dict(op) for op in self.augmentation],
            "optimizer": {"batch_size": self.batch_size},
            "stages": {"head_epochs": self.head_epochs, "fine_tune_epochs": self.fine_tune_epochs},
        }


def _folder_files(path, limit):
    from keras_transfer.data.image_folder import IMAGE_EXTENSIONS

    files = []
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        files.extend(os.path.join(dirpath, f) for f in sorted(filenames)
                     if not f.startswith(".") and os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS)
    if len(files) > limit:  # spread over the classes, not the first class folder only
        files = [files[i] for i in np.linspace(0, len(files) - 1, limit).astype(int)]
    return files


def image_statistics(data, sample: int = _SAMPLE) -> dict:
    """The median shorter side and the channel count of a folder's images (headers only) or an image array.

    Args:
        data: str / os.PathLike (a folder of class sub-folders) or an array ``(N, H, W, C)``.
        sample: int. At most this many file headers are read, spread over the folder.

    Returns:
        dict: ``{"short_side": int, "channels": 1 or 3, "images": int}`` (``images``: how many were looked at;
        0 when none could be read).

    Examples:
    >>> from keras_transfer.recipe.photo import image_statistics
    >>> image_statistics(np.zeros((3, 300, 400, 1), "uint8"))
    {'short_side': 300, 'channels': 1, 'images': 3}
    """
    if isinstance(data, (str, os.PathLike)):
        from PIL import Image

        sides, grey = [], []
        for file in _folder_files(os.fspath(data), sample):
            try:
                with Image.open(file) as im:
                    sides.append(min(im.size))
                    grey.append(im.mode in ("1", "L", "LA", "I", "I;16", "F"))
            except Exception:  # noqa: BLE001 - unreadable files are the loader's business
                continue
        if not sides:
            return {"short_side": 0, "channels": 3, "images": 0}
        return {"short_side": int(np.median(sides)), "channels": 1 if all(grey) else 3, "images": len(sides)}
    shape = np.shape(data)
    if len(shape) != 4:
        return {"short_side": 0, "channels": 3, "images": 0}
    return {"short_side": int(min(shape[1], shape[2])), "channels": int(shape[3]), "images": int(shape[0])}


def photo_recipe(data, backbone: str = "mobilenet_v2") -> PhotoRecipe:
    """Decide whether ``data`` are photos for ``backbone`` and, if so, the photo recipe's settings.

    Args:
        data: str / os.PathLike (an image folder) or an image array ``(N, H, W, C)``.
        backbone: str. A registered image backbone name (its native size is the working size).

    Returns:
        PhotoRecipe.

    Examples:
    >>> from keras_transfer.recipe.photo import photo_recipe
    >>> photo_recipe(np.zeros((2, 300, 300, 1), "uint8"), "mobilenet_v2").input_size
    (224, 224)
    >>> photo_recipe(np.zeros((2, 28, 28, 1), "uint8"), "mobilenet_v2").reason
    "not photos: the images are 28 px on their shorter side, smaller than mobilenet_v2's working size 224 px"
    """
    from keras_transfer.backbones import get_spec

    spec = get_spec(backbone)
    size = getattr(spec, "default_size", None)
    if getattr(spec, "input_kind", "image") != "image" or not size:
        return PhotoRecipe(False, f"not photos: {backbone} is not an image backbone")
    stats = image_statistics(data)
    if stats["images"] == 0:
        return PhotoRecipe(False, "not photos: no readable image")
    if stats["short_side"] < size:
        return PhotoRecipe(False, f"not photos: the images are {stats['short_side']} px on their shorter side, "
                                  f"smaller than {backbone}'s working size {size} px")
    return PhotoRecipe(
        True,
        f"photos: {stats['short_side']} px on their shorter side (median of {stats['images']}), at least "
        f"{backbone}'s working size {size} px",
        input_size=(size, size), augmentation=[dict(op) for op in PHOTO_AUGMENTATION],
        batch_size=_PHOTO_BATCH_SIZE, head_epochs=_PHOTO_EPOCHS[0], fine_tune_epochs=_PHOTO_EPOCHS[1],
    )
