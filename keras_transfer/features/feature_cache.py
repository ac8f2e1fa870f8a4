"""`FeatureCache`: one extracted, fingerprinted set of features on disk, read back as arrays or tf.data."""

import json
import math
import os
from typing import Iterator, Optional, Tuple, Union

import numpy as np
import tensorflow as tf

from keras_transfer.errors import InvalidConfigError
from keras_transfer.features.shards import check_shard, read_npy

__all__ = ["FeatureCache", "MANIFEST"]

MANIFEST = "manifest.json"

#: Caches up to this size are loaded into memory for training; larger ones are streamed shard by shard.
DEFAULT_MAX_MEMORY_BYTES = 1 << 30


class FeatureCache:
    """Read access to one cache entry written by ``keras_transfer.features.extract``.

    Features are stored as ``(num_examples, views + 1, *feature_shape)`` float32 in ``.npy`` shards: view 0
    is the clean image, views 1..K are augmented copies. Labels (when given) are stored beside them.

    Args:
        path: str. The entry directory (holds ``manifest.json`` and the shards).
        manifest: dict. The parsed manifest.
        hit: bool. Whether ``extract`` found this entry ready (True) or built it (False).

    Examples:
    >>> import numpy as np
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> backbone = keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32))
    >>> x, y = np.zeros((10, 28, 28, 1), "uint8"), np.arange(10) % 2
    >>> cache = keras_transfer.features.extract(backbone, (x, y), "/tmp/kt-doc-cache")
    >>> features, labels = cache.load()
    >>> features.shape, cache.num_examples
    ((10, 32), 10)
    """

    def __init__(self, path: str, manifest: dict, hit: bool):
        self.path = path
        self.manifest = manifest
        self.hit = bool(hit)

    @classmethod
    def read_manifest(cls, path: str) -> dict:
        """Parse ``path/manifest.json``. Raises OSError / ValueError when it is missing or not JSON."""
        with open(os.path.join(path, MANIFEST)) as handle:
            manifest = json.load(handle)
        if not isinstance(manifest, dict) or "shards" not in manifest or "fingerprint" not in manifest:
            raise ValueError("manifest.json lacks 'shards' or 'fingerprint'")
        return manifest

    # ---------------------------------------------------------------- facts
    @property
    def fingerprint(self) -> dict:
        """What the features depend on (backbone, weights hash, preprocessing, input, data, views)."""
        return self.manifest["fingerprint"]

    @property
    def key(self) -> str:
        return self.manifest["key"]

    @property
    def num_examples(self) -> int:
        return int(self.manifest["num_examples"])

    @property
    def views(self) -> int:
        """Augmented views stored per example (the clean view is extra)."""
        return int(self.manifest["views"])

    @property
    def feature_shape(self) -> Tuple[int, ...]:
        return tuple(self.manifest["feature_shape"])

    @property
    def has_labels(self) -> bool:
        return self.manifest.get("labels") is not None

    @property
    def shards(self) -> list:
        return list(self.manifest["shards"])

    @property
    def nbytes(self) -> int:
        """Bytes of feature data on disk (all views)."""
        return sum(int(s["features"]["bytes"]) for s in self.manifest["shards"])

    def check(self, verify: str = "full") -> Optional[str]:
        """Why the entry is unusable (missing, truncated or corrupted shard), or None when intact.

        Args:
            verify: ``"full"`` (sizes and sha256 of every file) or ``"size"``.
        """
        records = []
        for shard in self.manifest["shards"]:
            records.append(shard["features"])
            if "labels" in shard:
                records.append(shard["labels"])
        if self.manifest.get("probe"):
            records.extend(self.manifest["probe"].values())
        for record in records:
            problem = check_shard(self.path, record, verify)
            if problem:
                return problem
        return None

    # ---------------------------------------------------------------- reading
    def _check_view(self, view):
        if view == "random":
            return view
        if isinstance(view, bool) or not isinstance(view, int) or not 0 <= view <= self.views:
            raise InvalidConfigError(
                f"view must be 'random' or an int in [0, {self.views}] (0 is the clean image, 1..{self.views} the "
                f"augmented views). Received: view={view!r}."
            )
        return view

    def iter_shards(self, view: Union[int, str, None] = 0) -> Iterator[tuple]:
        """Yield ``(features, labels)`` one shard at a time (memory-mapped; labels None without labels).

        Args:
            view: int view index, or None for every view ``(rows, views + 1, ...)``.
        """
        if view is not None:
            self._check_view(view)
        for shard in self.manifest["shards"]:
            features = read_npy(self.path, shard["features"], mmap=True)
            labels = read_npy(self.path, shard["labels"]) if "labels" in shard else None
            yield (features if view is None else features[:, view]), labels

    def load(self, view: Optional[int] = 0):
        """All features and labels as in-memory arrays (for caches that fit in memory).

        Args:
            view: int view index (0 = clean), or None for every view.

        Returns:
            ``(features, labels)``; labels is None when the data had none.
        """
        parts = list(self.iter_shards(view))
        features = np.concatenate([np.asarray(f) for f, _ in parts])
        labels = np.concatenate([lab for _, lab in parts]) if self.has_labels else None
        return features, labels

    def probe(self):
        """The first few raw inputs and their clean features, kept to check a stitched model.

        Returns:
            ``(raw_images, features)`` arrays.
        """
        probe = self.manifest["probe"]
        return read_npy(self.path, probe["x"]), read_npy(self.path, probe["features"])

    def as_dataset(
        self,
        batch_size: int = 32,
        *,
        shuffle: bool = True,
        seed: Optional[int] = None,
        view: Union[int, str] = "random",
        max_memory_bytes: int = DEFAULT_MAX_MEMORY_BYTES,
    ):
        """A ``tf.data.Dataset`` of ``(features, labels)`` batches (``features`` alone without labels).

        Caches up to ``max_memory_bytes`` are loaded once and batches are gathered in-graph; larger caches
        are streamed: shards in random order, rows shuffled within each shard, one shard in memory at a time.

        Args:
            batch_size: int.
            shuffle: bool. Reshuffle every epoch.
            seed: int or None. Seed of the shuffling and the view choice.
            view: ``"random"`` (each epoch, one augmented view per example, drawn uniformly from 1..K; the
                clean view when K = 0) or an int view index.
            max_memory_bytes: int. Size limit for the in-memory path.

        Returns:
            tf.data.Dataset with a known cardinality (``ceil(num_examples / batch_size)`` batches).
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidConfigError(f"batch_size must be a positive int. Received: batch_size={batch_size!r}.")
        view = self._check_view(view)
        if view == "random" and self.views == 0:
            view = 0
        n_batches = math.ceil(self.num_examples / batch_size)
        needed = self.nbytes if view == "random" else self.nbytes // (self.views + 1)
        if needed <= max_memory_bytes:
            ds = self._in_memory_dataset(batch_size, shuffle, seed, view)
        else:
            ds = self._streaming_dataset(batch_size, shuffle, seed, view)
        return ds.apply(tf.data.experimental.assert_cardinality(n_batches)).prefetch(tf.data.AUTOTUNE)

    def _in_memory_dataset(self, batch_size, shuffle, seed, view):
        features, labels = self.load(view=None if view == "random" else view)
        features_t = tf.constant(features)
        labels_t = tf.constant(labels) if labels is not None else None
        n_views = self.views + 1
        ds = tf.data.Dataset.range(self.num_examples)
        if shuffle:
            ds = ds.shuffle(self.num_examples, seed=seed, reshuffle_each_iteration=True)
        ds = ds.batch(batch_size)

        def gather(index):
            batch = tf.gather(features_t, index)
            if view == "random":
                choice = tf.random.uniform(tf.shape(index), 1, n_views, dtype=tf.int32, seed=seed)
                batch = tf.gather(batch, choice, batch_dims=1)
            return batch if labels_t is None else (batch, tf.gather(labels_t, index))

        return ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE)

    def _streaming_dataset(self, batch_size, shuffle, seed, view):
        rng = np.random.default_rng(seed)
        n_views = self.views + 1
        shards = self.manifest["shards"]
        has_labels = self.has_labels

        def rows_of(shard):
            features = read_npy(self.path, shard["features"], mmap=True)
            labels = read_npy(self.path, shard["labels"]) if has_labels else None
            rows = shard["rows"]
            order = rng.permutation(rows) if shuffle else np.arange(rows)
            chosen = rng.integers(1, n_views, size=rows) if view == "random" else view
            block = np.asarray(features[order, chosen])  # one shard in memory at a time
            return block, (labels[order] if labels is not None else None)

        def generate():
            order = rng.permutation(len(shards)) if shuffle else range(len(shards))
            carry_x, carry_y = None, None
            for index in order:
                block, labels = rows_of(shards[index])
                if carry_x is not None:
                    block = np.concatenate([carry_x, block])
                    labels = np.concatenate([carry_y, labels]) if labels is not None else None
                full = len(block) // batch_size * batch_size
                for start in range(0, full, batch_size):
                    x = block[start:start + batch_size]
                    yield x if labels is None else (x, labels[start:start + batch_size])
                carry_x = block[full:] if full < len(block) else None
                carry_y = labels[full:] if (labels is not None and full < len(block)) else None
            if carry_x is not None:
                yield carry_x if carry_y is None else (carry_x, carry_y)

        x_spec = tf.TensorSpec((None,) + self.feature_shape, tf.float32)
        if has_labels:
            label_info = self.manifest["labels"]
            y_spec = tf.TensorSpec((None,) + tuple(label_info["shape"]), tf.as_dtype(label_info["dtype"]))
            signature = (x_spec, y_spec)
        else:
            signature = x_spec
        return tf.data.Dataset.from_generator(generate, output_signature=signature)

    def __repr__(self):
        return (
            f"FeatureCache(path={self.path!r}, backbone={self.fingerprint['backbone']!r}, "
            f"num_examples={self.num_examples}, views={self.views}, feature_shape={self.feature_shape}, "
            f"hit={self.hit})"
        )
