"""Fingerprints of a feature cache: what the cached features depend on, hashed cheaply and once."""

import hashlib
import json
from typing import Optional

import keras
import numpy as np

__all__ = ["FORMAT_VERSION", "data_hash", "fingerprint", "fingerprint_key", "weights_hash"]

#: Bumped whenever the on-disk layout or the extraction semantics change: old entries then miss.
FORMAT_VERSION = 1

_CHUNK_BYTES = 16 * 1024 * 1024


def weights_hash(backbone) -> str:
    """sha256 over every variable of the backbone (trainable or not, BatchNorm statistics included).

    Computed once per call (a few milliseconds for MobileNetV2's 2.2 M parameters). Variables are taken
    in path order with their path, shape and dtype, so renaming, reshaping or changing any value changes
    the hash.

    Args:
        backbone: keras_transfer.backbones.Backbone (any Keras layer with ``weights``).

    Returns:
        str: hex digest.

    Examples:
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> backbone = keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32))
    >>> len(keras_transfer.features.weights_hash(backbone))
    64
    """
    digest = hashlib.sha256()
    for variable in sorted(backbone.weights, key=lambda v: v.path):
        value = np.ascontiguousarray(np.asarray(variable.numpy()))
        digest.update(f"{variable.path}|{value.shape}|{value.dtype}|".encode())
        digest.update(memoryview(value).cast("B"))
    return digest.hexdigest()


def _update_with_array(digest, name: str, array) -> None:
    """Hash an array (numpy, memmap or tensor) chunk by chunk along axis 0: bounded memory."""
    array = array if isinstance(array, np.ndarray) else np.asarray(array)
    digest.update(f"{name}|{array.shape}|{array.dtype.str}|".encode())
    if array.size == 0:
        return
    if array.ndim == 0:
        digest.update(np.ascontiguousarray(array).tobytes())
        return
    row_bytes = max(1, array[:1].nbytes)
    step = max(1, _CHUNK_BYTES // row_bytes)
    for start in range(0, len(array), step):
        chunk = np.ascontiguousarray(array[start:start + step])
        digest.update(memoryview(chunk).cast("B"))


def data_hash(x, y=None) -> str:
    """sha256 of images and labels, read in chunks (memory stays bounded for memory-mapped arrays).

    Args:
        x: array ``(N, H, W, C)`` (numpy, ``np.memmap`` or tensor).
        y: labels array or None.

    Returns:
        str: hex digest.

    Examples:
    >>> import numpy as np
    >>> a = keras_transfer.features.data_hash(np.zeros((2, 8, 8, 1), "uint8"), np.array([0, 1]))
    >>> a == keras_transfer.features.data_hash(np.zeros((2, 8, 8, 1), "uint8"), np.array([1, 0]))
    False
    """
    digest = hashlib.sha256()
    _update_with_array(digest, "x", x)
    if y is None:
        digest.update(b"y|none")
    else:
        _update_with_array(digest, "y", y)
    return digest.hexdigest()


def dataset_hash_update(digest, batch) -> None:
    """Add one ``tf.data`` batch (a tensor or a tuple of tensors) to a running sha256."""
    items = batch if isinstance(batch, (tuple, list)) else (batch,)
    digest.update(f"batch|{len(items)}|".encode())
    for i, item in enumerate(items):
        _update_with_array(digest, f"part{i}", item.numpy() if hasattr(item, "numpy") else item)


def _augmentation_config(augmentation) -> Optional[str]:
    if augmentation is None:
        return None
    config = keras.saving.serialize_keras_object(augmentation)
    return json.dumps(config, sort_keys=True, default=str)


def fingerprint(backbone, *, data: str, input_spec, views: int = 0, augmentation=None) -> dict:
    """Everything the cached features depend on, as a plain JSON-able dict.

    Args:
        backbone: keras_transfer.backbones.Backbone.
        data: str. ``data_hash`` of the inputs (and labels).
        input_spec: ``(shape without batch, dtype name)`` of the raw images.
        views: int. Augmented views per example.
        augmentation: the augmentation layer used for the views, or None.

    Returns:
        dict with ``format``, ``backbone``, ``weights``, ``preprocessing``, ``input``, ``data``, ``views``
        and ``augmentation`` entries.
    """
    spec = backbone.spec
    shape, dtype = input_spec
    return {
        "format": FORMAT_VERSION,
        "backbone": backbone.backbone_name,
        "weights": weights_hash(backbone),
        "preprocessing": {
            "mode": spec.preprocessing,
            "image_shape": [int(v) for v in backbone.image_shape],
            "pooling": backbone.pooling,
            "dtype": str(backbone.compute_dtype),
        },
        "input": {"shape": [None if v is None else int(v) for v in shape], "dtype": str(dtype)},
        "data": data,
        "views": int(views),
        "augmentation": _augmentation_config(augmentation) if views else None,
    }


def fingerprint_key(parts: dict) -> str:
    """sha256 of the canonical JSON of a ``fingerprint`` dict.

    Args:
        parts: dict from ``fingerprint``.

    Returns:
        str: hex digest naming the cache entry.
    """
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
