import threading

import numpy as np
import pytest
import tensorflow_datasets as tfds_lib

from keras_transfer.data import tfds
from keras_transfer.data import tfds_source
from keras_transfer.errors import DatasetUnavailableError, InvalidConfigError, InvalidInputError


def _call_with_deadline(fn, seconds=20):
    """Run fn in a thread; fail (instead of hanging) if it has not returned in time."""
    outcome = {}

    def target():
        try:
            outcome["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - re-raised below
            outcome["error"] = e

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"the call did not return within {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_mock_data_train_and_test():
    with tfds_lib.testing.mock_data(num_examples=40):
        splits = tfds("mnist", seed=1)
    (x, y), (xt, yt) = splits.train, splits.test
    assert x.shape == (40, 28, 28, 1) and x.dtype == np.uint8
    assert y.dtype == np.int64 and 0 <= y.min() and y.max() < 10
    assert splits.validation is None and xt.shape == (40, 28, 28, 1)
    assert splits.class_names == [str(i) for i in range(10)]
    assert "tfds 'mnist'" in splits.summary()


def test_mock_data_split_dict_resize_max_examples_and_features():
    with tfds_lib.testing.mock_data(num_examples=30):
        splits = tfds("mnist", split={"train": "train", "validation": "test"},
                      image_size=(32, 24), max_examples=12, as_supervised=False)
        three = tfds("cifar10", split=("train", "test", "test"), max_examples=5)
    assert splits.train[0].shape == (12, 32, 24, 1)
    assert splits.validation[0].shape == (12, 32, 24, 1) and splits.test is None
    assert three.train[0].shape == (5, 32, 32, 3)
    assert three.validation is not None and three.test is not None


def test_mock_data_n_per_class_and_determinism():
    with tfds_lib.testing.mock_data(num_examples=200):
        a = tfds("mnist", n_per_class=3, seed=5)
        b = tfds("mnist", n_per_class=3, seed=5)
        with pytest.raises(InvalidInputError, match=r"n_per_class=1000` asks for more examples than 10 class\(es\) have in split 'train': class 0 has \d+"):
            tfds("mnist", n_per_class=1000)
    assert np.bincount(a.train[1], minlength=10).tolist() == [3] * 10
    np.testing.assert_array_equal(a.train[0], b.train[0])
    assert len(a.test[1]) == 200  # test is not subsampled


def test_unknown_name_suggests_close_matches():
    with pytest.raises(InvalidConfigError) as e:
        tfds("mnistt")
    msg = str(e.value)
    assert "Unknown tensorflow-datasets name 'mnistt'" in msg
    assert "'mnist'" in msg and "Close matches" in msg
    assert "load_dataset" in msg


def test_offline_and_not_prepared_fails_fast(tmp_path, monkeypatch):
    # Whatever this machine's network, the probe says offline: download=None must not retry.
    monkeypatch.setattr(tfds_source, "_can_reach", lambda *a, **k: False)
    with pytest.raises(DatasetUnavailableError) as e:
        _call_with_deadline(lambda: tfds("mnist", data_dir=str(tmp_path)))
    msg = str(e.value)
    assert "not prepared in data_dir" in msg and "cannot download it" in msg
    assert "data_dir=" in msg and "machine with internet" in msg
    assert "['animal_mnist', 'digits', 'elpv', 'mnist5k']" in msg
    with pytest.raises(DatasetUnavailableError, match="download=True"):
        _call_with_deadline(lambda: tfds("mnist", data_dir=str(tmp_path), download=True))


def test_download_false_never_probes_network(tmp_path, monkeypatch):
    def probe(*a, **k):
        raise AssertionError("download=False must not probe the network")

    monkeypatch.setattr(tfds_source, "_can_reach", probe)
    with pytest.raises(DatasetUnavailableError, match="download=False forbids downloading"):
        _call_with_deadline(lambda: tfds("mnist", data_dir=str(tmp_path), download=False))


def test_probe_reports_an_unreachable_host_quickly():
    # A local port nothing listens on: the probe answers False at once, and the suite sends no traffic
    # outside this machine (the offline path itself is tested above with the probe replaced).
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.perf_counter()
    assert tfds_source._can_reach(("127.0.0.1", port), timeout=1.0) is False
    assert time.perf_counter() - start < 2.5


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(download="yes"), r"Received: download='yes'"),
        (dict(split=("a", "b", "c", "d")), r"tuple of 1 to 3"),
        (dict(split={"training": "train"}), r"Received: split=\{'training': 'train'\}"),
        (dict(split={"test": "test"}, n_per_class=2), r"`split` has none"),
        (dict(image_size=(28,)), r"Received: image_size=\(28,\)"),
        (dict(max_examples=0), r"Received: max_examples=0"),
    ],
)
def test_invalid_arguments(kwargs, pattern):
    with pytest.raises(InvalidConfigError, match=pattern):
        tfds("mnist", **kwargs)


def test_online_and_not_prepared_downloads(tmp_path, monkeypatch):
    calls = []

    class Downloading(Exception):
        pass

    def fake_load(name, download, **kwargs):
        calls.append(download)
        if not download:
            raise AssertionError(f"Dataset {name}: could not find data in {kwargs['data_dir']}.")
        raise Downloading()

    monkeypatch.setattr(tfds_source, "_can_reach", lambda *a, **k: True)
    monkeypatch.setattr(tfds_lib, "load", fake_load)
    with pytest.raises(Downloading):
        tfds("mnist", data_dir=str(tmp_path))
    assert calls == [False, True]
