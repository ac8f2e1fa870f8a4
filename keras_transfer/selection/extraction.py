"""Features of one candidate on the ranking data, extracted once, and its measured inference time.

Image backbones go through the feature cache (``keras_transfer.features.extract``): the entry is named by a
fingerprint of the backbone, its weights, preprocessing and the data, so ranking again is a cache hit. Text (and
audio) backbones, which that cache does not take, are stored beside it as one ``.npy`` file named by a sha256 of
the backbone's name, config, weights and the data.
"""

import hashlib
import json
import os
import time

import numpy as np

from keras_transfer.atomic import atomic_write
from keras_transfer.features import extract, prepare_cache_dir
from keras_transfer.features.fingerprint import data_hash, weights_hash

__all__ = ["candidate_features", "features_and_entry", "inference_ms", "load_entry"]


def _other_features(backbone, x, y, cache_dir, batch_size):
    """``(features, hit, path)`` for a backbone the feature cache does not take (text, audio)."""
    root = prepare_cache_dir(cache_dir)
    config = json.dumps(backbone.get_config(), sort_keys=True, default=str)
    parts = f"{backbone.backbone_name}|{config}|{weights_hash(backbone)}|{data_hash(np.asarray(x), y)}"
    key = hashlib.sha256(parts.encode()).hexdigest()[:24]
    path = os.path.join(root, f"selection-{backbone.backbone_name.replace('/', '_')}-{key}.npy")
    if os.path.isfile(path):
        try:
            return np.load(path, allow_pickle=False), True, path
        except (OSError, ValueError):
            pass  # damaged: extracted again and rewritten below
    features = np.concatenate([
        np.asarray(backbone(x[start:start + batch_size], training=False), dtype=np.float32)
        for start in range(0, len(x), batch_size)
    ])
    with atomic_write(path, "wb") as handle:
        np.save(handle, features, allow_pickle=False)
    return features, False, path


def candidate_features(backbone, x, y, cache_dir, *, batch_size: int = 64):
    """The candidate's pooled features of ``x``, from the cache when they were extracted before.

    Args:
        backbone: a keras_transfer backbone (image, text or audio).
        x: inputs (uint8 / float images, or an array of strings).
        y: labels (part of the cache key).
        cache_dir: str. The feature cache folder.
        batch_size: int.

    Returns:
        tuple ``(features (n, d) float32, hit)``: ``hit`` says the features came from the cache.
    """
    features, hit, _, _ = features_and_entry(backbone, x, y, cache_dir, batch_size=batch_size)
    return features, hit


def features_and_entry(backbone, x, y, cache_dir, *, batch_size: int = 64):
    """``candidate_features`` and where they are stored.

    Returns:
        tuple ``(features, hit, entry, kind)``: ``entry`` is the feature-cache entry folder (``kind``
        ``"features"``) or the ``.npy`` file (``kind`` ``"array"``).
    """
    from keras_transfer.backbones import ImageBackbone

    if isinstance(backbone, ImageBackbone):
        cache = extract(backbone, (x, y), cache_dir, batch_size=batch_size)
        features, _ = cache.load()
        return np.asarray(features, np.float32).reshape(len(features), -1), cache.hit, cache.path, "features"
    features, hit, path = _other_features(backbone, np.asarray(x), y, cache_dir, batch_size)
    return features.reshape(len(features), -1), hit, path, "array"


def load_entry(cache_dir, entry: str, kind: str, data: str, num_examples: int):
    """The features stored at a recorded entry, checked; None when it is gone, damaged or holds other data.

    Args:
        cache_dir: str. The feature cache folder.
        entry: str. The entry's name in ``cache_dir``.
        kind: ``"features"`` (a feature-cache entry, every shard's sha256 checked) or ``"array"`` (a ``.npy``).
        data: str. ``data_hash`` of the ranked examples (a feature-cache entry must hold features of that data).
        num_examples: int. Rows expected.

    Returns:
        float32 array ``(n, d)`` or None.
    """
    from keras_transfer.features.feature_cache import FeatureCache

    path = os.path.join(cache_dir, os.path.basename(entry))
    try:
        if kind == "features":
            manifest = FeatureCache.read_manifest(path)
            cache = FeatureCache(path, manifest, hit=True)
            if cache.fingerprint.get("data") != data or cache.check("full") is not None:
                return None
            features, _ = cache.load()
        elif kind == "array":
            features = np.load(path, allow_pickle=False)
        else:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    features = np.asarray(features, np.float32).reshape(len(features), -1)
    return features if len(features) == num_examples else None


def inference_ms(backbone, example, repeats: int = 7) -> float:
    """Median wall time of the backbone on one example (batch of 1, traced, after two warm-up calls), in ms.

    An image backbone runs through the traced function of its feature extraction
    (``keras_transfer.features.feature_function``): after ``extract`` it is not traced again.

    Args:
        backbone: a keras_transfer backbone.
        example: one raw input with its batch axis, e.g. ``x[:1]``.
        repeats: int. Timed calls.

    Returns:
        float: milliseconds per image.
    """
    import tensorflow as tf

    from keras_transfer.backbones import ImageBackbone
    from keras_transfer.features.cache import feature_function

    inputs = tf.constant(example)
    if isinstance(backbone, ImageBackbone):
        call = feature_function(backbone, tf.TensorSpec((None,) + tuple(inputs.shape[1:]), inputs.dtype))
    else:
        call = tf.function(lambda batch: backbone(batch, training=False), autograph=False)
    try:
        call(inputs)
    except (TypeError, ValueError, tf.errors.OpError):  # a backbone that cannot be traced: time it eagerly
        call = lambda batch: backbone(batch, training=False)  # noqa: E731
    call(inputs)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        np.asarray(call(inputs))
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000.0)
