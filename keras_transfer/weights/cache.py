"""The cache of converted weights: one ``.npz`` of name → array per converted checkpoint.

Where it lives, first match wins:

The name → array format is also the torch-free way to move weights between models: ``"<layer name>/<index>"``
→ the layer's ``get_weights()[index]`` (see :func:`weights_by_layer_name` / :func:`set_weights_by_layer_name`).

1. ``$KERAS_TRANSFER_CACHE`` when set;
2. ``<repo>/saved_models/weights`` when the package runs from a source checkout (editable install) whose
   folder is writable;
3. ``~/.cache/keras_transfer/weights``.

Files are written atomically (:func:`keras_transfer.atomic.atomic_write`) and read with
``np.load(allow_pickle=False)``, so a cache file can never execute code.
"""

import zipfile
from pathlib import Path

import numpy as np

from keras_transfer.atomic import atomic_write
from keras_transfer.errors import CorruptWeightsError, InvalidConfigError
from keras_transfer.weights.locations import user_folder

__all__ = [
    "cache_dir",
    "save_arrays",
    "load_arrays",
    "weights_by_layer_name",
    "set_weights_by_layer_name",
]

_ENV = "KERAS_TRANSFER_CACHE"


def cache_dir():
    """Returns the folder holding converted weights (it may not exist yet).

    Returns:
        pathlib.Path: ``$KERAS_TRANSFER_CACHE``, else ``<repo>/saved_models/weights`` in a writable source
        checkout, else ``~/.cache/keras_transfer/weights``.

    Examples:

    >>> from keras_transfer.weights import cache_dir
    >>> cache_dir().name
    'weights'
    """
    return user_folder(_ENV, "weights")


def save_arrays(path, arrays):
    """Writes ``arrays`` to ``path`` as an ``.npz``, atomically (readers never see a half-written file).

    Args:
        path: str or pathlib.Path. Destination, ending in ``.npz``.
        arrays: dict[str, numpy.ndarray]. Names may contain ``/``.

    Returns:
        pathlib.Path: ``path``.

    Examples:

    >>> import numpy as np, tempfile, pathlib
    >>> from keras_transfer.weights import save_arrays, load_arrays
    >>> p = save_arrays(pathlib.Path(tempfile.mkdtemp()) / "w.npz", {"dense/0": np.ones(2)})
    >>> load_arrays(p)["dense/0"].tolist()
    [1.0, 1.0]
    """
    path = Path(path)
    with atomic_write(path, "wb") as f:
        np.savez(f, **{name: np.asarray(a) for name, a in arrays.items()})
    return path


def load_arrays(path):
    """Reads an ``.npz`` written by :func:`save_arrays` fully into memory, without unpickling.

    Args:
        path: str or pathlib.Path.

    Returns:
        dict[str, numpy.ndarray].

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CorruptWeightsError: the file is not a readable ``.npz`` of plain arrays.

    Examples:

    >>> from keras_transfer.weights import load_arrays
    >>> arrays = load_arrays("saved_models/weights/some.npz")  # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such weights file. Received: path={str(path)!r}.")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as e:
        raise CorruptWeightsError(
            f"The weights file {path} is corrupt or not an .npz of plain arrays ({type(e).__name__}: {e}). "
            "Delete it and let it be rebuilt, or write it again."
        ) from e


def _leaf_layers(model):
    """Layers of ``model`` that are not themselves models, depth first (nested backbones included)."""
    import keras  # TensorFlow-heavy: only once a model is here (keras_transfer.data imports this module)

    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaf_layers(layer)
        else:
            yield layer


def weights_by_layer_name(model):
    """Flattens a model's weights to ``{"<layer name>/<index>": array}``, the format of the cache files.

    Args:
        model: keras.Model. Layer names must be unique among layers holding weights (nested models are entered).

    Returns:
        dict[str, numpy.ndarray].

    Raises:
        InvalidConfigError: two layers with weights share a name.

    Examples:

    >>> import keras
    >>> from keras_transfer.weights import weights_by_layer_name
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d")])
    >>> sorted(weights_by_layer_name(model))
    ['d/0', 'd/1']
    """
    out = {}
    for layer in _leaf_layers(model):
        values = layer.get_weights()
        if values and f"{layer.name}/0" in out:
            raise InvalidConfigError(
                f"Two layers with weights are named '{layer.name}': weights stored by layer name would be "
                f"ambiguous. Received: model '{model.name}'. Give the layers unique names."
            )
        for i, value in enumerate(values):
            out[f"{layer.name}/{i}"] = value
    return out


def set_weights_by_layer_name(model, arrays, source="the weights file"):
    """Assigns ``{"<layer name>/<index>": array}`` to the layers of ``model`` with those names.

    Entries for layers ``model`` does not have (e.g. the classifier when it was built with
    ``include_top=False``) are skipped. Every layer of ``model`` that holds weights must be present.

    Args:
        model: keras.Model. Nested models are entered.
        arrays: dict[str, numpy.ndarray], e.g. from :func:`load_arrays`.
        source: str. Where ``arrays`` came from, quoted in error messages.

    Returns:
        int: the number of layers assigned.

    Raises:
        CorruptWeightsError: a layer of ``model`` with weights is missing from ``arrays``, has a different number
            of weights, or a shape differs.

    Examples:

    >>> import keras
    >>> from keras_transfer.weights import set_weights_by_layer_name, weights_by_layer_name
    >>> a = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d")])
    >>> b = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d")])
    >>> set_weights_by_layer_name(b, weights_by_layer_name(a))
    1
    """
    assigned = 0
    for layer in _leaf_layers(model):
        current = layer.get_weights()
        if not current:
            continue
        names = [f"{layer.name}/{i}" for i in range(len(current))]
        if names[0] not in arrays:
            raise CorruptWeightsError(
                f"Layer '{layer.name}' of model '{model.name}' has weights but {source} has none for it. "
                f"Received: {len(arrays)} arrays, e.g. {sorted(arrays)[:3]}. Build the model with the builder "
                "that matches these weights, or delete the file to rebuild it."
            )
        extra = f"{layer.name}/{len(current)}"
        if any(n not in arrays for n in names) or extra in arrays:
            count = sum(1 for n in arrays if n.rsplit("/", 1)[0] == layer.name)
            raise CorruptWeightsError(
                f"Layer '{layer.name}' holds {len(current)} weights but {source} has {count} for it. "
                "Build the model with the builder that matches these weights."
            )
        values = [arrays[n] for n in names]
        for name, new, old in zip(names, values, current):
            if tuple(new.shape) != tuple(old.shape):
                raise CorruptWeightsError(
                    f"Shape mismatch for layer '{layer.name}' (weight {name}): the model expects "
                    f"{tuple(old.shape)}, {source} has {tuple(new.shape)}. Build the model with matching "
                    "arguments (e.g. classes=1000 for ImageNet weights)."
                )
        layer.set_weights(values)
        assigned += 1
    return assigned
