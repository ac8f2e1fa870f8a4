"""`load_unlabeled`: the recipe's ``data.unlabeled`` (target inputs without labels, for ``adapt``) as an array."""

import os

import numpy as np

from keras_transfer.data.image_folder import IMAGE_EXTENSIONS, decode_image
from keras_transfer.errors import InvalidConfigError

__all__ = ["load_unlabeled"]


def load_unlabeled(path: str, image_size=None, channels=None) -> np.ndarray:
    """Unlabelled target inputs from a ``.npz`` file (its array ``x``) or a folder of images (read recursively,
    sorted; sub-folder names are ignored: they are not labels here).

    Args:
        path: str. A ``.npz`` file or a folder.
        image_size: ``(height, width)`` or None. Images are decoded at this size (None: the files' own; they must
            then share one size).
        channels: 1, 3 or None. As ``keras_transfer.data.image_folder.decode_image``.

    Returns:
        numpy.ndarray of inputs.

    Raises:
        InvalidConfigError: a missing path, an ``.npz`` without ``x``, or a folder without images.

    Examples:
    >>> import os, tempfile
    >>> import numpy as np
    >>> from keras_transfer.recipe.unlabeled import load_unlabeled
    >>> path = os.path.join(tempfile.mkdtemp(), "target.npz")
    >>> np.savez(path, x=np.zeros((3, 8, 8, 1), "uint8"))
    >>> load_unlabeled(path).shape
    (3, 8, 8, 1)
    """
    path = os.fspath(path)
    if os.path.isfile(path) and path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as data:
            if "x" not in data.files:
                raise InvalidConfigError(
                    f"data.unlabeled: the .npz file has no array 'x'. Received: {path!r} with arrays "
                    f"{sorted(data.files)}. Save the target inputs as x (np.savez(path, x=inputs)).")
            return np.asarray(data["x"])
    if os.path.isdir(path):
        files = []
        for folder, subfolders, names in os.walk(path):
            subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
            files += [os.path.join(folder, n) for n in sorted(names)
                      if os.path.splitext(n)[1].lower() in IMAGE_EXTENSIONS]
        if not files:
            raise InvalidConfigError(f"data.unlabeled: no image files ({', '.join(IMAGE_EXTENSIONS)}) under the "
                                     f"folder. Received: {path!r}. Point it at the target images.")
        images = [decode_image(f, image_size=image_size, channels=channels) for f in files]
        if len({image.shape for image in images}) > 1:
            raise InvalidConfigError(
                f"data.unlabeled: the images have different sizes and no image_size was given. Received: {path!r}. "
                "Set backbone.input_size (the images are then decoded at it).")
        return np.stack(images)
    raise InvalidConfigError(f"data.unlabeled must be a .npz file or a folder of images. Received: {path!r}. "
                             "Give an existing path.")
