"""Streaming shard files of a feature cache: plain ``.npy`` (never pickle), each with its sha256."""

import hashlib
import os
from typing import List, Optional

import numpy as np

__all__ = ["ShardWriter", "check_shard", "read_npy", "save_npy"]


class _HashingFile:
    """A write-only file wrapper that feeds every byte to sha256 as it is written."""

    def __init__(self, handle):
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data):
        view = memoryview(data).cast("B")
        self.digest.update(view)
        self.size += view.nbytes
        return self.handle.write(view)


def save_npy(path: str, array: np.ndarray) -> dict:
    """Write ``array`` as a ``.npy`` file (no pickle) and return ``{"file", "bytes", "sha256"}``.

    Args:
        path: str. Destination.
        array: np.ndarray with a numeric dtype.

    Returns:
        dict describing the file for the manifest.
    """
    with open(path, "wb") as handle:
        wrapper = _HashingFile(handle)
        np.lib.format.write_array(wrapper, np.ascontiguousarray(array), allow_pickle=False)
    return {"file": os.path.basename(path), "bytes": wrapper.size, "sha256": wrapper.digest.hexdigest()}


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def check_shard(directory: str, record: dict, verify: str = "full") -> Optional[str]:
    """Why a shard file is unusable, or None when it is intact.

    Args:
        directory: str. The cache entry's directory.
        record: dict. The manifest's ``{"file", "bytes", "sha256"}`` for this file.
        verify: ``"full"`` (size and sha256) or ``"size"`` (size only: cheap for huge caches).

    Returns:
        str describing the problem, or None.
    """
    path = os.path.join(directory, record["file"])
    if not os.path.isfile(path):
        return f"{record['file']} is missing"
    size = os.path.getsize(path)
    if size != record["bytes"]:
        return f"{record['file']} has {size} bytes, the manifest says {record['bytes']} (partial or truncated write)"
    if verify == "full" and _file_sha256(path) != record["sha256"]:
        return f"{record['file']} does not match its sha256 (corrupted on disk)"
    return None


def read_npy(directory: str, record: dict, mmap: bool = False) -> np.ndarray:
    """Load one shard file without pickle (memory-mapped when ``mmap``)."""
    return np.load(os.path.join(directory, record["file"]), mmap_mode="r" if mmap else None, allow_pickle=False)


class ShardWriter:
    """Collects extracted batches into fixed-size shards and writes each one as soon as it is full.

    At most one shard of features (and labels) is held in memory, whatever the dataset size.

    Args:
        directory: str. Where the shard files go (a temporary entry directory).
        rows_per_shard: int. Examples per shard.
        row_shape: tuple. Shape of one example's features, ``(views + 1, *feature_shape)``.
    """

    def __init__(self, directory: str, rows_per_shard: int, row_shape):
        self.directory = directory
        self.rows_per_shard = int(rows_per_shard)
        self.row_shape = tuple(row_shape)
        self.records: List[dict] = []
        self.num_examples = 0
        self._features = np.empty((self.rows_per_shard,) + self.row_shape, np.float32)
        self._labels = None
        self._has_labels = None
        self._fill = 0

    def add(self, features: np.ndarray, labels: Optional[np.ndarray]) -> None:
        """Append a batch: ``features`` ``(b, *row_shape)`` float32, ``labels`` ``(b, ...)`` or None."""
        if self._has_labels is None:
            self._has_labels = labels is not None
            if labels is not None:
                labels = np.asarray(labels)
                self._labels = np.empty((self.rows_per_shard,) + labels.shape[1:], labels.dtype)
        start = 0
        n = len(features)
        while start < n:
            take = min(n - start, self.rows_per_shard - self._fill)
            self._features[self._fill:self._fill + take] = features[start:start + take]
            if self._has_labels:
                self._labels[self._fill:self._fill + take] = labels[start:start + take]
            self._fill += take
            start += take
            if self._fill == self.rows_per_shard:
                self._flush()

    def _flush(self) -> None:
        if self._fill == 0:
            return
        index = len(self.records)
        record = {
            "rows": self._fill,
            "features": save_npy(os.path.join(self.directory, f"features-{index:05d}.npy"), self._features[:self._fill]),
        }
        if self._has_labels:
            record["labels"] = save_npy(os.path.join(self.directory, f"labels-{index:05d}.npy"), self._labels[:self._fill])
        self.records.append(record)
        self.num_examples += self._fill
        self._fill = 0

    def close(self) -> List[dict]:
        """Write the last, partly filled shard and return the manifest records of every shard."""
        self._flush()
        self._features = self._labels = None
        return self.records

    @property
    def has_labels(self) -> bool:
        return bool(self._has_labels)
