"""Shared fixtures of the recipe tests: the tiny arrays file (``keras_transfer.testing.write_tiny_arrays``)."""

import pytest


@pytest.fixture(scope="session")
def tiny_arrays(tmp_path_factory):
    from keras_transfer.testing import register_tiny_backbone, write_tiny_arrays

    register_tiny_backbone()
    return write_tiny_arrays(tmp_path_factory.mktemp("recipe-data") / "tiny.npz")
