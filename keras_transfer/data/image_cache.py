"""`ImageCache`: decoded, resized images of one list of files on disk, read back by position.

One cache entry is a folder ``<cache_dir>/images-<key>/`` holding ``images.u8`` (every image as raw uint8
``(height, width, channels)``, image ``i`` at byte ``i * height * width * channels``) and ``manifest.json``. The key
is the first 16 hex digits of a sha256 over the entry's description, as the feature cache keys its entries
(``keras_transfer.features.fingerprint``): the files (path, size, modification time, in order), the image size,
the channel count and the decoder version. Any change — a file touched, added, removed or reordered, another
size — gives another key, so a stale entry is never read.

The entry is filled while the first pass decodes (``write`` at each position, from any thread: ``os.pwrite``),
and becomes complete when every position is written or marked unreadable; only then is the manifest written
(atomically), so an interrupted pass leaves an entry the next process starts over. Reads are ``os.pread`` of one
image: the data never enters the process as a memory map, so the resident memory stays flat however large the
entry (the page cache is the kernel's).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading

import numpy as np

from keras_transfer.atomic import write_file
from keras_transfer.errors import CacheDirectoryError

__all__ = ["ImageCache", "DECODER_VERSION"]

#: Bumped whenever ``image_folder.decode_image`` changes its pixels, so old entries are not reused.
DECODER_VERSION = 1


def _describe_files(paths) -> list:
    described = []
    for path in paths:
        try:
            stat = os.stat(path)
            described.append([path, stat.st_size, stat.st_mtime_ns])
        except OSError:
            described.append([path, -1, -1])
    return described


class ImageCache:
    """The on-disk cache entry of one list of image files at one size.

    Args:
        cache_dir: str or os.PathLike. Directory holding entries (created if needed).
        paths: sequence of str. The files, in position order.
        image_size: tuple ``(height, width)``.
        channels: 1 or 3.

    Attributes:
        path: str. The entry folder.
        complete: bool. Every position is written (or known unreadable); reads need no decoding.
        unreadable: dict ``{position: reason}`` of files that could not be decoded.

    Raises:
        keras_transfer.errors.CacheDirectoryError: ``cache_dir`` cannot be created or written.

    Examples:
    >>> import tempfile
    >>> from keras_transfer.data.image_cache import ImageCache
    >>> cache = ImageCache(tempfile.mkdtemp(), ["a.png", "b.png"], (2, 3), 1)
    >>> cache.write(0, np.ones((2, 3, 1), "uint8")); cache.mark_unreadable(1, "OSError: truncated")
    >>> cache.complete, int(cache.read(0).sum()), cache.unreadable
    (True, 6, {1: 'OSError: truncated'})
    """

    def __init__(self, cache_dir, paths, image_size, channels):
        self.paths = [os.fspath(p) for p in paths]
        self.shape = (int(image_size[0]), int(image_size[1]), int(channels))
        self.item_bytes = int(np.prod(self.shape))
        parts = {"kind": "image_cache", "decoder": DECODER_VERSION, "shape": list(self.shape),
                 "files": _describe_files(self.paths)}
        key = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]
        self.path = os.path.join(os.fspath(cache_dir), f"images-{key}")
        self._data = os.path.join(self.path, "images.u8")
        self._manifest = os.path.join(self.path, "manifest.json")
        self._lock = threading.Lock()
        self.unreadable = {}
        self.complete = self._load_manifest()
        self._done = np.zeros(len(self.paths), dtype=bool)
        self._count = 0
        self._fd = None
        try:
            os.makedirs(self.path, exist_ok=True)
            if self.complete:
                self._fd = os.open(self._data, os.O_RDONLY)
            else:  # a new entry, or one an interrupted pass left: start over
                self._fd = os.open(self._data, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
                os.ftruncate(self._fd, self.item_bytes * len(self.paths))
        except OSError as error:
            raise CacheDirectoryError(
                f"Cannot create the image cache entry ({error}). Received: cache_dir={os.fspath(cache_dir)!r}. "
                "Pass a writable folder, or cache_dir=None to decode every epoch."
            ) from error

    def _load_manifest(self) -> bool:
        try:
            with open(self._manifest, encoding="utf-8") as handle:
                manifest = json.load(handle)
            size = os.path.getsize(self._data)
        except (OSError, ValueError):
            return False
        if manifest.get("count") != len(self.paths) or size != self.item_bytes * len(self.paths):
            return False
        self.unreadable = {int(k): v for k, v in manifest.get("unreadable", {}).items()}
        return True

    def __len__(self):
        return len(self.paths)

    def has(self, position: int) -> bool:
        """Whether ``position`` can be read (written, and not unreadable)."""
        if position in self.unreadable:
            return False
        return self.complete or bool(self._done[position])

    def read(self, position: int) -> np.ndarray:
        """The image at ``position``, uint8 ``(height, width, channels)``."""
        data = os.pread(self._fd, self.item_bytes, position * self.item_bytes)
        return np.frombuffer(data, dtype=np.uint8).reshape(self.shape)

    def write(self, position: int, image: np.ndarray) -> None:
        """Store the decoded image at ``position`` (no-op on a complete entry)."""
        if self.complete:
            return
        os.pwrite(self._fd, np.ascontiguousarray(image, dtype=np.uint8).tobytes(), position * self.item_bytes)
        self._settle(position)

    def mark_unreadable(self, position: int, reason: str) -> None:
        """Record that the file at ``position`` could not be decoded."""
        if self.complete:
            return
        with self._lock:
            self.unreadable[int(position)] = reason
        self._settle(position)

    def _settle(self, position):
        with self._lock:
            if self._done[position]:
                return
            self._done[position] = True
            self._count += 1
            if self._count < len(self.paths):
                return
            os.fsync(self._fd)
            manifest = {"count": len(self.paths), "shape": list(self.shape), "decoder": DECODER_VERSION,
                        "unreadable": {str(k): v for k, v in sorted(self.unreadable.items())}}
            write_file(self._manifest, json.dumps(manifest, indent=1))
            self.complete = True

    def close(self):
        """Close the data file (the entry stays on disk)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass
