"""`extract`: run a frozen backbone once over a dataset and cache the features on disk, keyed by a fingerprint.

One batched, prefetching ``tf.data`` pass feeds raw inputs (uint8 or float, any size, 1 or 3 channels) to a
traced function running the backbone in inference mode. Features are written in ``.npy`` shards of about
64 MiB as they come, so memory stays bounded by one shard whatever the dataset size (memory-mapped arrays and
tf.data pipelines are never loaded whole). The entry is named by a fingerprint of the backbone name, a sha256
of its weights, its preprocessing (mode, working resolution, pooling, dtype), the input shape and dtype, a
sha256 of the data and labels, and the views (with the augmentation's config).

The same call again is a cache hit (nothing runs but the hashes and a check of every shard's size and sha256).
Any change to a fingerprint part makes a new entry. An entry that is partial (interrupted), corrupt (size or
sha256 mismatch, unreadable manifest) or holds other features is reported with a ``CacheRebuildWarning`` and
rebuilt. Entries are published atomically (built in a temporary directory, then renamed), so a crash never
leaves a half-written entry that looks complete.
"""

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
import warnings
import weakref
from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from keras_transfer.atomic import atomic_write
from keras_transfer.backbones.backbone import Backbone
from keras_transfer.data.validation import validate_images
from keras_transfer.errors import CacheDirectoryError, InvalidConfigError, InvalidInputError
from keras_transfer.features.feature_cache import MANIFEST, FeatureCache
from keras_transfer.features.fingerprint import (
    data_hash,
    dataset_hash_update,
    fingerprint,
    fingerprint_key,
)
from keras_transfer.features.rebuild_warning import CacheRebuildWarning
from keras_transfer.features.shards import ShardWriter, save_npy

__all__ = ["default_view_augmentation", "extract", "feature_function", "prepare_cache_dir"]

#: Target size of one feature shard: memory held while extracting is about one shard.
SHARD_BYTES = 64 * 1024 * 1024
#: Raw inputs kept (with their features) to check a stitched model against the cache.
PROBE_SIZE = 8


def prepare_cache_dir(cache_dir) -> str:
    """Create ``cache_dir`` if needed and check that files can be written in it.

    Args:
        cache_dir: str or os.PathLike.

    Returns:
        str: the absolute path.

    Raises:
        InvalidConfigError: ``cache_dir`` is not a path.
        CacheDirectoryError: it cannot be created, is not a directory or is not writable.

    Examples:
    >>> keras_transfer.features.prepare_cache_dir("/tmp/kt-doc-cache").endswith("kt-doc-cache")
    True
    """
    if isinstance(cache_dir, bool) or not isinstance(cache_dir, (str, os.PathLike)) or not os.fspath(cache_dir):
        raise InvalidConfigError(
            f"cache_dir must be a directory path. Received: cache_dir={cache_dir!r}. "
            "Pass e.g. cache_dir='~/.cache/keras_transfer/features'."
        )
    path = os.path.abspath(os.path.expanduser(os.fspath(cache_dir)))
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        raise CacheDirectoryError(
            f"The feature cache directory cannot be created ({error.strerror or error}). Received: "
            f"cache_dir={path!r}. Pass a directory you can write to."
        ) from error
    if not os.path.isdir(path):
        raise CacheDirectoryError(
            f"cache_dir exists but is not a directory. Received: cache_dir={path!r}. Pass a directory path."
        )
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-"):
            pass
    except OSError as error:
        raise CacheDirectoryError(
            f"The feature cache directory is not writable ({error.strerror or error}). Received: "
            f"cache_dir={path!r}. Fix its permissions or pass another directory."
        ) from error
    return path


def default_view_augmentation():
    """The augmentation used for ``views`` when none is given: small shifts and zooms (no flips).

    Returns:
        keras.Sequential of ``RandomTranslation(0.1, 0.1)`` and ``RandomZoom(0.1)``.
    """
    return keras.Sequential(
        [  # fixed layer names: auto-numbered ones changed the cache fingerprint on every call
            keras.layers.RandomTranslation(0.1, 0.1, name="view_translation"),
            keras.layers.RandomZoom(0.1, name="view_zoom"),
        ],
        name="view_augmentation",
    )


class _Source:
    """The data to extract: in-memory / memory-mapped arrays, or a batched tf.data.Dataset."""

    def __init__(self, data, batch_size):
        self.batch_size = batch_size
        self.dataset = None
        self.x = self.y = None
        if isinstance(data, tf.data.Dataset):
            spec = data.element_spec
            x_spec = spec[0] if isinstance(spec, tuple) else spec
            if isinstance(spec, tuple) and len(spec) not in (1, 2) or not isinstance(x_spec, tf.TensorSpec):
                raise InvalidInputError(
                    "A dataset to extract must yield image batches or (images, labels) batches. "
                    f"Received: element_spec={spec}."
                )
            if x_spec.shape.rank != 4:
                raise InvalidInputError(
                    "A dataset to extract must yield batches of images (batch, height, width, channels). "
                    f"Received: image spec {x_spec}. Batch it first with dataset.batch(64)."
                )
            self.dataset = data
            self.labelled = isinstance(spec, tuple) and len(spec) == 2
            self.input_spec = (tuple(x_spec.shape[1:]), x_spec.dtype.name)
            self.signature = tf.TensorSpec((None,) + tuple(x_spec.shape[1:]), x_spec.dtype)
            return
        if isinstance(data, (tuple, list)) and len(data) == 2:
            x, y = data
        elif isinstance(data, (tuple, list)):
            raise InvalidInputError(
                f"data must be images, an (images, labels) pair or a tf.data.Dataset. Received: a "
                f"{type(data).__name__} of length {len(data)}."
            )
        else:
            x, y = data, None
        x = validate_images(x, what="x")
        if y is not None:
            y = np.asarray(y)
            if y.ndim == 0 or len(y) != len(x):
                raise InvalidInputError(
                    f"Images and labels differ in length. Received: {len(x)} images and labels of shape {y.shape}. "
                    "Pass one label per image."
                )
            if y.dtype.kind not in "biuf":
                raise InvalidInputError(
                    f"Labels must be numbers (class ids, one-hot rows or targets). Received: dtype={y.dtype}. "
                    "Map class names to ids first."
                )
        self.x, self.y = x, y
        self.labelled = y is not None
        self.input_spec = (tuple(x.shape[1:]), x.dtype.name)
        self.signature = tf.TensorSpec((None,) + tuple(x.shape[1:]), tf.as_dtype(x.dtype))

    def hash(self) -> str:
        if self.dataset is None:
            return data_hash(self.x, self.y)
        digest = hashlib.sha256(b"tf.data|")
        for batch in self.dataset:
            dataset_hash_update(digest, batch)
        return digest.hexdigest()

    def batches(self):
        """A prefetching tf.data pipeline of raw batches (``x`` or ``(x, y)``); Python runs per batch only."""
        if self.dataset is not None:
            return self.dataset.prefetch(tf.data.AUTOTUNE)
        x, y, size = self.x, self.y, self.batch_size

        def generate():
            for start in range(0, len(x), size):
                # Slicing a memory-mapped array reads just this batch from disk.
                if y is None:
                    yield np.asarray(x[start:start + size])
                else:
                    yield np.asarray(x[start:start + size]), np.asarray(y[start:start + size])

        if y is None:
            signature = self.signature
        else:
            signature = (self.signature, tf.TensorSpec((None,) + y.shape[1:], tf.as_dtype(y.dtype)))
        return tf.data.Dataset.from_generator(generate, output_signature=signature).prefetch(tf.data.AUTOTUNE)


def _check_int(name, value, minimum, allow_none=False):
    if allow_none and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidConfigError(
            f"{name} must be an int ≥ {minimum}. Received: {name}={value!r}."
            + (" views=K stores K augmented copies of each example (0 stores the clean features only)."
               if name == "views" else "")
        )
    return int(value)


def _feature_step(backbone, augmentation, views, signature):
    """A traced function raw batch → features ``(batch, views + 1, *feature_shape)``, backbone frozen."""
    key = (
        views, id(augmentation) if views else None, str(signature), backbone.spec.preprocessing,
        tuple(backbone.image_shape), backbone.pooling,
    )
    # Traces are kept on the backbone and reused by later extractions in this process: they read the
    # variables, so new weights need no retrace; preprocessing, resolution, pooling and views are in the key.
    traces = backbone.__dict__.get("_feature_traces")
    if traces is None:
        traces = {}
        object.__setattr__(backbone, "_feature_traces", traces)  # untracked by Keras (not a layer attribute)
    if key in traces and (not views or traces[key][1]() is augmentation):
        return traces[key][0]

    def step(images):
        clean = tf.cast(backbone(images, training=False), tf.float32)
        if not views:
            return clean[:, None]
        # All K views in one call: the batch repeated K times, each copy augmented independently.
        floats = keras.ops.cast(images, "float32")
        augmented = augmentation(tf.concat([floats] * views, axis=0), training=True)
        features = tf.cast(backbone(augmented, training=False), tf.float32)
        features = tf.reshape(features, tf.concat([[views, tf.shape(images)[0]], tf.shape(clean)[1:]], axis=0))
        return tf.concat([clean[:, None], tf.transpose(features, [1, 0] + list(range(2, len(clean.shape) + 1)))], 1)

    traced = tf.function(step, input_signature=[signature], autograph=False)
    traces[key] = (traced, weakref.ref(augmentation) if views else (lambda: None))
    return traced


def feature_function(backbone, signature):
    """The traced function ``extract`` runs for clean features: raw batch → features ``(batch, 1, *shape)``.

    Traces are kept on the backbone, so a caller timing the backbone after an extraction (``rank_backbones``)
    reuses the extraction's trace instead of tracing the network again.

    Args:
        backbone: keras_transfer.backbones.Backbone.
        signature: ``tf.TensorSpec`` of raw batches, batch axis ``None``.

    Returns:
        a ``tf.function``.
    """
    return _feature_step(backbone, None, 0, signature)


def _open_entry(entry: str, parts: dict, verify: str) -> Optional[FeatureCache]:
    """The ready entry at ``entry``, or None (after a warning) when it is unusable; unusable entries are removed."""
    if not os.path.exists(entry):
        return None
    problem = None
    try:
        manifest = FeatureCache.read_manifest(entry)
    except FileNotFoundError:
        problem = "it has no manifest (an interrupted extraction)"
    except (OSError, ValueError) as error:
        problem = f"its manifest is unreadable ({error})"
    else:
        if manifest.get("fingerprint") != parts:
            theirs = manifest.get("fingerprint") or {}
            changed = sorted(k for k in set(parts) | set(theirs) if parts.get(k) != theirs.get(k))
            problem = (
                f"it holds other features (backbone {theirs.get('backbone')!r}; differs in {', '.join(changed)})"
            )
        else:
            cache = FeatureCache(entry, manifest, hit=True)
            problem = cache.check(verify)
            if problem is None:
                return cache
    warnings.warn(
        f"Feature cache entry {entry} is unusable: {problem}. Rebuilding it from the data.",
        CacheRebuildWarning,
        stacklevel=3,
    )
    _remove(entry)
    return None


def _remove(path):
    trash = f"{path}.removing-{uuid.uuid4().hex[:8]}"
    try:
        os.rename(path, trash)
    except OSError:
        trash = path
    shutil.rmtree(trash, ignore_errors=True)


def extract(
    backbone,
    data,
    cache_dir,
    views: int = 0,
    *,
    augmentation=None,
    batch_size: int = 64,
    shard_size: Optional[int] = None,
    verify: str = "full",
    verbose: bool = False,
) -> FeatureCache:
    """Run the frozen backbone once over ``data`` and store its features (and labels) under ``cache_dir``.

    Features are written in ``.npy`` shards of about 64 MiB as they come (memory stays bounded by one shard),
    in an entry named by a fingerprint of the backbone, its weights and preprocessing, the data and the views.
    The same call again is a cache hit; a partial, corrupt or mismatched entry is rebuilt with a
    ``CacheRebuildWarning``. See the module docstring for the details.

    Args:
        backbone: keras_transfer.backbones.Backbone. Run with ``training=False`` whatever its mode.
        data: images ``(N, H, W, C)`` (numpy or ``np.memmap``), an ``(images, labels)`` pair, or a batched
            ``tf.data.Dataset`` of images or ``(images, labels)``. A dataset is read once more to hash it:
            it must yield the same elements each pass (no ``reshuffle_each_iteration``) to ever hit.
        cache_dir: str or os.PathLike. Directory holding cache entries (created if needed).
        views: int ≥ 0. Also store ``views`` augmented copies of each example, so head training can see
            augmentation without running the backbone again.
        augmentation: Keras layer applied (``training=True``) to float images for the views; None uses
            ``default_view_augmentation()``. Ignored when ``views == 0``.
        batch_size: int. Extraction batch size (array inputs; a dataset keeps its own batches).
        shard_size: int or None. Examples per shard; None sizes shards to about 64 MiB.
        verify: ``"full"`` checks every shard's sha256 on a hit, ``"size"`` only sizes (for huge caches).
        verbose: bool. Print what happened (hit, built, time) and a progress bar while extracting.

    Returns:
        FeatureCache: ``.hit`` says whether it was found ready; ``.load()``, ``.as_dataset()``, ``.probe()``.

    Raises:
        InvalidConfigError: negative or non-int ``views`` / ``batch_size`` / ``shard_size``, bad ``verify``,
            ``cache_dir`` not a path.
        InvalidInputError: unusable data (see ``keras_transfer.data.validate_images``).
        CacheDirectoryError: ``cache_dir`` cannot be created or written.

    Examples:
    >>> import numpy as np
    >>> name = keras_transfer.testing.register_tiny_backbone()  # any backbone: "mobilenet_v2", ...
    >>> backbone = keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32))
    >>> x, y = np.zeros((16, 28, 28, 1), "uint8"), np.arange(16) % 2
    >>> cache = keras_transfer.features.extract(backbone, (x, y), "/tmp/kt-doc-cache", views=2)
    >>> cache.load(view=None)[0].shape  # (examples, 1 clean + 2 augmented views, features)
    (16, 3, 32)
    >>> keras_transfer.features.extract(backbone, (x, y), "/tmp/kt-doc-cache", views=2).hit
    True
    """
    views, batch_size, shard_size, augmentation = _check_extract_args(
        backbone, views, batch_size, shard_size, verify, augmentation
    )
    root = prepare_cache_dir(cache_dir)
    source = _Source(data, batch_size)
    start = time.perf_counter()
    parts = fingerprint(
        backbone, data=source.hash(), input_spec=source.input_spec, views=views, augmentation=augmentation
    )
    key = fingerprint_key(parts)
    entry = _entry_path(root, backbone, key)
    cache = _open_entry(entry, parts, verify)
    if cache is None:
        progress = _progress_bar(source) if verbose else None
        cache = _build_entry(root, entry, backbone, source, parts, key, verify,
                             views=views, augmentation=augmentation, shard_size=shard_size, progress=progress)
    if verbose and cache.hit:
        print(f"feature cache hit: {entry} ({cache.num_examples} examples)")
    elif verbose:
        print(f"feature cache built: {cache.path} ({cache.num_examples} examples, "
              f"{time.perf_counter() - start:.1f} s)")
    return cache


def _check_extract_args(backbone, views, batch_size, shard_size, verify, augmentation):
    """``(views, batch_size, shard_size, augmentation)`` checked; the default view augmentation when needed."""
    if not isinstance(backbone, Backbone):
        raise InvalidConfigError(
            "extract needs a keras_transfer Backbone (keras_transfer.backbones.get(name)). "
            f"Received: backbone of type {type(backbone).__name__}."
        )
    views = _check_int("views", views, 0)
    batch_size = _check_int("batch_size", batch_size, 1)
    shard_size = _check_int("shard_size", shard_size, 1, allow_none=True)
    if verify not in ("full", "size"):
        raise InvalidConfigError(f"verify must be 'full' or 'size'. Received: verify={verify!r}.")
    if views and augmentation is None:
        augmentation = default_view_augmentation()
    return views, batch_size, shard_size, augmentation


def _entry_path(root, backbone, key) -> str:
    return os.path.join(root, f"{backbone.backbone_name}-{key[:24]}")


def _build_entry(root, entry, backbone, source, parts, key, verify, *, views, augmentation, shard_size, progress):
    """Extract into a private temporary directory, then publish it as ``entry`` with one rename.

    When another process published the same entry first, its sound entry is used instead.
    """
    tmp = os.path.join(root, f".tmp-{os.path.basename(entry)}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    os.makedirs(tmp)
    try:
        manifest = _build(backbone, source, tmp, parts, key, views, augmentation, shard_size, progress)
        if manifest["key"] != key:
            parts, key = manifest["fingerprint"], manifest["key"]
            entry = _entry_path(root, backbone, key)
            if os.path.exists(entry):
                _remove(entry)
        try:
            os.rename(tmp, entry)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            cache = _open_entry(entry, parts, verify)
            if cache is None:
                raise
            return cache
    except OSError as error:
        shutil.rmtree(tmp, ignore_errors=True)
        raise CacheDirectoryError(
            f"Writing the feature cache failed ({error.strerror or error}). Received: cache_dir={root!r}. "
            "Free disk space or pass another directory."
        ) from error
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return FeatureCache(entry, manifest, hit=False)


def _progress_bar(source):
    """A Keras progress bar over the examples to extract (a bar on a terminal, one final line in logs)."""
    target = len(source.x) if source.x is not None else None
    interactive = getattr(sys.stdout, "isatty", lambda: False)()
    print("extracting features" + (f" of {target} examples" if target is not None else ""))
    return keras.utils.Progbar(target, verbose=1 if interactive else 2, unit_name="example")


def _build(backbone, source, tmp, parts, key, views, augmentation, shard_size, progress=None):
    """Extract into ``tmp`` and write the manifest last. Returns the manifest."""
    if views:
        # Create the augmentation's variables (seed state) eagerly, before tracing.
        augmentation(keras.ops.zeros((1,) + tuple(d or 32 for d in source.input_spec[0]), "float32"), training=True)
    step = _feature_step(backbone, augmentation, views, source.signature)
    writer = None
    probe_x = probe_f = None
    digest = hashlib.sha256(b"tf.data|") if source.dataset is not None else None
    for batch in source.batches():
        images, labels = batch if isinstance(batch, tuple) else (batch, None)
        if isinstance(batch, tuple) and len(batch) == 1:
            images, labels = batch[0], None
        if digest is not None:
            dataset_hash_update(digest, batch)
        features = step(images).numpy()
        if writer is None:
            row_bytes = int(np.prod(features.shape[1:])) * 4
            rows = shard_size or max(1, SHARD_BYTES // row_bytes)
            writer = ShardWriter(tmp, rows, features.shape[1:])
        writer.add(features, None if labels is None else np.asarray(labels))
        if progress is not None:
            progress.add(len(features))
        if probe_x is None:
            probe_x = np.asarray(images[:PROBE_SIZE])
            probe_f = features[:PROBE_SIZE, 0].copy()
    if writer is None:
        raise InvalidInputError("The data holds no images. Received: an empty dataset. Pass at least one image.")
    shards = writer.close()
    if digest is not None and digest.hexdigest() != parts["data"]:
        # The entry must be named after what was really extracted, never after the first pass.
        parts = dict(parts, data=digest.hexdigest())
        key = fingerprint_key(parts)
        warnings.warn(
            "The dataset yielded different elements on two passes (shuffled or random each iteration), so its "
            "features are cached under the second pass and will not be found again by the same call. Shuffle "
            "after extraction (FeatureCache.as_dataset shuffles), or cache the dataset's output first.",
            CacheRebuildWarning,
            stacklevel=3,
        )
    label_info = None
    if writer.has_labels:
        first = np.load(os.path.join(tmp, shards[0]["labels"]["file"]), mmap_mode="r", allow_pickle=False)
        label_info = {"shape": list(first.shape[1:]), "dtype": first.dtype.name}
    manifest = {
        "format": parts["format"],
        "key": key,
        "fingerprint": parts,
        "num_examples": writer.num_examples,
        "views": views,
        "feature_shape": list(writer.row_shape[1:]),
        "labels": label_info,
        "shards": shards,
        "probe": {
            "x": save_npy(os.path.join(tmp, "probe-x.npy"), probe_x),
            "features": save_npy(os.path.join(tmp, "probe-features.npy"), probe_f),
        },
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    with atomic_write(os.path.join(tmp, MANIFEST)) as handle:
        json.dump(manifest, handle, indent=1)
    return manifest
