"""`beam_extract`: feature extraction as an Apache Beam pipeline, writing the cache format ``extract`` writes.

The pipeline (any Beam runner: DirectRunner here, Dataflow, Flink or Spark at scale)::

    sources (array chunks | image files | TFRecord files | a tfds split's files)
      -> Reshuffle -> decode on the workers (Pillow, as keras_transfer.data.image_folder decodes)
      -> RunInference(BackboneModelHandler)      # the backbone loaded once per worker, batched calls
      -> key by shard -> GroupByKey -> write each shard (.npy + sha256, rows in example order)

The driver then writes the manifest last and publishes the entry with one rename, like the in-process
``extract``: same ``features-*.npy`` / ``labels-*.npy`` shards, same ``manifest.json`` keys, same fingerprint
keys, plus ``provenance`` (runner and pipeline options). ``FeatureCache``, ``train_head``, ``fine_tune(cache_dir=)``
and ranking read it unchanged.

Fingerprint ``data``: for arrays it is ``data_hash(x, y)``, computed on the driver exactly as in-process, so
the in-process ``extract`` (and ``fine_tune(cache_dir=...)``) on the same arrays finds the Beam-built entry.
For files (folders, TFRecords, tfds) the pixels are only ever decoded on the workers, so the ``data`` part is
a sha256 over per-shard sha256s of the decoded examples (pixels, shape and label) in order: the same files
decoded the same way give the same entry, on any runner.
"""

import hashlib
import io
import json
import os
import time
import uuid
import warnings

import numpy as np

from keras_transfer.errors import CacheDirectoryError, InvalidConfigError, InvalidInputError
from keras_transfer.features.beam_options import check_pipeline_options, remote_path, require_beam
from keras_transfer.features.cache import (
    PROBE_SIZE,
    SHARD_BYTES,
    _check_extract_args,
    _entry_path,
    _open_entry,
    _remove,
    prepare_cache_dir,
)
from keras_transfer.features.feature_cache import MANIFEST, FeatureCache
from keras_transfer.features.fingerprint import data_hash, fingerprint, fingerprint_key

__all__ = ["beam_extract"]

_TFRECORD_SUFFIXES = (".tfrecord", ".tfrecords", ".tfrec")


# ------------------------------------------------------------------ sources
class _ArraySource:
    """In-memory arrays: chunks travel in the pipeline; the data hash is the in-process one."""

    kind = "arrays"

    def __init__(self, x, y, batch_size):
        from keras_transfer.data.validation import validate_images

        self.x = validate_images(x, what="x")
        self.y = None if y is None else np.asarray(y)
        if self.y is not None and (self.y.ndim == 0 or len(self.y) != len(self.x)):
            raise InvalidInputError(
                f"Images and labels differ in length. Received: {len(self.x)} images and labels of shape "
                f"{self.y.shape}. Pass one label per image."
            )
        self.batch_size = batch_size
        self.input_spec = (tuple(self.x.shape[1:]), self.x.dtype.name)
        self.description = f"arrays {tuple(self.x.shape)} {self.x.dtype.name}"

    def data_hash(self):
        return data_hash(self.x, self.y)

    def listing(self):
        return None

    def seeds(self):
        return [(0, start) for start in range(0, len(self.x), self.batch_size)]

    def expand(self, seed):
        _, start = seed
        stop = min(start + self.batch_size, len(self.x))
        for i in range(start, stop):
            yield (0, i), np.asarray(self.x[i]), (None if self.y is None else self.y[i])


class _FileSource:
    """Image files (a class-folder tree), TFRecord files of tf.train.Example, or a tfds split."""

    def __init__(self, data, image_size, channels, image_key, label_key, data_dir):
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.channels = channels
        self.image_key, self.label_key = image_key, label_key
        self.input_spec = (self.image_size + (channels,), "uint8")
        self.tfds_features = None
        if data.startswith("tfds:"):
            self.kind = "tfds"
            files, self.tfds_builder_dir, self.description = _tfds_files(data, data_dir)
            self.files = [(path, None) for path in files]
        elif os.path.isdir(data) and not _tfrecord_patterns(data):
            from keras_transfer.data.image_folder import _class_files

            self.kind = "images"
            by_class = _class_files(os.path.abspath(data))
            self.files = [(path, label) for label, files in enumerate(by_class.values()) for path in files]
            self.description = f"image folder {os.path.abspath(data)} ({len(by_class)} classes: {list(by_class)})"
        else:
            import tensorflow as tf

            self.kind = "tfrecords"
            patterns = _tfrecord_patterns(data) or [data]
            found = sorted({f for p in patterns for f in tf.io.gfile.glob(p)})
            if not found:
                raise InvalidInputError(
                    f"No TFRecord files match the data path. Received: data={data!r}. Pass a folder of class "
                    "sub-folders of images, TFRecord files (a glob such as 'gs://bucket/train-*.tfrecord') or "
                    "'tfds:NAME[:SPLIT]'."
                )
            self.files = [(path, None) for path in found]
            self.description = f"{len(found)} TFRecord file(s) {data}"
        if not self.files:
            raise InvalidInputError(f"The data holds no images. Received: data={data!r}. Pass at least one image.")

    def data_hash(self):
        return None  # computed on the workers from the decoded examples

    def listing(self) -> str:
        """sha256 of the file list (path, size, modification time) and the decode settings: a cheap hit test."""
        if getattr(self, "_listing", None) is not None:
            return self._listing
        import tensorflow as tf

        digest = hashlib.sha256(f"{self.kind}|{self.image_size}|{self.channels}|{self.image_key}|"
                                f"{self.label_key}|".encode())
        for path, label in self.files:
            stat = tf.io.gfile.stat(path)
            digest.update(f"{path}|{label}|{stat.length}|{stat.mtime_nsec}|".encode())
        self._listing = digest.hexdigest()
        return self._listing

    def seeds(self):
        return [(part, path, label) for part, (path, label) in enumerate(self.files)]

    def expand(self, seed):
        part, path, label = seed
        if self.kind == "images":
            from keras_transfer.data.image_folder import decode_image

            yield (0, part), decode_image(path, self.image_size, self.channels), np.int64(label)
            return
        import tensorflow as tf

        for position, record in enumerate(tf.data.TFRecordDataset(path).as_numpy_iterator()):
            yield (part, position), *self._decode_record(record)

    def _decode_record(self, record):
        from keras_transfer.data.image_folder import decode_image

        if self.kind == "tfds":
            example = self._tfds_decoder()(record)
            image = np.asarray(example[self.image_key])
            image = _fit_image(image, self.image_size, self.channels)
            label = example.get(self.label_key)
            return image, None if label is None else np.asarray(label)
        import tensorflow as tf

        example = tf.train.Example.FromString(record)
        feature = example.features.feature
        if self.image_key not in feature:
            raise InvalidInputError(
                f"A TFRecord example has no {self.image_key!r} feature. Received: features "
                f"{sorted(feature)}. Pass image_key= (and label_key=) naming the encoded image and its label."
            )
        image = decode_image(io.BytesIO(feature[self.image_key].bytes_list.value[0]), self.image_size, self.channels)
        label = None
        if self.label_key in feature:
            values = feature[self.label_key].int64_list.value or feature[self.label_key].float_list.value
            label = np.asarray(values[0] if len(values) == 1 else list(values))
        return image, label

    def _tfds_decoder(self):
        """The split's feature decoder, read on the worker from the prepared builder directory (no registration)."""
        if self.tfds_features is None:
            import tensorflow_datasets as tfds

            self.tfds_features = tfds.builder_from_directory(self.tfds_builder_dir).info.features

        def decode(record):
            return {k: np.asarray(v) for k, v in self.tfds_features.deserialize_example_np(record).items()}

        return decode


def _fit_image(image, image_size, channels):
    from PIL import Image

    if image.ndim == 2:
        image = image[..., None]
    if image.shape[-1] != channels:
        image = np.repeat(image, 3, axis=-1) if channels == 3 else image[..., :1]
    if image.shape[:2] != tuple(image_size):
        mode = "L" if image.shape[-1] == 1 else "RGB"
        resized = Image.fromarray(image.squeeze(-1) if mode == "L" else image, mode).resize(
            (image_size[1], image_size[0]), Image.BILINEAR)
        image = np.asarray(resized, np.uint8).reshape(image_size + (channels,))
    return image.astype(np.uint8, copy=False)


def _tfrecord_patterns(data):
    if os.path.isdir(data):
        return [os.path.join(data, f"*{s}") for s in _TFRECORD_SUFFIXES
                if any(name.endswith(s) for name in os.listdir(data))]
    return None


def _tfds_files(data, data_dir):
    """``tfds:NAME[:SPLIT]`` -> its prepared TFRecord files (in order), the builder directory, a description."""
    name, _, split = data[len("tfds:"):].partition(":")
    split = split or "train"
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise InvalidConfigError(
            f"tfds data needs tensorflow-datasets. Received: data={data!r}. pip install tensorflow-datasets, or "
            "pass a folder of images / TFRecord files."
        ) from None
    try:
        builder = tfds.builder(name, data_dir=data_dir)
        info = builder.info.splits[split]
        files = [str(f) for f in info.filepaths]
        if not files:
            raise ValueError(f"split {split!r} has no files")
    except Exception as error:  # tfds raises many kinds (not found, not prepared, bad split)
        raise InvalidInputError(
            f"The tfds split cannot be read ({type(error).__name__}: {error}). Received: data={data!r}, "
            f"data_dir={data_dir!r}. Prepare it first (tfds.builder(name).download_and_prepare()) and pass its "
            "data_dir."
        ) from None
    return files, str(builder.data_dir), f"tfds {name}:{split} ({builder.data_dir})"


# ------------------------------------------------------------------ writing
def _write_npy(path: str, array: np.ndarray) -> dict:
    """Write ``.npy`` bytes (no pickle) through TensorFlow's file systems; the manifest record."""
    import tensorflow as tf

    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    payload = buffer.getvalue()
    with tf.io.gfile.GFile(path, "wb") as handle:
        handle.write(payload)
    return {"file": os.path.basename(path), "bytes": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}


def _example_digest(image, label) -> bytes:
    digest = hashlib.sha256()
    image = np.ascontiguousarray(image)
    digest.update(f"x|{image.shape}|{image.dtype.str}|".encode())
    digest.update(memoryview(image).cast("B"))
    if label is None:
        digest.update(b"y|none")
    else:
        label = np.ascontiguousarray(label)
        digest.update(f"y|{label.shape}|{label.dtype.str}|".encode())
        digest.update(memoryview(label).cast("B"))
    return digest.digest()


def _write_shard(directory, shard_key, rows):
    """Write one shard's rows (sorted by example key) and its JSON record; returns nothing."""
    import tensorflow as tf

    rows = sorted(rows, key=lambda row: row[0])
    part, chunk = shard_key
    stem = f"{part:06d}-{chunk:05d}"
    features = np.stack([row[1] for row in rows]).astype(np.float32)[:, None]  # (rows, 1 clean view, ...)
    record = {"key": [part, chunk], "rows": len(rows),
              "features": _write_npy(f"{directory}/features-{stem}.npy", features)}
    labels = [row[2] for row in rows]
    if labels[0] is not None:
        record["labels"] = _write_npy(f"{directory}/labels-{stem}.npy", np.stack([np.asarray(v) for v in labels]))
    digest = hashlib.sha256()
    for row in rows:
        digest.update(row[4])
    record["examples_sha256"] = digest.hexdigest()
    probe = [row for row in rows if row[3] is not None]
    if probe:
        record["probe_keys"] = [list(row[0]) for row in probe]
        record["probe_x"] = _write_npy(f"{directory}/probe-x-{stem}.npy", np.stack([row[3] for row in probe]))
        record["probe_features"] = _write_npy(f"{directory}/probe-features-{stem}.npy",
                                              np.stack([row[1] for row in probe]).astype(np.float32))
    with tf.io.gfile.GFile(f"{directory}/shard-{stem}.json", "w") as handle:
        handle.write(json.dumps(record))
    return []


# ------------------------------------------------------------------ entry
def beam_extract(backbone, data, cache_dir, views: int = 0, *, pipeline_options=None, batch_size: int = 64,
                 shard_size=None, verify: str = "full", verbose: bool = False, image_size=None, channels: int = 3,
                 image_key: str = "image", label_key: str = "label", tfds_data_dir=None, weights_from: str = "file",
                 augmentation=None):
    """Extract features with an Apache Beam pipeline into the cache format of ``keras_transfer.features.extract``.

    Called by ``keras_transfer.features.extract(..., runner="beam")``; see the module docstring for the pipeline.

    Args:
        backbone: keras_transfer Backbone (frozen; run with ``training=False``).
        data: ``(images, labels)`` / images arrays; a folder of class sub-folders of images; a folder, file or
            glob of TFRecord files of ``tf.train.Example`` (``image_key``: encoded image bytes, ``label_key``:
            int64 label); or ``"tfds:NAME[:SPLIT]"`` (a prepared tfds split; default split ``train``).
        cache_dir: str or os.PathLike (local or shared disk for DirectRunner / Flink / Spark on one file
            system; a ``gs://`` / ``s3://`` / ``hdfs://`` URL is accepted for the shards, see docs/scale.md).
        views: must be 0 (augmented views are random per worker; extract them in-process).
        pipeline_options: dict, list of flags or ``PipelineOptions`` (default: DirectRunner in-process).
        batch_size: int. Largest batch of one backbone call on a worker.
        shard_size: int or None. Examples per shard (None: about 64 MiB).
        verify: ``"full"`` or ``"size"``: how a found entry is checked.
        verbose: bool. Print what happened.
        image_size: ``(height, width)`` files are decoded to (default: the backbone's working resolution).
        channels: 3 (RGB) or 1 (grey) for decoded files.
        image_key, label_key: feature names in TFRecord / tfds examples.
        tfds_data_dir: str or None. tfds ``data_dir``.
        weights_from: ``"file"`` (stage the backbone as a ``.keras`` file beside the cache; any backbone) or
            ``"registry"`` (workers rebuild it by name with ``weights="imagenet"`` from their own weights).
        augmentation: unused (views must be 0); accepted for the same signature as ``extract``.

    Returns:
        FeatureCache: the entry (``hit`` True when it was already there).

    Raises:
        InvalidConfigError: bad pipeline options or runner, views > 0, a tf.data.Dataset as data, bad
            ``weights_from`` / ``channels`` / ``image_size``.
        InvalidInputError: unusable data.
        CacheDirectoryError: the cache cannot be written.
    """
    views, batch_size, shard_size, augmentation = _check_extract_args(
        backbone, views, batch_size, shard_size, verify, augmentation)
    if views:
        raise InvalidConfigError(
            f"runner='beam' extracts the clean features only. Received: views={views}. Augmented views are random "
            "per worker; extract them with runner='local', or pass views=0."
        )
    if weights_from not in ("file", "registry"):
        raise InvalidConfigError(
            f"weights_from must be 'file' or 'registry'. Received: weights_from={weights_from!r}. 'file' stages "
            "the backbone as a .keras file beside the cache; 'registry' rebuilds it by name on each worker."
        )
    require_beam()
    options, flags, recorded = check_pipeline_options(pipeline_options, cache_dir)
    source = _make_source(data, backbone, batch_size, image_size, channels, image_key, label_key, tfds_data_dir)
    remote = remote_path(str(cache_dir))
    root = str(cache_dir).rstrip("/") if remote else prepare_cache_dir(cache_dir)
    start = time.perf_counter()

    import tensorflow as tf

    from keras_transfer.features.beam_handler import BackboneModelHandler, save_backbone

    known_hash = source.data_hash()
    parts = fingerprint(backbone, data=known_hash or "pending", input_spec=source.input_spec, views=0)
    if known_hash is not None:
        entry = _entry_path(root, backbone, fingerprint_key(parts))
        cache = None if remote else _open_entry(entry, parts, verify)
        if cache is not None:
            if verbose:
                print(f"feature cache hit: {entry} ({cache.num_examples} examples)")
            return cache
    else:
        cache = _find_by_listing(root, backbone, parts, source.listing(), verify, remote)
        if cache is not None:
            if verbose:
                print(f"feature cache hit: {cache.path} ({cache.num_examples} examples, same files)")
            return cache
    tmp = f"{root}/.tmp-beam-{backbone.backbone_name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tf.io.gfile.makedirs(tmp)
    try:
        feature_shape = _feature_shape(backbone, source.input_spec)
        rows_per_shard = shard_size or max(1, SHARD_BYTES // (int(np.prod(feature_shape)) * 4))
        if weights_from == "file":
            model_path = save_backbone(backbone, f"{tmp}/backbone.keras", source.input_spec[0], source.input_spec[1])
            handler_source = {"model_path": model_path}
        else:
            handler_source = {"registry": {"name": backbone.backbone_name, "weights": "imagenet",
                                           "input_shape": tuple(backbone.image_shape[:2]),
                                           "pooling": backbone.pooling}}
        handler = BackboneModelHandler(
            **handler_source, spec=backbone.spec, expected_weights=parts["weights"], batch_size=batch_size,
            probe_keys={(0, i) for i in range(PROBE_SIZE)})
        _run_pipeline(options, source, handler, tmp, rows_per_shard)
        if weights_from == "file":
            tf.io.gfile.remove(f"{tmp}/backbone.keras")
        manifest, parts = _manifest(tmp, parts, source, recorded, feature_shape)
        entry = _entry_path(root, backbone, manifest["key"])
        if tf.io.gfile.exists(entry):
            if not remote:
                existing = _open_entry(entry, parts, verify)
                if existing is not None:
                    _remove(tmp)
                    return existing
            else:
                tf.io.gfile.rmtree(entry)
        tf.io.gfile.rename(tmp, entry)
    except OSError as error:
        _discard(tmp)
        raise CacheDirectoryError(
            f"Writing the feature cache failed ({getattr(error, 'strerror', None) or error}). Received: "
            f"cache_dir={root!r}. Free disk space or pass another directory."
        ) from error
    except BaseException:
        _discard(tmp)
        raise
    if verbose:
        print(f"feature cache built with Beam ({recorded['runner']}): {entry} ({manifest['num_examples']} examples, "
              f"{time.perf_counter() - start:.1f} s)")
    return FeatureCache(entry, manifest, hit=False)


def _find_by_listing(root, backbone, parts, listing, verify, remote):
    """A ready entry built from the same files (same listing) with the same backbone and settings, or None."""
    import tensorflow as tf

    for entry in sorted(tf.io.gfile.glob(f"{root}/{backbone.backbone_name}-*")):
        try:
            with tf.io.gfile.GFile(f"{entry}/{MANIFEST}") as handle:
                manifest = json.loads(handle.read())
        except (OSError, ValueError, tf.errors.OpError):
            continue
        theirs = manifest.get("fingerprint") or {}
        if (manifest.get("provenance") or {}).get("listing") != listing or \
                {k: v for k, v in theirs.items() if k != "data"} != {k: v for k, v in parts.items() if k != "data"}:
            continue
        if remote:
            return FeatureCache(entry, manifest, hit=True)
        return _open_entry(entry, theirs, verify)
    return None


def _discard(tmp):
    import tensorflow as tf

    try:
        if tf.io.gfile.exists(tmp):
            tf.io.gfile.rmtree(tmp)
    except Exception:  # best effort: a later run ignores .tmp-* folders
        pass


def _make_source(data, backbone, batch_size, image_size, channels, image_key, label_key, tfds_data_dir):
    import tensorflow as tf

    if isinstance(data, tf.data.Dataset):
        raise InvalidConfigError(
            "runner='beam' reads files or arrays on its workers, not a tf.data.Dataset of this process. Received: "
            "a tf.data.Dataset. Pass a folder of images, TFRecord files, 'tfds:NAME[:SPLIT]' or (x, y) arrays, or "
            "use runner='local'."
        )
    if isinstance(data, os.PathLike):
        data = os.fspath(data)
    if isinstance(data, str):
        if channels not in (1, 3):
            raise InvalidConfigError(f"channels must be 1 or 3. Received: channels={channels!r}.")
        if image_size is None:
            image_size = tuple(int(v) for v in backbone.image_shape[:2])
        from keras_transfer.data.image_folder import is_image_size

        if not is_image_size(image_size):
            raise InvalidConfigError(
                f"image_size must be (height, width), two positive ints. Received: image_size={image_size!r}.")
        if not data.startswith("tfds:") and not remote_path(data) and not os.path.exists(data) \
                and not any(ch in data for ch in "*?["):
            raise InvalidInputError(
                f"The data path does not exist. Received: data={data!r}. Pass a folder of class sub-folders of "
                "images, TFRecord files or 'tfds:NAME[:SPLIT]'."
            )
        return _FileSource(data, image_size, channels, image_key, label_key, tfds_data_dir)
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return _ArraySource(data[0], data[1], batch_size)
    if isinstance(data, (tuple, list)):
        raise InvalidInputError(
            f"data must be images, an (images, labels) pair, a folder, TFRecord files or 'tfds:NAME'. Received: a "
            f"{type(data).__name__} of length {len(data)}."
        )
    return _ArraySource(data, None, batch_size)


def _feature_shape(backbone, input_spec):
    shape = tuple(d or 32 for d in input_spec[0])
    out = backbone(np.zeros((1,) + shape, input_spec[1]), training=False)
    return tuple(int(d) for d in out.shape[1:])


def _run_pipeline(options, source, handler, tmp, rows_per_shard):
    import apache_beam as beam
    from apache_beam.ml.inference.base import RunInference

    def decode(seed):
        # The label slot carries (label, sha256 of the decoded example) through RunInference untouched.
        for key, image, label in source.expand(seed):
            yield key, image, (label, _example_digest(image, label))

    def by_shard(result):
        key, features, (label, digest), image = result
        return (key[0], key[1] // rows_per_shard), (key, features, label, image, digest)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with beam.Pipeline(options=options) as pipeline:
            _ = (
                pipeline
                | "Sources" >> beam.Create(source.seeds())
                | "Spread" >> beam.Reshuffle()
                | "Decode" >> beam.FlatMap(decode)
                | "Backbone" >> RunInference(handler)
                | "KeyByShard" >> beam.Map(by_shard)
                | "Group" >> beam.GroupByKey()
                | "Write" >> beam.FlatMap(lambda kv: _write_shard(tmp, kv[0], list(kv[1])))
            )


def _manifest(tmp, parts, source, recorded, feature_shape):
    """Read the shards' records (workers wrote them), write probe and manifest last; ``(manifest, parts)``."""
    import tensorflow as tf

    records = []
    for path in tf.io.gfile.glob(f"{tmp}/shard-*.json"):
        with tf.io.gfile.GFile(path) as handle:
            records.append(json.loads(handle.read()))
        tf.io.gfile.remove(path)
    if not records:
        raise InvalidInputError("The data holds no images. Received: an empty source. Pass at least one image.")
    records.sort(key=lambda r: tuple(r["key"]))
    probe = []
    for record in records:
        if "probe_x" in record:
            x, f = (_read_npy(f"{tmp}/{record[name]['file']}") for name in ("probe_x", "probe_features"))
            probe.extend(zip(map(tuple, record["probe_keys"]), x, f))
            for name in ("probe_x", "probe_features"):
                tf.io.gfile.remove(f"{tmp}/{record[name]['file']}")
    probe = sorted(probe, key=lambda item: item[0])[:PROBE_SIZE]
    if source.data_hash() is None:
        digest = hashlib.sha256(f"beam-examples|{source.input_spec}|".encode())
        for record in records:
            digest.update(f"{record['rows']}|{record['examples_sha256']}|".encode())
        parts = dict(parts, data=digest.hexdigest())
    key = fingerprint_key(parts)
    labelled = [("labels" in r) for r in records]
    if any(labelled) and not all(labelled):
        raise InvalidInputError("Some examples have labels and some do not. Received: a partly labelled source. "
                                "Label every example or none.")
    label_info = None
    if all(labelled):
        first = _read_npy(f"{tmp}/{records[0]['labels']['file']}")
        label_info = {"shape": list(first.shape[1:]), "dtype": first.dtype.name}
    shards = []
    for r in records:
        shard = {"rows": r["rows"], "features": r["features"]}
        if "labels" in r:
            shard["labels"] = r["labels"]
        shards.append(shard)
    manifest = {
        "format": parts["format"],
        "key": key,
        "fingerprint": parts,
        "num_examples": int(sum(r["rows"] for r in records)),
        "views": 0,
        "feature_shape": list(feature_shape),
        "labels": label_info,
        "shards": shards,
        "probe": {
            "x": _write_npy(f"{tmp}/probe-x.npy", np.stack([item[1] for item in probe])),
            "features": _write_npy(f"{tmp}/probe-features.npy", np.stack([item[2] for item in probe])),
        },
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "provenance": {"extractor": "beam", "source": source.kind, "description": source.description,
                       "listing": source.listing(), "runner": recorded["runner"], "pipeline_options": recorded},
    }
    with tf.io.gfile.GFile(f"{tmp}/{MANIFEST}.partial", "w") as handle:
        handle.write(json.dumps(manifest, indent=1))
    tf.io.gfile.rename(f"{tmp}/{MANIFEST}.partial", f"{tmp}/{MANIFEST}", overwrite=True)
    return manifest, parts


def _read_npy(path):
    import tensorflow as tf

    with tf.io.gfile.GFile(path, "rb") as handle:
        return np.load(io.BytesIO(handle.read()), allow_pickle=False)
