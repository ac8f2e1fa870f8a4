import numpy as np
import pytest

from keras_transfer.data import Splits


def _xy(n, c=1):
    return np.zeros((n, 2, 2, c), np.uint8), np.arange(n, dtype=np.int64) % 2


def test_num_classes_and_summary():
    splits = Splits(train=_xy(6), test=_xy(4), class_names=["cat", "dog"], source="toy")
    assert splits.num_classes == 2
    assert splits.validation is None
    text = splits.summary()
    assert "Splits of toy: 2 classes" in text
    assert "cat, dog" in text
    assert "train" in text and "6 examples" in text
    assert "per class min 3 / max 3" in text
    assert "validation -" in " ".join(text.split())
    assert repr(splits) == "Splits(train=6, validation=None, test=4, num_classes=2)"


def test_summary_mentions_skipped_files():
    splits = Splits(train=_xy(2), class_names=["a", "b"], skipped=[("bad.jpg", "OSError: x")])
    assert "skipped 1 unreadable file(s)" in splits.summary()
    assert "bad.jpg" in splits.summary()


def test_class_names_become_strings():
    assert Splits(train=_xy(2), class_names=[0, 1]).class_names == ["0", "1"]


def test_rejects_split_that_is_not_a_pair():
    with pytest.raises(TypeError, match=r"must be an `\(x, y\)` tuple.*Received: train=tuple of length 3"):
        Splits(train=(1, 2, 3))


def test_rejects_length_mismatch():
    x, _ = _xy(3)
    with pytest.raises(ValueError, match=r"Received: len\(x\)=3, len\(y\)=2"):
        Splits(test=(x, np.zeros(2)))
