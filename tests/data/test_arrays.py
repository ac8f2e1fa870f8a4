import numpy as np
import pytest

import keras_transfer
from keras_transfer.data import from_arrays, subsample_per_class
from keras_transfer.errors import InvalidConfigError, InvalidInputError


def tags(split):
    return split[0][:, 0, 0, 0].astype(int)


def test_stratified_disjoint_and_complete(tagged_images):
    x, y = tagged_images
    splits = from_arrays(x, y, validation_size=0.2, test_size=0.3, seed=1)
    tr, va, te = tags(splits.train), tags(splits.validation), tags(splits.test)
    assert (len(tr), len(va), len(te)) == (30, 12, 18)
    assert sorted(np.concatenate([tr, va, te]).tolist()) == list(range(60))
    for split, n in ((splits.train, 10), (splits.validation, 4), (splits.test, 6)):
        np.testing.assert_array_equal(np.bincount(split[1]), [n, n, n])
        # Labels travel with their images.
        np.testing.assert_array_equal(split[1], y[tags(split)])
    assert splits.train[1].dtype == np.int64
    assert splits.class_names == ["0", "1", "2"]


def test_absolute_counts(tagged_images):
    x, y = tagged_images
    splits = from_arrays(x, y, validation_size=6, test_size=9)
    assert len(splits.validation[1]) == 6 and len(splits.test[1]) == 9
    assert len(splits.train[1]) == 45


def test_zero_sizes_give_none_and_train_is_shuffled(tagged_images):
    x, y = tagged_images
    splits = from_arrays(x, y)
    assert splits.validation is None and splits.test is None
    assert sorted(tags(splits.train).tolist()) == list(range(60))
    assert tags(splits.train).tolist() != list(range(60))


def test_deterministic_under_seed(tagged_images):
    x, y = tagged_images
    a = from_arrays(x, y, validation_size=0.2, test_size=0.2, n_per_class=5, seed=3)
    b = from_arrays(x, y, validation_size=0.2, test_size=0.2, n_per_class=5, seed=3)
    c = from_arrays(x, y, validation_size=0.2, test_size=0.2, n_per_class=5, seed=4)
    for name in ("train", "validation", "test"):
        np.testing.assert_array_equal(tags(getattr(a, name)), tags(getattr(b, name)))
    assert set(tags(a.test)) != set(tags(c.test))


def test_n_per_class_subsamples_train_only(tagged_images):
    x, y = tagged_images
    full = from_arrays(x, y, validation_size=0.1, test_size=0.2, seed=0)
    small = from_arrays(x, y, validation_size=0.1, test_size=0.2, n_per_class=4, seed=0)
    np.testing.assert_array_equal(np.bincount(small.train[1]), [4, 4, 4])
    np.testing.assert_array_equal(tags(small.test), tags(full.test))
    np.testing.assert_array_equal(tags(small.validation), tags(full.validation))
    assert set(tags(small.train)) <= set(tags(full.train))


def test_n_per_class_too_large_names_class(tagged_images):
    x, y = tagged_images
    with pytest.raises(InvalidInputError) as e:
        from_arrays(x, y, class_names=["ant", "bee", "cow"], test_size=0.5, n_per_class=11)
    msg = str(e.value)
    assert "class 'ant' (id 0) has 10" in msg and "in the training split" in msg
    assert "Received: n_per_class=11" in msg and "at most 10" in msg


def test_string_labels_mapped_with_and_without_class_names(tagged_images):
    x, _ = tagged_images
    names = np.array(["dog", "cat", "emu"] * 20)
    inferred = from_arrays(x, names)
    assert inferred.class_names == ["cat", "dog", "emu"]
    order = np.argsort(tags(inferred.train))
    assert inferred.train[1][order][:3].tolist() == [1, 0, 2]
    given = from_arrays(x, names, class_names=["emu", "dog", "cat"])
    order = np.argsort(tags(given.train))
    assert given.train[1][order][:3].tolist() == [1, 2, 0]
    with pytest.raises(InvalidInputError, match=r"not in `class_names`: \['emu'\]"):
        from_arrays(x, names, class_names=["dog", "cat"])


def test_one_hot_labels_become_ids(tagged_images):
    x, y = tagged_images
    splits = from_arrays(x, np.eye(3)[y])
    np.testing.assert_array_equal(splits.train[1], y[tags(splits.train)])
    soft = np.full((60, 3), 1 / 3)
    with pytest.raises(InvalidInputError, match="cannot be stratified"):
        from_arrays(x, soft)


def test_class_names_cover_missing_top_class(tagged_images):
    x, y = tagged_images
    splits = from_arrays(x, y, class_names=["a", "b", "c", "d"])
    assert splits.num_classes == 4
    with pytest.raises(InvalidInputError, match=r"\[0, 2\)"):
        from_arrays(x, y, class_names=["a", "b"])
    with pytest.raises(InvalidConfigError, match="must be unique"):
        from_arrays(x, y, class_names=["a", "a", "b"])


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(test_size=1.0), r"fraction must be in \[0, 1\). Received: test_size=1.0"),
        (dict(test_size=-0.1), r"Received: test_size=-0.1"),
        (dict(validation_size=60), r"count must be in \[0, 60\).*validation_size=60"),
        (dict(validation_size="10%"), r"Received: validation_size='10%'"),
        (dict(test_size=True), r"Received: test_size=True"),
        (dict(validation_size=0.5, test_size=0.5), r"no training examples.*at most 57"),
        (dict(n_per_class=0), r"positive integer.*Received: n_per_class=0"),
        (dict(seed=1.5), r"Received: seed=1.5"),
    ],
)
def test_invalid_config(tagged_images, kwargs, pattern):
    x, y = tagged_images
    with pytest.raises(InvalidConfigError, match=pattern):
        from_arrays(x, y, **kwargs)


def test_invalid_inputs_are_reported(tagged_images):
    x, y = tagged_images
    with pytest.raises(InvalidInputError, match=r"x\[\.\.\., None\]"):
        from_arrays(x[..., 0], y)
    with pytest.raises(InvalidInputError, match=r"inputs have 60 examples but y has 59"):
        from_arrays(x, y[:-1])
    with pytest.raises(TypeError, match="not None"):
        from_arrays(x, None)


def test_small_class_keeps_a_training_example():
    x = np.zeros((12, 2, 2, 1), np.uint8)
    y = np.array([0] * 10 + [1] * 2)
    splits = from_arrays(x, y, test_size=0.5)
    assert np.bincount(splits.train[1], minlength=2)[1] >= 1
    assert len(splits.test[1]) == 6


def test_subsample_per_class_balanced_deterministic_nested(tagged_images):
    x, y = tagged_images
    xs, ys = subsample_per_class(x, y, 5, seed=2)
    np.testing.assert_array_equal(np.bincount(ys), [5, 5, 5])
    np.testing.assert_array_equal(ys, y[xs[:, 0, 0, 0]])
    xs2, _ = subsample_per_class(x, y, 5, seed=2)
    np.testing.assert_array_equal(xs, xs2)
    xs8, _ = subsample_per_class(x, y, 8, seed=2)
    assert set(xs[:, 0, 0, 0]) <= set(xs8[:, 0, 0, 0])
    xs_other, _ = subsample_per_class(x, y, 5, seed=3)
    assert set(xs[:, 0, 0, 0]) != set(xs_other[:, 0, 0, 0])


def test_subsample_per_class_errors_name_class_and_count():
    x = np.zeros((9, 1))
    y = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2])
    with pytest.raises(InvalidInputError) as e:
        subsample_per_class(x, y, 3)
    assert "class 2 has 2" in str(e.value) and "class 1" not in str(e.value)
    with pytest.raises(InvalidInputError, match=r"class 'cow' \(id 3\) has 0"):
        subsample_per_class(x, y, 2, class_names=["a", "b", "c", "cow"])
    with pytest.raises(InvalidConfigError, match="Received: n_per_class=2.5"):
        subsample_per_class(x, y, 2.5)
    with pytest.raises(InvalidInputError, match=r"np.argmax\(y, axis=1\)"):
        subsample_per_class(x, np.eye(3)[y], 2)


def test_public_path_works():
    x = np.zeros((4, 2, 2, 3), np.uint8)
    splits = keras_transfer.data.from_arrays(x, [0, 1, 0, 1])
    assert splits.train[0].shape == (4, 2, 2, 3)
