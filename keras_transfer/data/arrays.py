"""Build `Splits` from in-memory arrays: stratified splitting and per-class subsampling."""

from __future__ import annotations

import numpy as np

from keras_transfer.checks import check_int, is_int, is_number
from keras_transfer.data.splits import Splits
from keras_transfer.data.validation import validate_images, validate_labels
from keras_transfer.errors import InvalidConfigError, InvalidInputError

__all__ = ["from_arrays", "subsample_per_class"]


def _class_label(class_id: int, class_names) -> str:
    if class_names is not None and 0 <= class_id < len(class_names):
        name = str(class_names[class_id])
        if name != str(class_id):
            return f"class {name!r} (id {class_id})"
    return f"class {class_id}"


def _check_n_per_class(n_per_class) -> int:
    return check_int("n_per_class", n_per_class, minimum=1,
                     expected="a positive integer (examples kept per class) or None (keep all)")


def _check_seed(seed):
    check_int("seed", seed, allow_none=True, expected="an integer (or None for a random split)")


def _per_class_indices(y: np.ndarray, n_per_class: int, rng, class_names=None,
                       num_classes=None, where: str = "", extra_fix: str = "") -> np.ndarray:
    """Indices of `n_per_class` examples of each class, or an error naming short classes."""
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    counts = np.bincount(y, minlength=num_classes)
    short = [c for c in range(num_classes) if counts[c] < n_per_class]
    if short:
        details = "; ".join(
            f"{_class_label(c, class_names)} has {counts[c]}" for c in short[:10]
        )
        if len(short) > 10:
            details += f"; ... ({len(short) - 10} more classes)"
        raise InvalidInputError(
            f"`n_per_class={n_per_class}` asks for more examples than "
            f"{len(short)} class(es) have{where}: {details}. Received: "
            f"n_per_class={n_per_class}. Lower n_per_class to at most "
            f"{int(counts.min())}"
            + extra_fix + "."
        )
    chosen = []
    for c in range(num_classes):
        idx = np.flatnonzero(y == c)
        chosen.append(idx[rng.permutation(idx.size)[:n_per_class]])
    chosen = np.concatenate(chosen) if chosen else np.zeros((0,), np.int64)
    return chosen[rng.permutation(chosen.size)]


def subsample_per_class(x, y, n_per_class: int, seed=0, *, class_names=None):
    """Keep `n_per_class` examples of every class, chosen at random but reproducibly.

    The choice depends only on `seed` and the labels, and is nested: with the same
    seed, the examples kept for `n_per_class=50` are a subset of those kept for
    `n_per_class=100`. The result is shuffled (classes interleaved).

    Args:
        x: `np.ndarray` (or array-like) of examples, any shape `(N, ...)`.
        y: `np.ndarray` of integer class ids, shape `(N,)`.
        n_per_class: `int`, examples to keep per class (>= 1).
        seed: `int` or `None`, the random seed.
        class_names: `list[str]` or `None`, used to name classes in errors; with
            it, classes absent from `y` count as having 0 examples.

    Returns:
        `tuple[np.ndarray, np.ndarray]`, `(x_subset, y_subset)` with
        `n_per_class * num_classes` examples.

    Raises:
        keras_transfer.errors.InvalidConfigError: `n_per_class` is not a positive
            integer, or `seed` is not an integer.
        keras_transfer.errors.InvalidInputError: `x` and `y` differ in length, `y`
            is not class ids, or a class has fewer than `n_per_class` examples (the
            message names each such class and how many it has).

    Examples:

    ```python
    import numpy as np
    import keras_transfer

    x = np.zeros((30, 8, 8, 1), "uint8")
    y = np.repeat([0, 1, 2], 10)
    x5, y5 = keras_transfer.data.subsample_per_class(x, y, 5, seed=1)
    print(np.bincount(y5))  # [5 5 5]
    ```
    """
    n_per_class = _check_n_per_class(n_per_class)
    _check_seed(seed)
    x = np.asarray(x)
    if x.ndim == 0:
        raise InvalidInputError(
            f"`x` must be an array of examples. Received: x with shape {x.shape}."
        )
    num_classes = len(class_names) if class_names is not None else None
    y = validate_labels(y, n=len(x), num_classes=num_classes)
    if y.ndim != 1:
        raise InvalidInputError(
            f"`y` must be integer class ids of shape (N,) to subsample per class. "
            f"Received: y.shape={y.shape}. Convert one-hot labels with "
            f"`np.argmax(y, axis=1)`."
        )
    ids = y.astype(np.int64)
    rng = np.random.default_rng(seed)
    idx = _per_class_indices(ids, n_per_class, rng, class_names, num_classes)
    return x[idx], y[idx]


def _resolve_size(size, n: int, name: str) -> int:
    """A fraction in [0, 1) or an absolute count in [0, n) → an absolute count."""
    if not is_number(size):
        raise InvalidConfigError(
            f"`{name}` must be a fraction in [0, 1) or a number of examples. "
            f"Received: {name}={size!r}."
        )
    if is_int(size):
        if not 0 <= size < n:
            raise InvalidConfigError(
                f"`{name}` as a count must be in [0, {n}) (there are {n} examples). "
                f"Received: {name}={size}. Pass a smaller count or a fraction like 0.2."
            )
        return int(size)
    if not 0.0 <= float(size) < 1.0:
        raise InvalidConfigError(
            f"`{name}` as a fraction must be in [0, 1). Received: {name}={size}. "
            f"Pass a fraction like 0.2, or an int for a number of examples."
        )
    return int(round(float(size) * n))


def _allocate(counts: np.ndarray, k: int, caps: np.ndarray) -> np.ndarray:
    """Split `k` over classes proportionally to `counts` (largest remainder), capped."""
    total = counts.sum()
    if k == 0 or total == 0:
        return np.zeros_like(counts)
    quota = k * counts / total
    alloc = np.minimum(np.floor(quota).astype(np.int64), caps)
    remaining = k - int(alloc.sum())
    order = sorted(range(len(counts)), key=lambda c: (-(quota[c] - np.floor(quota[c])), c))
    while remaining > 0:
        progressed = False
        for c in order:
            if remaining == 0:
                break
            if alloc[c] < caps[c]:
                alloc[c] += 1
                remaining -= 1
                progressed = True
        if not progressed:
            break
    return alloc


def _stratified_split_indices(y: np.ndarray, num_classes: int, n_val: int, n_test: int,
                              rng):
    """Disjoint (train, val, test) index arrays, stratified by class, each shuffled."""
    counts = np.bincount(y, minlength=num_classes)
    present = int((counts > 0).sum())
    if n_val + n_test > len(y) - present:
        raise InvalidConfigError(
            f"validation_size and test_size together ask for {n_val + n_test} of "
            f"{len(y)} examples, which would leave a class with no training examples "
            f"(at most {len(y) - present} can be held out: one example of each of the "
            f"{present} classes stays in train). Received: {n_val} validation and "
            f"{n_test} test examples. Lower validation_size / test_size."
        )
    per_class = [np.flatnonzero(y == c) for c in range(num_classes)]
    per_class = [idx[rng.permutation(idx.size)] for idx in per_class]
    test_alloc = _allocate(counts, n_test, np.maximum(counts - 1, 0))
    left = counts - test_alloc
    val_alloc = _allocate(left, n_val, np.maximum(left - 1, 0))
    train, val, test = [], [], []
    for c, idx in enumerate(per_class):
        t, v = int(test_alloc[c]), int(val_alloc[c])
        test.append(idx[:t])
        val.append(idx[t:t + v])
        train.append(idx[t + v:])
    out = []
    for parts in (train, val, test):
        joined = np.concatenate(parts) if parts else np.zeros((0,), np.int64)
        out.append(joined[rng.permutation(joined.size)])
    return tuple(out)


def _labels_to_ids(y, class_names):
    """Convert labels (ids, one-hot, or strings) to int64 ids and settle class names."""
    y_arr = np.asarray(y) if not isinstance(y, (str, bytes, dict)) else y
    is_strings = isinstance(y_arr, np.ndarray) and (
        y_arr.dtype.kind in ("U", "S")
        or (y_arr.dtype == object and y_arr.size and isinstance(y_arr.ravel()[0], (str, bytes)))
    )
    if is_strings:
        if y_arr.ndim != 1:
            raise InvalidInputError(
                f"String labels must be a 1-D array of class names. Received: "
                f"y.shape={y_arr.shape}."
            )
        names = [s.decode() if isinstance(s, bytes) else str(s) for s in y_arr]
        if class_names is None:
            class_names = sorted(set(names))
        lookup = {str(name): i for i, name in enumerate(class_names)}
        unknown = sorted({s for s in names if s not in lookup})
        if unknown:
            raise InvalidInputError(
                f"`y` holds {len(unknown)} label name(s) that are not in "
                f"`class_names`: {unknown[:10]}. Received: class_names="
                f"{list(class_names)[:20]}. Add them to class_names or fix the labels."
            )
        return np.array([lookup[s] for s in names], dtype=np.int64), list(class_names)

    y_arr = validate_labels(y, n=len(y_arr) if getattr(y_arr, "ndim", 0) else 0,
                            num_classes=len(class_names) if class_names is not None else None)
    if y_arr.ndim == 2 and y_arr.shape[1] > 1:
        binary = np.isin(y_arr, (0, 1)).all() and (y_arr.sum(axis=1) == 1).all()
        if not binary:
            raise InvalidInputError(
                f"`y` must be integer class ids or exact one-hot rows to build splits; "
                f"soft or multi-hot labels cannot be stratified. Received: "
                f"y.shape={y_arr.shape}. Pass class ids (np.argmax(y, axis=1))."
            )
        ids = np.argmax(y_arr, axis=1).astype(np.int64)
        if class_names is None:
            class_names = [str(i) for i in range(y_arr.shape[1])]
        return ids, list(class_names)
    ids = y_arr.reshape(-1).astype(np.int64)
    if class_names is None:
        class_names = [str(i) for i in range(int(ids.max()) + 1 if ids.size else 0)]
    return ids, list(class_names)


def _build_splits(x, ids, class_names, *, validation_size, test_size, n_per_class,
                  seed, source="", skipped=None) -> Splits:
    """Split validated `x` / int64 `ids` into a `Splits` (shared by every loader)."""
    _check_seed(seed)
    if n_per_class is not None:
        n_per_class = _check_n_per_class(n_per_class)
    n = len(ids)
    n_test = _resolve_size(test_size, n, "test_size")
    n_val = _resolve_size(validation_size, n, "validation_size")
    rng = np.random.default_rng(seed)
    num_classes = len(class_names)
    train_idx, val_idx, test_idx = _stratified_split_indices(
        ids, num_classes, n_val, n_test, rng)
    if n_per_class is not None:
        where = " in the training split" if (n_val or n_test) else ""
        keep = _per_class_indices(
            ids[train_idx], n_per_class, rng, class_names, num_classes, where=where,
            extra_fix=" or lower validation_size / test_size" if where else "")
        train_idx = train_idx[keep]
    splits = Splits(
        train=(x[train_idx], ids[train_idx]),
        validation=(x[val_idx], ids[val_idx]) if n_val else None,
        test=(x[test_idx], ids[test_idx]) if n_test else None,
        class_names=list(class_names),
        skipped=list(skipped or []),
        source=source,
    )
    return splits


def from_arrays(x, y, *, class_names=None, validation_size=0.0, test_size=0.0,
                n_per_class=None, seed=0) -> Splits:
    """Build train / validation / test splits from image and label arrays.

    The splits are stratified (each holds the classes in the same proportions as
    the whole), disjoint and reproducible for a given `seed`. Sizes are fractions of
    the whole dataset (`0.2`) or absolute counts (`200`); the test split is taken
    first, then the validation split, and the rest is the training split. Each class
    keeps at least one training example. `n_per_class` then subsamples the
    *training* split only, so the validation / test splits stay the same whatever
    `n_per_class` is (fair comparisons across label budgets).

    Args:
        x: `np.ndarray` of images `(N, H, W, C)`, C = 1 or 3 (checked with
            `validate_images`; the dtype is kept, no rescaling).
        y: `np.ndarray` of labels: integer class ids `(N,)` or `(N, 1)`, exact one-hot
            rows `(N, K)` (turned into ids), or class-name strings (mapped to ids via
            `class_names`, or via the sorted unique names when it is `None`).
        class_names: `list[str]` or `None`, the name of each class id; `None` gives
            `"0"`, `"1"`, ... (or the sorted names for string labels).
        validation_size: `float` fraction in [0, 1) or `int` count.
        test_size: `float` fraction in [0, 1) or `int` count.
        n_per_class: `int` or `None`, training examples kept per class.
        seed: `int` or `None`, the random seed of the split and the subsample.

    Returns:
        `keras_transfer.data.Splits`; labels are `int64` class ids, `validation` /
        `test` are `None` when their size is 0.

    Raises:
        TypeError: `x` or `y` is not array-like.
        keras_transfer.errors.InvalidInputError: invalid images or labels (see
            `validate_images` / `validate_labels`), label names missing from
            `class_names`, or a class with fewer than `n_per_class` training examples.
        keras_transfer.errors.InvalidConfigError: sizes out of range or leaving a
            class without training examples, invalid `n_per_class` or `seed`.

    Examples:

    ```python
    import numpy as np
    import keras_transfer

    x = np.random.randint(0, 256, (100, 28, 28, 1), dtype="uint8")
    y = np.arange(100) % 5
    splits = keras_transfer.data.from_arrays(
        x, y, validation_size=0.1, test_size=0.2, n_per_class=10, seed=0)
    print(splits.summary())
    ```
    """
    x = validate_images(x, what="x")
    if class_names is not None:
        class_names = [str(c) for c in class_names]
        if len(set(class_names)) != len(class_names):
            raise InvalidConfigError(
                f"`class_names` must be unique. Received: class_names={class_names}."
            )
    ids, class_names = _labels_to_ids(y, class_names)
    validate_labels(ids, n=len(x), num_classes=len(class_names))
    if len(class_names) < 1:
        raise InvalidInputError("`y` holds no labels. Received: len(y)=0.")
    return _build_splits(x, ids, class_names, validation_size=validation_size,
                         test_size=test_size, n_per_class=n_per_class, seed=seed,
                         source="arrays")
