"""`weights.locations`: one folder rule for the converted-weights cache and the downloaded-wheels cache."""

import os
from pathlib import Path

import pytest

import keras_transfer.weights.locations as locations
from keras_transfer.weights import cache_dir, packages_dir


@pytest.mark.parametrize("folder, variable, leaf", [
    (cache_dir, "KERAS_TRANSFER_CACHE", "weights"),
    (packages_dir, "KERAS_TRANSFER_PACKAGES", "packages"),
])
def test_environment_then_source_checkout_then_home(folder, variable, leaf, monkeypatch, tmp_path):
    monkeypatch.setenv(variable, str(tmp_path / "chosen"))
    assert folder() == tmp_path / "chosen"
    monkeypatch.delenv(variable)
    root = Path(locations.__file__).resolve().parents[2]
    if (root / "setup.cfg").is_file() and os.access(root / "saved_models", os.W_OK):
        assert folder() == root / "saved_models" / leaf
    else:
        assert folder() == Path.home() / ".cache" / "keras_transfer" / leaf
