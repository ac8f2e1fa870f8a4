"""The public API of keras_transfer.data: explicit exports and complete docstrings."""

import inspect
import re

import pytest

import keras_transfer.data as data

FUNCTIONS = [name for name in data.__all__ if inspect.isfunction(getattr(data, name))]


def test_all_is_explicit_and_importable():
    assert sorted(data.__all__) == sorted([
        "Splits", "from_arrays", "subsample_per_class", "image_folder", "image_stream", "ImageStream", "tfds",
        "load_dataset", "list_datasets", "validate_images", "validate_labels",
        "validate_dataset", "validate_texts", "check_text_spec", "csv_text", "rotten_tomatoes",
        "validate_waveforms", "wav_folder", "resample", "synthetic_audio",
    ])
    for name in data.__all__:
        assert getattr(data, name) is not None


@pytest.mark.parametrize("name", FUNCTIONS)
def test_docstring_sections(name):
    fn = getattr(data, name)
    doc = inspect.getdoc(fn)
    for section in ("Returns:", "Raises:", "Examples:"):
        assert section in doc, f"{name} lacks {section}"
    assert f"keras_transfer.data.{name}(" in doc.split("Examples:")[1]
    params = [p for p in inspect.signature(fn).parameters]
    if params:
        args = doc.split("Args:")[1].split("Returns:")[0]
        for p in params:
            # Every parameter is documented with a type: "name: `type`, ...".
            assert re.search(rf"^\s+{p}: `", args, re.M), f"{name}: {p} undocumented"


def test_splits_docstring():
    doc = inspect.getdoc(data.Splits)
    assert "Attributes:" in doc and "Examples:" in doc
    assert "keras_transfer.data." in doc
    assert "Returns:" in inspect.getdoc(data.Splits.summary)
