import numpy as np
import pytest
import tensorflow as tf

from keras_transfer.data import validate_dataset, validate_images, validate_labels
from keras_transfer.errors import InvalidInputError


# --------------------------------------------------------------------- images

def test_valid_images_pass_through():
    x = np.zeros((2, 5, 5, 3), np.uint8)
    assert validate_images(x) is x
    out = validate_images([[[[0.5]]]])
    assert isinstance(out, np.ndarray) and out.shape == (1, 1, 1, 1)
    assert validate_images(tf.zeros((1, 4, 4, 1))).shape == (1, 4, 4, 1)


def test_rank3_grey_refused_with_channel_fix():
    with pytest.raises(InvalidInputError) as e:
        validate_images(np.zeros((8, 28, 28), np.uint8))
    msg = str(e.value)
    assert "Received: x.shape=(8, 28, 28)" in msg and "x[..., None]" in msg
    assert "x[None]" not in msg


def test_rank3_single_image_mentions_both_fixes():
    with pytest.raises(InvalidInputError, match=r"x\[None\].*x\[\.\.\., None\]"):
        validate_images(np.zeros((28, 28, 3)))


def test_flattened_images_hint_reshape():
    with pytest.raises(InvalidInputError, match=r"reshape\(-1, 28, 28, 1\)"):
        validate_images(np.zeros((10, 784)))


@pytest.mark.parametrize(
    "shape, pattern",
    [
        ((4, 8, 8, 4), r"4 channels\). Drop the alpha channel with `x\[\.\.\., :3\]`"),
        ((4, 3, 8, 8), r"channels-first.*np.transpose\(x, \(0, 2, 3, 1\)\)"),
        ((4, 8, 8, 5), r"Received: x.shape=\(4, 8, 8, 5\) \(5 channels\)"),
        ((0, 8, 8, 1), r"empty.*Received: x.shape=\(0, 8, 8, 1\)"),
        ((2, 0, 8, 1), r"zero height or width"),
        ((2, 2, 2, 2, 1), r"\(rank 5\)"),
    ],
)
def test_bad_shapes(shape, pattern):
    with pytest.raises(InvalidInputError, match=pattern):
        validate_images(np.zeros(shape))


def test_nan_and_inf_counted_with_first_index():
    x = np.zeros((3, 2, 2, 1), np.float32)
    x[1, 0, 1, 0] = np.nan
    x[2, 1, 1, 0] = np.inf
    x[2, 0, 0, 0] = np.nan
    with pytest.raises(InvalidInputError) as e:
        validate_images(x, what="images")
    msg = str(e.value)
    assert "`images` contains 3 non-finite value(s) (2 NaN, 1 inf)" in msg
    assert "first is at index (1, 0, 1, 0)" in msg


@pytest.mark.parametrize(
    "value, pattern",
    [
        (np.array([[[["a"]]]]), r"not strings.*dtype=<U1"),
        (np.zeros((1, 2, 2, 1), bool), r"Received: x with dtype=bool"),
        (np.zeros((1, 2, 2, 1), complex), r"dtype=complex128"),
        ([np.zeros((2, 2, 1)), np.zeros((3, 3, 1))], r"different shapes"),
    ],
)
def test_bad_dtypes_and_ragged(value, pattern):
    with pytest.raises(InvalidInputError, match=pattern):
        validate_images(value)


@pytest.mark.parametrize("value", [None, {"a": 1}, "img.png"])
def test_wrong_python_type(value):
    with pytest.raises(TypeError, match="Received: x"):
        validate_images(value)


def test_dataset_given_as_images():
    ds = tf.data.Dataset.from_tensor_slices(np.zeros((2, 2, 2, 1)))
    with pytest.raises(TypeError, match="validate_dataset"):
        validate_images(ds)


# --------------------------------------------------------------------- labels

def test_valid_label_forms():
    assert validate_labels([0, 2, 1], n=3, num_classes=3).tolist() == [0, 2, 1]
    validate_labels(np.array([[0], [1]]), n=2, num_classes=2)
    validate_labels(np.array([0.0, 2.0]), n=2, num_classes=3)
    validate_labels(np.eye(3), n=3, num_classes=3)
    validate_labels(np.array([[0.9, 0.1], [0.2, 0.8]]), n=2, num_classes=2)
    validate_labels(np.array([[1, 1, 0], [0, 0, 0]]), n=2, num_classes=3, multi_label=True)
    validate_labels(np.array([0, 7, 1000]), n=3)  # num_classes=None: no range check


def test_length_mismatch_names_both_lengths():
    with pytest.raises(InvalidInputError, match=r"Received: len\(x\)=5, len\(y\)=4"):
        validate_labels(np.zeros(4, int), n=5)


def test_out_of_range_values_and_count_reported():
    y = np.array([0, 3, 1, 5, 3, -1])
    with pytest.raises(InvalidInputError) as e:
        validate_labels(y, n=6, num_classes=3)
    msg = str(e.value)
    assert "integers in [0, 3)" in msg and "4 label(s) are invalid" in msg
    assert "Received bad values: [-1, 3, 5]" in msg
    assert "negative" in msg and ">= num_classes=3" in msg


def test_non_integral_floats_reported():
    with pytest.raises(InvalidInputError, match=r"1 label\(s\).*non-integral.*\[1.5\]"):
        validate_labels(np.array([0.0, 1.5, 2.0]), n=3, num_classes=3)


def test_negative_without_num_classes():
    with pytest.raises(InvalidInputError, match=r"non-negative integers.*\[-2\]"):
        validate_labels(np.array([0, -2]), n=2)


def test_string_labels_point_to_string_lookup_and_from_arrays():
    with pytest.raises(InvalidInputError) as e:
        validate_labels(np.array(["cat", "dog"]), n=2)
    msg = str(e.value)
    assert "holds strings" in msg and "StringLookup" in msg
    assert "from_arrays(x, y, class_names=[...])" in msg
    with pytest.raises(InvalidInputError, match="StringLookup"):
        validate_labels(["cat", "dog"], n=2)


def test_nan_labels():
    with pytest.raises(InvalidInputError, match=r"1 non-finite.*index \(1,\)"):
        validate_labels(np.array([0.0, np.nan]), n=2)


def test_one_hot_width_and_row_sums():
    with pytest.raises(InvalidInputError, match=r"4 columns but there are 3 classes"):
        validate_labels(np.eye(4), n=4, num_classes=3)
    multi = np.array([[1, 1, 0], [0, 1, 0]])
    with pytest.raises(InvalidInputError, match=r"1 row\(s\) do not sum to 1; the first is row 0.*multi_label=True"):
        validate_labels(multi, n=2, num_classes=3)
    with pytest.raises(InvalidInputError, match=r"outside \[0, 1\].*\[2\]"):
        validate_labels(np.array([[2, 0], [0, 1]]), n=2, multi_label=True)


def test_multi_label_needs_2d():
    with pytest.raises(InvalidInputError, match=r"multi-hot of shape \(N, num_classes\).*y.shape=\(3,\)"):
        validate_labels([0, 1, 2], n=3, multi_label=True)


def test_label_rank_scalar_and_type_errors():
    with pytest.raises(InvalidInputError, match=r"rank 3"):
        validate_labels(np.zeros((2, 2, 2)), n=2)
    with pytest.raises(InvalidInputError, match="scalar"):
        validate_labels(3, n=1)
    with pytest.raises(TypeError, match="Received: y=None"):
        validate_labels(None, n=1)
    with pytest.raises(InvalidInputError, match=r"num_classes=0"):
        validate_labels([0], n=1, num_classes=0)


# --------------------------------------------------------------------- datasets

def _ds(x, y, *extra, batch=2):
    ds = tf.data.Dataset.from_tensor_slices((x, y, *extra))
    return ds.batch(batch) if batch else ds


def test_valid_datasets():
    x = np.zeros((4, 6, 6, 3), np.uint8)
    y = np.array([0, 1, 0, 1])
    ds = _ds(x, y)
    assert validate_dataset(ds, num_classes=2) is ds
    validate_dataset(_ds(x, y, np.ones(4, np.float32)))
    validate_dataset(_ds(x, np.eye(2)[y]), num_classes=2)
    validate_dataset(_ds(x, np.eye(2)[y]), num_classes=2, multi_label=True)
    nested = tf.data.Dataset.from_tensor_slices(({"a": x, "b": y}, y)).batch(2)
    validate_dataset(nested)  # Nested inputs are not image-checked.


def test_dataset_structure_errors():
    x = np.zeros((4, 6, 6, 1), np.uint8)
    with pytest.raises(InvalidInputError, match=r"yields single tensors.*Dataset.zip"):
        validate_dataset(tf.data.Dataset.from_tensor_slices(x).batch(2))
    dict_ds = tf.data.Dataset.from_tensor_slices({"image": x, "label": np.zeros(4)})
    with pytest.raises(InvalidInputError, match=r"yields dicts with keys \['image', 'label'\].*as_supervised=True"):
        validate_dataset(dict_ds)
    four = tf.data.Dataset.from_tensor_slices((x, x, x, x))
    with pytest.raises(InvalidInputError, match="yields a tuple of 4"):
        validate_dataset(four)
    with pytest.raises(TypeError, match=r"Received: dataset of type ndarray. For arrays"):
        validate_dataset(x)


def test_unbatched_dataset_says_batch():
    ds = _ds(np.zeros((4, 6, 6, 1), np.uint8), np.zeros(4, np.int64), batch=0)
    with pytest.raises(InvalidInputError) as e:
        validate_dataset(ds)
    assert "looks unbatched" in str(e.value) and "dataset.batch(32)" in str(e.value)
    assert "Received: x spec shape=(6, 6, 1)" in str(e.value)


def test_dataset_missing_channel_axis():
    ds = _ds(np.zeros((4, 6, 6), np.uint8), np.zeros(4, np.int64))
    with pytest.raises(InvalidInputError, match=r"x\[\.\.\., None\]"):
        validate_dataset(ds)


def test_dataset_channels_strings_and_labels():
    y = np.zeros(4, np.int64)
    with pytest.raises(InvalidInputError, match=r"Drop the alpha channel with `x\[\.\.\., :3\]`"):
        validate_dataset(_ds(np.zeros((4, 6, 6, 4), np.uint8), y))
    with pytest.raises(InvalidInputError, match=r"strings as x.*decode_image"):
        validate_dataset(_ds(np.array(["a.png"] * 4), y))
    with pytest.raises(InvalidInputError, match=r"string labels.*StringLookup"):
        validate_dataset(_ds(np.zeros((4, 6, 6, 1)), np.array(["cat"] * 4)))
    with pytest.raises(InvalidInputError, match=r"labels have 3 columns but there are 2 classes"):
        validate_dataset(_ds(np.zeros((4, 6, 6, 1)), np.eye(3)[[0, 1, 2, 0]]), num_classes=2)
    with pytest.raises(InvalidInputError, match=r"multi_label=True.*y spec shape=\(None,\)"):
        validate_dataset(_ds(np.zeros((4, 6, 6, 1)), y), multi_label=True)
    with pytest.raises(InvalidInputError, match="sample weights must be numeric"):
        validate_dataset(_ds(np.zeros((4, 6, 6, 1)), y, np.array(["w"] * 4)))


def test_ragged_dataset():
    rt = tf.ragged.constant([[[1], [2]], [[3]]], ragged_rank=1)
    ds = tf.data.Dataset.zip((tf.data.Dataset.from_tensors(rt), tf.data.Dataset.from_tensors([0, 1])))
    with pytest.raises(InvalidInputError, match="ragged images"):
        validate_dataset(ds)
