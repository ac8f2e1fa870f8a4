"""Input checks run before any training work starts.

Each check fails fast with a message that says what was wrong, what was received and
how to fix it. Problems with the *type* of the argument (a dict where an array is
expected, a non-dataset given to `validate_dataset`) raise `TypeError`; problems with
the *contents* (shape, dtype, values) raise
`keras_transfer.errors.InvalidInputError`, a `ValueError`.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from keras_transfer.checks import is_int
from keras_transfer.data.channels import IMAGE_CHANNELS, check_image_channels
from keras_transfer.errors import InvalidInputError

__all__ = ["validate_images", "validate_labels", "validate_dataset"]

_MAX_SHOWN = 10


def _shown_values(values) -> str:
    """Format at most `_MAX_SHOWN` distinct values for a message."""
    values = np.unique(np.asarray(values).ravel())
    shown = [v.item() if hasattr(v, "item") else v for v in values[:_MAX_SHOWN]]
    text = ", ".join(repr(v) for v in shown)
    if values.size > _MAX_SHOWN:
        text += f", ... ({values.size - _MAX_SHOWN} more distinct)"
    return "[" + text + "]"


def _is_dataset(obj) -> bool:
    """True for a `tf.data.Dataset`, without importing TensorFlow when it is not loaded."""
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return False
    return isinstance(obj, tf.data.Dataset)


def _is_string_dtype(dtype) -> bool:
    return dtype.kind in ("U", "S")


def _object_holds_strings(arr) -> bool:
    if arr.dtype != object or arr.size == 0:
        return False
    first = arr.ravel()[0]
    return isinstance(first, (str, bytes))


def _to_array(value, *, what: str, kind: str) -> np.ndarray:
    """Convert `value` to a numpy array or raise a helpful error."""
    if value is None:
        raise TypeError(
            f"`{what}` must be an array of {kind}, not None. Received: {what}=None."
        )
    if _is_dataset(value):
        raise TypeError(
            f"`{what}` must be an array of {kind}; a tf.data.Dataset was given. "
            f"Received: {what}={type(value).__name__}. Check datasets with "
            f"`keras_transfer.data.validate_dataset(ds)` instead."
        )
    if isinstance(value, (dict, str, bytes, set)):
        raise TypeError(
            f"`{what}` must be an array of {kind} (numpy array, list or tensor). "
            f"Received: {what} of type {type(value).__name__}."
        )
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as e:
        raise InvalidInputError(
            f"`{what}` could not be converted to one numpy array ({e}). This usually "
            f"means its elements have different shapes (e.g. images of different "
            f"sizes). Received: {what} of type {type(value).__name__}. Resize all "
            f"{kind} to one shape first, e.g. with "
            f"`keras_transfer.data.image_folder(..., image_size=(224, 224))`."
        ) from None
    if arr.dtype == object and not _object_holds_strings(arr):
        try:
            arr = arr.astype(np.float64)
        except (ValueError, TypeError):
            raise InvalidInputError(
                f"`{what}` holds Python objects that are not numbers (ragged nested "
                f"lists or mixed types). Received: {what} with dtype=object, "
                f"shape={arr.shape}. Convert it to a numeric array of one shape."
            ) from None
    return arr


def _check_finite(arr: np.ndarray, *, what: str) -> None:
    if arr.dtype.kind != "f":
        return
    finite = np.isfinite(arr)
    if finite.all():
        return
    bad = ~finite
    count = int(bad.sum())
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    n_nan = int(np.isnan(arr).sum())
    raise InvalidInputError(
        f"`{what}` contains {count} non-finite value(s) ({n_nan} NaN, "
        f"{count - n_nan} inf); the first is at index {first} "
        f"(value {arr[first]!r}). Received: {what} with shape={arr.shape}, "
        f"dtype={arr.dtype}. Remove or repair these examples (e.g. "
        f"`np.nan_to_num`) before training."
    )


def validate_images(x, *, what: str = "x") -> np.ndarray:
    """Check that `x` is a non-empty batch of images `(N, H, W, C)` with C = 1 or 3.

    Grey images must keep an explicit channel axis: a rank-3 array `(N, H, W)` is
    refused (add the axis with `x[..., None]`) rather than guessed at, since a single
    `(H, W, C)` image has the same rank. Float arrays must be finite.

    Args:
        x: `np.ndarray` or array-like (list, `tf.Tensor`), the images.
        what: `str`, the argument name used in error messages.

    Returns:
        `np.ndarray`, `x` as a numpy array (no copy when it already was one).

    Raises:
        TypeError: `x` is None, a `tf.data.Dataset`, a dict or a string.
        keras_transfer.errors.InvalidInputError: `x` is ragged, empty, not numeric
            (strings, bool, complex), not rank 4, has a channel count other than 1
            or 3, or holds NaN / inf (the count and the first bad index are given).

    Examples:

    ```python
    import numpy as np
    import keras_transfer

    x = np.zeros((8, 28, 28), dtype="uint8")
    x = keras_transfer.data.validate_images(x[..., None])  # (8, 28, 28, 1): OK
    keras_transfer.data.validate_images(x[..., 0])  # InvalidInputError: add x[..., None]
    ```
    """
    arr = _to_array(x, what=what, kind="images")
    _check_pixel_dtype(arr, what)
    _check_image_rank(arr, what)
    shape = arr.shape
    if shape[0] == 0:
        raise InvalidInputError(
            f"`{what}` is empty: it holds no images. Received: {what}.shape={shape}. "
            f"Pass at least one image."
        )
    if shape[1] == 0 or shape[2] == 0:
        raise InvalidInputError(
            f"`{what}` has images of zero height or width. Received: "
            f"{what}.shape={shape}."
        )
    check_image_channels(shape, what=what)
    _check_finite(arr, what=what)
    return arr


def _check_pixel_dtype(arr, what):
    """Pixels must be numbers (uint8, int or float), not strings, bools or objects."""
    dtype = arr.dtype
    if _is_string_dtype(dtype) or _object_holds_strings(arr):
        raise InvalidInputError(
            f"`{what}` must hold numeric pixel values, not strings. Received: {what} "
            f"with dtype={dtype}. If these are file paths, load the images with "
            f"`keras_transfer.data.image_folder(path)` or `keras.utils.load_img`."
        )
    if dtype.kind not in ("u", "i", "f"):
        raise InvalidInputError(
            f"`{what}` must hold numeric pixel values (uint8, int or float). "
            f"Received: {what} with dtype={dtype}. Convert it, e.g. "
            f"`{what}.astype('uint8')` for 0/255 masks."
        )


def _check_image_rank(arr, what):
    """Images must be a batch (N, H, W, C); rank 3 and rank 2 get their likely fix."""
    shape = arr.shape
    if arr.ndim == 3:
        hint = f"add the channel axis with `{what}[..., None]` (grey images keep C=1)"
        if shape[-1] in IMAGE_CHANNELS:
            hint = (
                f"if this is one image (H, W, C), add the batch axis with `{what}[None]`; "
                f"if it is a batch of grey images (N, H, W), {hint}"
            )
        raise InvalidInputError(
            f"`{what}` must be a batch of images of shape (N, H, W, C) with C = 1 "
            f"or 3; a rank-3 array is ambiguous. Received: {what}.shape={shape}. "
            f"To fix: {hint}."
        )
    if arr.ndim == 2:
        hint = ""
        side = math.isqrt(shape[1]) if shape[1] > 0 else 0
        if side > 1 and side * side == shape[1]:
            hint = f" If these are flattened grey images, use `{what}.reshape(-1, {side}, {side}, 1)`."
        raise InvalidInputError(
            f"`{what}` must be a batch of images of shape (N, H, W, C) with C = 1 "
            f"or 3. Received: {what}.shape={shape} (rank 2).{hint}"
        )
    if arr.ndim != 4:
        raise InvalidInputError(
            f"`{what}` must be a batch of images of shape (N, H, W, C) with C = 1 "
            f"or 3. Received: {what}.shape={shape} (rank {arr.ndim})."
        )


def validate_labels(
    y, *, n: int, num_classes=None, multi_label: bool = False, what: str = "y"
) -> np.ndarray:
    """Check classification labels against the number of examples and classes.

    Accepted forms: integer class ids (or integral floats) of shape `(N,)` or
    `(N, 1)` in `[0, num_classes)`; one-hot / soft labels `(N, num_classes)` whose
    rows lie in [0, 1] and sum to 1; with `multi_label=True`, multi-hot labels
    `(N, num_classes)` with values in [0, 1].

    Args:
        y: `np.ndarray` or array-like, the labels.
        n: `int`, the number of examples (`len(x)`); `len(y)` must equal it.
        num_classes: `int` or `None`, the number of classes. `None` skips the
            range check of class ids and the width check of one-hot labels.
        multi_label: `bool`, whether each example may belong to several classes.
        what: `str`, the argument name used in error messages.

    Returns:
        `np.ndarray`, `y` as a numpy array, unchanged.

    Raises:
        TypeError: `y` is None, a `tf.data.Dataset`, a dict or a string.
        keras_transfer.errors.InvalidInputError: `len(y) != n`; string labels (map
            them to ids first); NaN / inf; non-integral or out-of-range class ids
            (the bad values and their count are given); one-hot rows that do not sum
            to 1; a label width that does not match `num_classes`.

    Examples:

    ```python
    import numpy as np
    import keras_transfer

    y = np.array([0, 1, 2, 1])
    keras_transfer.data.validate_labels(y, n=4, num_classes=3)  # OK
    keras_transfer.data.validate_labels(y, n=4, num_classes=2)  # InvalidInputError: 2
    ```
    """
    arr = _to_array(y, what=what, kind="labels")
    arr_num = _numeric_labels(arr, what)
    _check_label_count(arr, n, what)
    _check_finite(arr_num, what=what)
    if num_classes is not None and (not is_int(num_classes) or num_classes < 1):
        raise InvalidInputError(
            f"`num_classes` must be a positive integer or None. Received: "
            f"num_classes={num_classes!r}."
        )
    if arr.ndim > 2:
        raise InvalidInputError(
            f"`{what}` must be class ids (N,) or one-/multi-hot labels "
            f"(N, num_classes). Received: {what}.shape={arr.shape} (rank {arr.ndim})."
        )
    is_dense = arr.ndim == 2 and (arr.shape[1] > 1 or multi_label)
    if multi_label and not is_dense:
        raise InvalidInputError(
            f"With `multi_label=True`, `{what}` must be multi-hot of shape "
            f"(N, num_classes). Received: {what}.shape={arr.shape}. Build it with "
            f"`keras.utils.to_categorical` per class or `keras.layers.IntegerLookup("
            f"output_mode='multi_hot')`, or pass multi_label=False for class ids."
        )
    if is_dense:
        _check_dense_labels(arr, arr_num, num_classes, multi_label, what)
    else:
        _check_class_ids(arr_num.reshape(-1), num_classes, what)
    return arr


def _numeric_labels(arr, what):
    """The labels as numbers (bools as 0 / 1); strings and other dtypes are refused."""
    if _is_string_dtype(arr.dtype) or _object_holds_strings(arr):
        raise InvalidInputError(
            f"`{what}` holds strings, but classification labels must be integer class "
            f"ids. Received: {what} with dtype={arr.dtype}, e.g. "
            f"{_shown_values(arr[:50].astype(str))}. Map the names to ids first: use "
            f"`keras_transfer.data.from_arrays(x, {what}, class_names=[...])`, or a "
            f"`keras.layers.StringLookup(vocabulary=class_names, num_oov_indices=0)`."
        )
    if arr.dtype.kind == "b":
        arr_num = arr.astype(np.int64)
    elif arr.dtype.kind in ("u", "i", "f"):
        arr_num = arr
    else:
        raise InvalidInputError(
            f"`{what}` must hold numeric class ids. Received: {what} with "
            f"dtype={arr.dtype}."
        )
    return arr_num


def _check_label_count(arr, n, what):
    """One label per example."""
    if arr.ndim == 0:
        raise InvalidInputError(
            f"`{what}` must have one label per example; a scalar was given. "
            f"Received: {what}={arr!r}. Pass an array of length {n}."
        )
    if arr.shape[0] != n:
        raise InvalidInputError(
            f"`{what}` must have one label per example: the inputs have {n} examples "
            f"but {what} has {arr.shape[0]}. Received: len(x)={n}, "
            f"len({what})={arr.shape[0]}. Make both come from the same examples."
        )


def _check_dense_labels(arr, arr_num, num_classes, multi_label, what):
    """One-/multi-hot labels: one column per class, values in [0, 1], one-hot rows summing to 1."""
    width = arr.shape[1]
    if num_classes is not None and width != num_classes:
        raise InvalidInputError(
            f"`{what}` has {width} columns but there are {num_classes} classes; "
            f"one-/multi-hot labels need one column per class. Received: "
            f"{what}.shape={arr.shape}, num_classes={num_classes}."
        )
    bad = (arr_num < 0) | (arr_num > 1)
    if bad.any():
        raise InvalidInputError(
            f"`{what}` holds {int(bad.sum())} value(s) outside [0, 1]; one-/multi-"
            f"hot labels must lie in [0, 1]. Received bad values: "
            f"{_shown_values(arr_num[bad])}. For class ids, pass a 1-D array."
        )
    if not multi_label:
        sums = arr_num.sum(axis=1, dtype=np.float64)
        off = ~np.isclose(sums, 1.0, atol=1e-3)
        if off.any():
            first = int(np.argmax(off))
            raise InvalidInputError(
                f"`{what}` looks one-hot (shape {arr.shape}) but {int(off.sum())} "
                f"row(s) do not sum to 1; the first is row {first} (sum "
                f"{sums[first]:g}). Received: {what}.shape={arr.shape}, "
                f"multi_label=False. If an example can have several classes, pass "
                f"multi_label=True; otherwise fix the rows."
            )


def _check_class_ids(ids, num_classes, what):
    """Class ids: integral, non-negative, below num_classes."""
    problems = []
    bad = np.zeros(ids.shape, dtype=bool)
    if ids.dtype.kind == "f":
        non_integral = ids != np.round(ids)
        if non_integral.any():
            problems.append("non-integral")
            bad |= non_integral
    negative = ids < 0
    if negative.any():
        problems.append("negative")
        bad |= negative
    if num_classes is not None:
        too_big = ids >= num_classes
        if too_big.any():
            problems.append(f">= num_classes={num_classes}")
            bad |= too_big
    if bad.any():
        allowed = (
            f"integers in [0, {num_classes})" if num_classes is not None
            else "non-negative integers"
        )
        fix = (
            f"Use class ids 0..{num_classes - 1}, or raise num_classes to "
            f"{int(np.max(ids)) + 1} if there really are more classes."
            if num_classes is not None and "non-integral" not in problems
            else "Map each class to an integer id 0..num_classes-1."
        )
        raise InvalidInputError(
            f"`{what}` must hold class ids that are {allowed}; {int(bad.sum())} "
            f"label(s) are invalid ({', '.join(problems)}). Received bad values: "
            f"{_shown_values(ids[bad])}. {fix}"
        )


def _spec_rank(spec):
    shape = getattr(spec, "shape", None)
    if shape is None:
        return None
    return shape.rank


def validate_dataset(ds, *, num_classes=None, multi_label: bool = False,
                     what: str = "dataset"):
    """Check the structure of a batched `tf.data.Dataset` before training on it.

    The check is static: it reads `ds.element_spec` and never iterates the dataset
    (which may be large or infinite), so label *values* are not checked here; use
    `validate_labels` on arrays for that. Elements must be `(x, y)` or
    `(x, y, sample_weight)`. When `x` is a single tensor it must be a batch of
    images `(batch, H, W, C)` with C = 1 or 3 (or unknown); nested `x` (dicts or
    tuples of inputs, for multi-input models) is accepted unchecked.

    Args:
        ds: `tf.data.Dataset`, batched, yielding `(x, y)` or `(x, y, sample_weight)`.
        num_classes: `int` or `None`, checked against the width of one-hot labels.
        multi_label: `bool`, whether labels are multi-hot `(batch, num_classes)`.
        what: `str`, the argument name used in error messages.

    Returns:
        `tf.data.Dataset`, `ds` itself.

    Raises:
        TypeError: `ds` is not a `tf.data.Dataset`.
        keras_transfer.errors.InvalidInputError: the elements are not `(x, y)` /
            `(x, y, sample_weight)` tuples; `x` is ragged, holds strings, is unbatched
            or lacks the channel axis, or has a channel count other than 1 or 3;
            labels are strings or do not match `num_classes` / `multi_label`.

    Examples:

    ```python
    import numpy as np
    import tensorflow as tf
    import keras_transfer

    x = np.zeros((8, 28, 28, 1), "uint8")
    y = np.arange(8) % 2
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    keras_transfer.data.validate_dataset(ds, num_classes=2)  # OK
    keras_transfer.data.validate_dataset(ds.unbatch())  # InvalidInputError: batch it
    ```
    """
    _check_is_dataset(ds, what)
    import tensorflow as tf  # only once a Dataset is here: TensorFlow is already loaded

    spec = _element_spec(ds, what)
    x_spec, y_spec = spec[0], spec[1]
    if isinstance(x_spec, tf.RaggedTensorSpec):
        raise InvalidInputError(
            f"`{what}` yields ragged images (different sizes in one batch). Received: "
            f"x spec={x_spec}. Resize them to one size before batching, e.g. "
            f"`ds.map(lambda x, y: (tf.image.resize(x, (224, 224)), y))`."
        )
    if isinstance(x_spec, tf.TensorSpec):
        _check_image_spec(x_spec, what)
    _check_label_spec(y_spec, num_classes, multi_label, what)
    if len(spec) == 3:
        _check_weight_spec(spec[2], what)
    return ds


def _check_is_dataset(ds, what):
    """TypeError unless `ds` is a tf.data.Dataset (arrays get the array checks' names)."""
    if not _is_dataset(ds):
        hint = ""
        if isinstance(ds, np.ndarray) or hasattr(ds, "__array__"):
            hint = (" For arrays, use `keras_transfer.data.validate_images(x)` and "
                    "`keras_transfer.data.validate_labels(y, n=len(x))`.")
        raise TypeError(
            f"`{what}` must be a tf.data.Dataset. Received: {what} of type "
            f"{type(ds).__name__}.{hint}"
        )


def _element_spec(ds, what):
    """The element spec, which must be an `(x, y)` or `(x, y, sample_weight)` tuple."""
    spec = ds.element_spec
    if isinstance(spec, dict):
        raise InvalidInputError(
            f"`{what}` must yield `(x, y)` or `(x, y, sample_weight)` tuples; it "
            f"yields dicts with keys {sorted(spec)}. Received: element_spec={spec}. "
            f"Map it to tuples, e.g. `ds.map(lambda d: (d['image'], d['label']))`, or "
            f"load tfds datasets with `as_supervised=True`."
        )
    if not isinstance(spec, tuple) or len(spec) not in (2, 3):
        n_parts = f"a tuple of {len(spec)}" if isinstance(spec, tuple) else "single tensors"
        raise InvalidInputError(
            f"`{what}` must yield `(x, y)` or `(x, y, sample_weight)` tuples; it "
            f"yields {n_parts}. Received: element_spec={spec}. Zip the inputs with "
            f"their labels: `tf.data.Dataset.zip((ds_x, ds_y))`."
        )
    return spec


def _check_image_spec(x_spec, what):
    """A single-tensor x must be numeric image batches (batch, H, W, C) with 1 or 3 channels."""
    import tensorflow as tf

    if x_spec.dtype == tf.string:
        raise InvalidInputError(
            f"`{what}` yields strings as x, not decoded images. Received: x "
            f"spec={x_spec}. Decode them first (`tf.io.decode_image`) or load the "
            f"folder with `keras_transfer.data.image_folder(path)`."
        )
    if not (x_spec.dtype.is_integer or x_spec.dtype.is_floating):
        raise InvalidInputError(
            f"`{what}` must yield numeric images. Received: x spec={x_spec}. "
            f"Cast them, e.g. `ds.map(lambda x, y: (tf.cast(x, 'uint8'), y))`."
        )
    rank = _spec_rank(x_spec)
    shape = x_spec.shape
    if rank == 3:
        if shape[-1] in IMAGE_CHANNELS:
            fix = (f"The dataset looks unbatched (elements are single (H, W, C) "
                   f"images): call `{what}.batch(32)`. If these are batches of "
                   f"grey images (N, H, W), add the channel axis with "
                   f"`{what}.map(lambda x, y: (x[..., None], y))`.")
        else:
            fix = (f"Add the channel axis with "
                   f"`{what}.map(lambda x, y: (x[..., None], y))` (grey images "
                   f"keep C=1), or batch it with `{what}.batch(32)` if unbatched.")
        raise InvalidInputError(
            f"`{what}` must yield image batches of shape (batch, H, W, C). "
            f"Received: x spec shape={tuple(shape)}. {fix}"
        )
    if rank is not None and rank != 4:
        extra = f" Call `{what}.batch(32)`." if rank == 3 else ""
        raise InvalidInputError(
            f"`{what}` must yield image batches of shape (batch, H, W, C) with "
            f"C = 1 or 3. Received: x spec shape={tuple(shape)} (rank {rank}).{extra}"
        )
    if rank == 4:
        check_image_channels(tuple(shape), what=what, received=f"x spec shape={tuple(shape)}", x_name="x",
                             transpose="tf.transpose")


def _check_label_spec(y_spec, num_classes, multi_label, what):
    """Labels: numeric, batched, at most (batch, num_classes) wide."""
    import tensorflow as tf

    for leaf in tf.nest.flatten(y_spec):
        if getattr(leaf, "dtype", None) == tf.string:
            raise InvalidInputError(
                f"`{what}` yields string labels; labels must be integer class ids. "
                f"Received: y spec={y_spec}. Map them with "
                f"`keras.layers.StringLookup(vocabulary=class_names, num_oov_indices=0)`."
            )
    if isinstance(y_spec, tf.TensorSpec):
        rank = _spec_rank(y_spec)
        shape = y_spec.shape
        if rank == 0:
            raise InvalidInputError(
                f"`{what}` yields one scalar label per element: it is unbatched. "
                f"Received: y spec={y_spec}. Call `{what}.batch(32)`."
            )
        if rank is not None and rank > 2:
            raise InvalidInputError(
                f"`{what}` labels must be class ids (batch,) or one-/multi-hot "
                f"(batch, num_classes). Received: y spec shape={tuple(shape)}."
            )
        if multi_label and rank is not None and rank != 2:
            raise InvalidInputError(
                f"With `multi_label=True`, `{what}` labels must be multi-hot "
                f"(batch, num_classes). Received: y spec shape={tuple(shape)}."
            )
        if (rank == 2 and num_classes is not None and shape[-1] is not None
                and shape[-1] not in (1, num_classes)):
            raise InvalidInputError(
                f"`{what}` labels have {shape[-1]} columns but there are "
                f"{num_classes} classes. Received: y spec shape={tuple(shape)}, "
                f"num_classes={num_classes}."
            )


def _check_weight_spec(weight_spec, what):
    """Sample weights must be numeric."""
    import tensorflow as tf

    for leaf in tf.nest.flatten(weight_spec):
        dtype = getattr(leaf, "dtype", None)
        if dtype is not None and not (dtype.is_floating or dtype.is_integer):
            raise InvalidInputError(
                f"`{what}` sample weights must be numeric. Received: "
                f"sample_weight spec={weight_spec}."
            )
