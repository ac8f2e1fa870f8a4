"""Stream a folder of images, one sub-folder per class, as ``tf.data`` pipelines over file paths.

``image_folder`` decodes every file into one NumPy array before training; that is right for small folders and
wrong for tens of thousands of full-resolution photos. ``image_stream`` keeps only the file paths and labels in
memory:

- the stratified train / validation / test split and ``n_per_class`` are drawn over the paths, with exactly the
  draws ``image_folder`` makes, so a clean folder gives the same images in the same order both ways;
- each split is a ``tf.data`` pipeline: indices (shuffled each epoch for training) → parallel decode and resize
  (``image_folder.decode_image``, Pillow, in tf.data's thread pool: Pillow releases the GIL while decoding and
  resizing, and it reads what TensorFlow cannot: EXIF rotation, 16-bit grey, palette transparency, BMP, WebP) →
  batches of uint8 ``(batch, height, width, channels)`` with int64 labels → prefetch;
- files that cannot be decoded are skipped and counted (``ImageStream.skipped``, with a warning for each) instead
  of stopping training, as ``image_folder`` does;
- with ``cache_dir``, the first pass stores every decoded, resized image in an ``ImageCache`` entry keyed by the
  files, sizes and modification times (as the feature cache keys its entries); later passes, in this process or
  the next, read those bytes back and decode nothing.

Memory stays flat in the number of photos: the pipeline holds the index buffer, the images being decoded and two
prefetched batches. The datasets feed ``fine_tune`` / ``model.fit`` / ``evaluate`` / ``predict`` and
``features.extract`` as any batched ``tf.data.Dataset`` does.
"""

from __future__ import annotations

import logging
import os
import threading

import numpy as np

from keras_transfer.data.arrays import _per_class_indices, _resolve_size, _stratified_split_indices
from keras_transfer.data.image_cache import ImageCache
from keras_transfer.data.image_folder import (
    _check_image_size,
    _check_options,
    _class_files,
    _root_folder,
    decode_image,
)
from keras_transfer.errors import InvalidConfigError, InvalidInputError

__all__ = ["ImageStream", "StreamedImages", "file_dataset", "image_stream"]

logger = logging.getLogger(__name__)

_SPLITS = ("train", "validation", "test")
_PREFETCH_BATCHES = 2


class _Skipped(list):
    """The ``(path, reason)`` list of unreadable files, appended to from tf.data's threads, each path once."""

    def __init__(self):
        super().__init__()
        self._seen = set()
        self._lock = threading.Lock()

    def add(self, path, reason, where):
        with self._lock:
            if path in self._seen:
                return
            self._seen.add(path)
            self.append((path, reason))
            count = len(self)
        logger.warning("%s: skipped unreadable file %s (%s); %d skipped so far (ImageStream.skipped lists them).",
                       where, path, reason, count)


def _grey_only(paths) -> bool:
    """Whether every file's header says grey (Pillow reads headers only)."""
    from PIL import Image

    for path in paths:
        try:
            with Image.open(path) as im:
                if im.mode not in ("1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
                    return False
        except Exception:  # noqa: BLE001 - unreadable files are skipped when decoded
            continue
    return True


def file_dataset(paths, labels=None, *, image_size=(224, 224), channels=3, batch_size=32, shuffle=False,
                 seed=0, cache_dir=None, on_error="skip", skipped=None, where="file_dataset"):
    """A batched ``tf.data.Dataset`` decoding and resizing image files in parallel.

    Args:
        paths: sequence of str. The image files, in order.
        labels: array ``(N,)`` or None. With labels the dataset yields ``(images, labels)`` batches, else images.
        image_size: tuple ``(height, width)``. Every image is resized to it (bilinear, as ``image_folder``).
        channels: 1 or 3. Grey or RGB.
        batch_size: int. Images per batch (the last batch may be smaller).
        shuffle: bool. A new order each pass (seeded by ``seed``), else file order.
        seed: int. The shuffling seed.
        cache_dir: str, os.PathLike or None. Keep decoded images on disk (``ImageCache``) from the first pass.
        on_error: ``"skip"`` (drop and count unreadable files) or ``"raise"`` (fail on the first one).
        skipped: list or None. Where ``(path, reason)`` of skipped files are appended (each path once).
        where: str. Names the caller in warnings.

    Returns:
        tf.data.Dataset: uint8 images ``(batch, height, width, channels)`` (and int64 labels ``(batch,)``).

    Raises:
        keras_transfer.errors.InvalidConfigError: bad ``image_size``, ``channels``, ``on_error`` or
            ``batch_size``.

    Examples:
    >>> import tempfile, os
    >>> from PIL import Image
    >>> from keras_transfer.data.image_stream import file_dataset
    >>> folder = tempfile.mkdtemp()
    >>> paths = [os.path.join(folder, f"{i}.png") for i in range(3)]
    >>> for i, p in enumerate(paths): Image.new("RGB", (40 + 10 * i, 30), (i, i, i)).save(p)
    >>> [tuple(b.shape) for b in file_dataset(paths, image_size=(16, 16), batch_size=2)]
    [(2, 16, 16, 3), (1, 16, 16, 3)]
    """
    import tensorflow as tf

    _check_options(on_error, channels)
    image_size = _check_image_size(image_size)
    if image_size is None or channels is None:
        raise InvalidConfigError(
            "A streamed dataset needs one image size and channel count for every batch. Received: "
            f"image_size={image_size!r}, channels={channels!r}. Pass image_size=(height, width) and channels=1 or 3."
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InvalidConfigError(f"`batch_size` must be a positive integer. Received: batch_size={batch_size!r}.")
    paths = [os.fspath(p) for p in paths]
    skipped = _Skipped() if skipped is None else skipped
    cache = ImageCache(cache_dir, paths, image_size, channels) if cache_dir is not None else None
    shape = (image_size[0], image_size[1], channels)
    blank = np.zeros(shape, np.uint8)

    def skip(position, reason):
        if isinstance(skipped, _Skipped):
            skipped.add(paths[position], reason, where)
        elif (paths[position], reason) not in skipped:
            skipped.append((paths[position], reason))

    def load(position):
        position = int(position)
        if cache is not None:
            if cache.has(position):
                return cache.read(position), True
            if position in cache.unreadable:
                skip(position, cache.unreadable[position])
                return blank, False
        try:
            image = decode_image(paths[position], image_size, channels)
        except Exception as error:  # noqa: BLE001 - Pillow raises many types on bad files
            reason = f"{type(error).__name__}: {error}"
            if on_error == "raise":
                raise InvalidInputError(
                    f"Could not read the image file {paths[position]!r} ({reason}). Received: on_error='raise'. "
                    "Fix or delete the file, or pass on_error='skip' to skip unreadable files."
                ) from error
            if cache is not None:
                cache.mark_unreadable(position, reason)
            skip(position, reason)
            return blank, False
        if cache is not None:
            cache.write(position, image)
        return image, True

    def decode(position):
        image, ok = tf.numpy_function(load, [position], (tf.uint8, tf.bool), stateful=False)
        image.set_shape(shape)
        ok.set_shape(())
        return position, image, ok

    n = len(paths)
    indices = tf.data.Dataset.range(n)
    if shuffle and n > 1:
        indices = indices.shuffle(n, seed=int(seed), reshuffle_each_iteration=True)
    dataset = indices.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    dataset = dataset.filter(lambda position, image, ok: ok)
    if labels is None:
        dataset = dataset.map(lambda position, image, ok: image)
    else:
        label_tensor = tf.constant(np.asarray(labels, dtype=np.int64))
        dataset = dataset.map(lambda position, image, ok: (image, tf.gather(label_tensor, position)))
    dataset = dataset.batch(int(batch_size)).prefetch(_PREFETCH_BATCHES)
    dataset.image_cache = cache  # kept alive with the dataset (and inspectable)
    return dataset


class StreamedImages:
    """One split's images as a lazy, array-like view: ``len``, ``shape``, ``dtype``, and slicing decodes only the
    files asked for. ``Splits`` built by ``ImageStream.splits()`` hold these as ``x``.

    ``dataset()`` gives the split's streaming pipeline. A file that cannot be decoded reads as zeros when sliced
    (so slices stay aligned with the labels) and is skipped by the pipeline.

    Args:
        stream: ImageStream.
        split: ``"train"``, ``"validation"`` or ``"test"``.
    """

    def __init__(self, stream, split):
        self.stream, self.split = stream, split
        self.files = stream.files(split)
        self.dtype = np.dtype(np.uint8)
        self.ndim = 4

    @property
    def shape(self):
        """tuple: ``(N, height, width, channels)``."""
        return (len(self.files),) + tuple(self.stream.image_size) + (self.stream.channels,)

    def __len__(self):
        return len(self.files)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            return self[np.asarray([index])][0]
        positions = np.arange(len(self.files))[index]
        images = np.zeros((len(positions),) + self.shape[1:], np.uint8)
        for row, position in enumerate(positions):
            try:
                images[row] = decode_image(self.files[position], self.stream.image_size, self.stream.channels)
            except Exception as error:  # noqa: BLE001 - Pillow raises many types on bad files
                self.stream.skipped.add(self.files[position], f"{type(error).__name__}: {error}",
                                        f"image_stream({self.stream.source!r})")
        return images

    def dataset(self, batch_size=None, shuffle=None):
        """The split's pipeline of ``(images, labels)`` batches (``ImageStream.dataset``)."""
        return self.stream.dataset(self.split, batch_size=batch_size, shuffle=shuffle)

    def __repr__(self):
        return f"StreamedImages({self.split}, shape={self.shape})"


class ImageStream:
    """A folder of images as streamed splits: file lists in memory, pixels decoded batch by batch.

    Built by :func:`image_stream`. ``train`` / ``validation`` / ``test`` are batched ``tf.data.Dataset`` objects of
    ``(uint8 images, int64 labels)`` (``train`` reshuffled each pass), or None for an empty split.

    Attributes:
        class_names: list of str. The sorted class folder names; class ids follow this order.
        skipped: list of ``(path, reason)``. Unreadable files met so far (it grows during the first pass).
        source: str. Where the data came from.
        image_size: tuple ``(height, width)``.
        channels: 1 or 3.
        batch_size: int.
    """

    def __init__(self, files, labels, split_indices, class_names, *, image_size, channels, batch_size, seed,
                 cache_dir, on_error, shuffle, source):
        self._files, self._labels, self._split_indices = files, labels, split_indices
        self.class_names = list(class_names)
        self.image_size, self.channels, self.batch_size = image_size, channels, batch_size
        self.seed, self.cache_dir, self.on_error, self.shuffle, self.source = seed, cache_dir, on_error, shuffle, source
        self.skipped = _Skipped()
        self._datasets = {}

    @property
    def num_classes(self) -> int:
        """int: the number of classes."""
        return len(self.class_names)

    def files(self, split: str = "train") -> list:
        """The files of one split, in dataset order before shuffling."""
        return [self._files[i] for i in self._split_indices[self._check_split(split)]]

    def labels(self, split: str = "train") -> np.ndarray:
        """The int64 labels of one split's files (unreadable files included until they are skipped)."""
        return self._labels[self._split_indices[self._check_split(split)]]

    def _check_split(self, split):
        if split not in _SPLITS:
            raise InvalidConfigError(f"Unknown split. Received: split={split!r}. Use 'train', 'validation' or 'test'.")
        return split

    def dataset(self, split: str = "train", *, batch_size=None, shuffle=None):
        """One split as a batched ``tf.data.Dataset`` of ``(images, labels)``, or None when the split is empty.

        Args:
            split: ``"train"``, ``"validation"`` or ``"test"``.
            batch_size: int or None (the stream's).
            shuffle: bool or None. None: the training split is reshuffled each pass (when the stream shuffles),
                the others keep file order. ``features.extract`` needs ``shuffle=False`` to find its cache again.

        Returns:
            tf.data.Dataset or None.
        """
        self._check_split(split)
        if not len(self._split_indices[split]):
            return None
        shuffle = (self.shuffle and split == "train") if shuffle is None else bool(shuffle)
        batch_size = self.batch_size if batch_size is None else batch_size
        key = (split, batch_size, shuffle)
        if key not in self._datasets:
            cache_dir = None if self.cache_dir is None else os.path.join(os.fspath(self.cache_dir), split)
            self._datasets[key] = file_dataset(
                self.files(split), self.labels(split), image_size=self.image_size, channels=self.channels,
                batch_size=batch_size, shuffle=shuffle, seed=self.seed, cache_dir=cache_dir, on_error=self.on_error,
                skipped=self.skipped, where=f"image_stream({self.source!r})",
            )
        return self._datasets[key]

    @property
    def train(self):
        """tf.data.Dataset or None: the training split (reshuffled each pass)."""
        return self.dataset("train")

    @property
    def validation(self):
        """tf.data.Dataset or None: the validation split."""
        return self.dataset("validation")

    @property
    def test(self):
        """tf.data.Dataset or None: the test split."""
        return self.dataset("test")

    def splits(self):
        """The stream as a ``Splits`` whose ``x`` are ``StreamedImages`` (lazy) and ``y`` the int64 labels.

        Returns:
            keras_transfer.data.Splits.
        """
        from keras_transfer.data.splits import Splits

        parts = {split: (StreamedImages(self, split), self.labels(split)) if len(self._split_indices[split]) else None
                 for split in _SPLITS}
        return Splits(**parts, class_names=self.class_names, skipped=self.skipped, source=f"streamed {self.source}")

    def load(self, split: str = "train"):
        """One split decoded into memory, ``(x, y)`` NumPy arrays in file order (for small splits).

        Returns:
            tuple: uint8 images ``(N, H, W, C)`` and int64 labels ``(N,)``; unreadable files are left out.
        """
        dataset = self.dataset(split, shuffle=False)
        shape = (0,) + tuple(self.image_size) + (self.channels,)
        if dataset is None:
            return np.zeros(shape, np.uint8), np.zeros((0,), np.int64)
        xs, ys = [], []
        for x, y in dataset.as_numpy_iterator():
            xs.append(x)
            ys.append(y)
        return (np.concatenate(xs) if xs else np.zeros(shape, np.uint8),
                np.concatenate(ys) if ys else np.zeros((0,), np.int64))

    def summary(self) -> str:
        """A few lines: classes, files per split, image size, skipped files so far."""
        lines = [f"Streamed image folder {self.source}: {self.num_classes} classes, "
                 f"{self.image_size[0]}x{self.image_size[1]}x{self.channels}, batches of {self.batch_size}"]
        for split in _SPLITS:
            labels = self.labels(split)
            counts = np.bincount(labels, minlength=self.num_classes) if len(labels) else None
            per_class = f", per class min {counts.min()} / max {counts.max()}" if counts is not None else ""
            lines.append(f"  {split:<10} {len(labels):>7} files{per_class}")
        if self.skipped:
            lines.append(f"  skipped {len(self.skipped)} unreadable file(s) so far, e.g. {self.skipped[0][0]}")
        return "\n".join(lines)

    def __repr__(self):
        sizes = ", ".join(f"{s}={len(self._split_indices[s])}" for s in _SPLITS)
        return f"ImageStream({sizes}, num_classes={self.num_classes})"


def image_stream(path, *, image_size=(224, 224), channels=3, on_error: str = "skip", validation_size=0.0,
                 test_size=0.0, n_per_class=None, seed=0, batch_size: int = 32, cache_dir=None,
                 shuffle: bool = True) -> ImageStream:
    """Stream images stored as ``path/<class name>/<image file>``: the splits as ``tf.data`` pipelines.

    The folder is read as ``image_folder`` reads it (same files, class order, decoder and stratified split draws);
    only the paths are held in memory. See the module docstring for the pipeline.

    Args:
        path: `str` or path-like, the root folder.
        image_size: `tuple[int, int]` ``(height, width)``; every image is resized to it (required: batches
            need one size).
        channels: `int` or `None`: 3 (RGB), 1 (grey) or None (grey only when every file's header says grey).
        on_error: `str`, ``"skip"`` (default: unreadable files are dropped and listed in ``skipped``) or
            ``"raise"``.
        validation_size: `float` fraction in [0, 1) or `int` count, stratified.
        test_size: `float` fraction in [0, 1) or `int` count, stratified.
        n_per_class: `int` or `None`, training files kept per class.
        seed: `int`, the split, subsample and shuffling seed.
        batch_size: `int`, images per batch.
        cache_dir: `str`, path-like or `None`: keep the decoded, resized images of each split on disk after its
            first pass (``<cache_dir>/<split>/images-<key>/``), so later passes and later runs decode nothing.
        shuffle: `bool`, reshuffle the training split each pass.

    Returns:
        ImageStream.

    Raises:
        keras_transfer.errors.InvalidConfigError: bad ``image_size`` / ``channels`` / ``on_error`` / split sizes.
        keras_transfer.errors.InvalidInputError: as ``image_folder``: a missing folder, no class folders, a
            single class, class folders without images, a class short of ``n_per_class``.

    Examples:

    ```python
    import keras_transfer

    # photos/cat/*.jpg, photos/dog/*.jpg, ... any number, any sizes
    stream = keras_transfer.data.image_stream(
        "photos", image_size=(224, 224), validation_size=0.1, cache_dir="cache")
    backbone = keras_transfer.backbones.get("mobilenet_v2")
    model = keras_transfer.TransferModel(backbone, keras_transfer.ClassificationHead(stream.num_classes))
    keras_transfer.fine_tune(model, stream.train, validation=stream.validation)
    print(stream.summary(), len(stream.skipped))
    ```
    """
    from keras_transfer.data.arrays import _check_n_per_class, _check_seed

    _check_options(on_error, channels)
    image_size = _check_image_size(image_size)
    if image_size is None:
        raise InvalidConfigError(
            "image_stream needs image_size=(height, width): every batch holds one size. Received: image_size=None. "
            "Use image_folder(..., image_size=None) to keep the files' own (equal) size in memory."
        )
    _check_seed(seed)
    root = _root_folder(path)
    files_by_class = _class_files(root)
    files, labels = [], []
    for class_id, class_files in enumerate(files_by_class.values()):
        files.extend(class_files)
        labels.extend([class_id] * len(class_files))
    labels = np.asarray(labels, dtype=np.int64)
    if channels is None:
        channels = 1 if _grey_only(files) else 3
    # The draws of arrays._build_splits, over paths.
    n = len(labels)
    n_test = _resolve_size(test_size, n, "test_size")
    n_val = _resolve_size(validation_size, n, "validation_size")
    rng = np.random.default_rng(seed)
    num_classes = len(files_by_class)
    train_idx, val_idx, test_idx = _stratified_split_indices(labels, num_classes, n_val, n_test, rng)
    if n_per_class is not None:
        n_per_class = _check_n_per_class(n_per_class)
        where = " in the training split" if (n_val or n_test) else ""
        keep = _per_class_indices(labels[train_idx], n_per_class, rng, list(files_by_class), num_classes,
                                  where=where, extra_fix=" or lower validation_size / test_size" if where else "")
        train_idx = train_idx[keep]
    return ImageStream(files, labels, {"train": train_idx, "validation": val_idx, "test": test_idx},
                       list(files_by_class), image_size=image_size, channels=channels, batch_size=batch_size,
                       seed=seed, cache_dir=cache_dir, on_error=on_error, shuffle=shuffle, source=root)
