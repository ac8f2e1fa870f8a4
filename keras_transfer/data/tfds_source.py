"""Load a tensorflow-datasets image classification dataset into `Splits`.

Offline, `tfds.load(name)` retries its download for minutes before failing. This
loader first asks tfds with `download=False`, which fails in a fraction of a
second when the dataset is not prepared, and only downloads when a quick network
probe succeeds.
"""

from __future__ import annotations

import difflib
import socket
import threading

import numpy as np

from keras_transfer.checks import check_int
from keras_transfer.data.arrays import _check_n_per_class, _check_seed, _per_class_indices
from keras_transfer.data.image_folder import is_image_size
from keras_transfer.data.offline import list_datasets
from keras_transfer.data.splits import Splits
from keras_transfer.data.validation import validate_images, validate_labels
from keras_transfer.errors import (
    DatasetUnavailableError,
    InvalidConfigError,
    InvalidInputError,
)

__all__ = ["tfds"]

_SPLIT_ROLES = ("train", "validation", "test")
# Host probed to decide whether this machine can download (tfds' own GCS bucket,
# which also hosts the sources of many datasets).
_PROBE_HOST = ("storage.googleapis.com", 443)
_PROBE_TIMEOUT_S = 3.0


def _can_reach(address=_PROBE_HOST, timeout: float = _PROBE_TIMEOUT_S) -> bool:
    """True when a TCP connection to `address` opens within `timeout` seconds.

    DNS resolution has no timeout of its own, so the probe runs in a daemon thread
    and the caller waits at most `timeout + 1` seconds.
    """
    result = []

    def probe():
        try:
            with socket.create_connection(address, timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 1.0)
    return bool(result and result[0])


def _import_tfds():
    try:
        import tensorflow_datasets
    except ImportError as e:
        raise DatasetUnavailableError(
            f"`keras_transfer.data.tfds` needs the tensorflow-datasets package, which "
            f"could not be imported ({e}). Install it with "
            f"`pip install tensorflow-datasets importlib_resources`."
        ) from e
    return tensorflow_datasets


def _split_roles(split) -> dict:
    """Map the `split` argument to {role: tfds split string}."""
    if isinstance(split, str):
        return {"train": split}
    if isinstance(split, dict):
        unknown = sorted(set(split) - set(_SPLIT_ROLES))
        if unknown or not split or not all(isinstance(v, str) for v in split.values()):
            raise InvalidConfigError(
                f"`split` as a dict must map some of {list(_SPLIT_ROLES)} to tfds split "
                f"strings. Received: split={split!r}."
            )
        return dict(split)
    if isinstance(split, (tuple, list)) and 1 <= len(split) <= 3 and all(
            isinstance(s, str) for s in split):
        roles = {1: ("train",), 2: ("train", "test"), 3: _SPLIT_ROLES}[len(split)]
        return dict(zip(roles, split))
    raise InvalidConfigError(
        f"`split` must be a tfds split string ('train'), a tuple of 1 to 3 of them "
        f"read as (train, test) or (train, validation, test), or a dict like "
        f"{{'train': 'train[:90%]', 'validation': 'train[90%:]', 'test': 'test'}}. "
        f"Received: split={split!r}."
    )


def _check_name(tfds_lib, name):
    if not isinstance(name, str) or not name:
        raise InvalidConfigError(
            f"`name` must be a tensorflow-datasets name such as 'mnist' or "
            f"'cifar10'. Received: name={name!r}."
        )
    base = name.split(":")[0].split("/")[0]
    known = tfds_lib.list_builders(with_community_datasets=False)
    if base not in known:
        close = difflib.get_close_matches(base, known, n=5, cutoff=0.6)
        hint = f" Close matches: {close}." if close else ""
        raise InvalidConfigError(
            f"Unknown tensorflow-datasets name {base!r}.{hint} Received: name={name!r}. "
            f"See `tfds.list_builders()` for all {len(known)} names, or load an "
            f"offline dataset with `keras_transfer.data.load_dataset(name)`, name in "
            f"{list_datasets()}."
        )


def _not_prepared_error(name, data_dir, download, reason):
    where = f"data_dir {data_dir!r}" if data_dir else "the default tfds data_dir (~/tensorflow_datasets or $TFDS_DATA_DIR)"
    return DatasetUnavailableError(
        f"The tensorflow-datasets dataset {name!r} is not prepared in {where}, and "
        f"{reason}. Received: name={name!r}, data_dir={data_dir!r}, "
        f"download={download!r}. To fix: run this once on a machine with internet "
        f"(it downloads and prepares the data) and copy the data folder here; or pass "
        f"data_dir= pointing at a prepared copy; or use an offline dataset with "
        f"`keras_transfer.data.load_dataset(name)`, name in {list_datasets()}."
    )


def _load_splits(tfds_lib, name, roles, data_dir, download, as_supervised):
    splits = list(roles.values())
    kwargs = dict(split=splits, data_dir=data_dir, as_supervised=as_supervised,
                  with_info=True, shuffle_files=False)
    if download is False or download is None:
        try:
            return tfds_lib.load(name, download=False, **kwargs)
        except (AssertionError, FileNotFoundError) as e:
            if download is False:
                raise _not_prepared_error(
                    name, data_dir, download, "download=False forbids downloading it"
                ) from e
            first_error = e
    else:
        first_error = None
    if not _can_reach():
        raise _not_prepared_error(
            name, data_dir, download,
            f"this machine cannot download it (no connection to {_PROBE_HOST[0]})",
        ) from first_error
    return tfds_lib.load(name, download=True, **kwargs)


def _find_keys(info, name):
    """(image key, label key) for `as_supervised=False`."""
    import tensorflow_datasets as tfds_lib

    image_key = label_key = None
    for key, feature in info.features.items():
        if image_key is None and isinstance(feature, tfds_lib.features.Image):
            image_key = key
        if label_key is None and isinstance(feature, tfds_lib.features.ClassLabel):
            label_key = key
    if image_key is None or label_key is None:
        raise InvalidInputError(
            f"Dataset {name!r} has no image feature and class-label feature pair, so "
            f"it cannot be loaded as image classification data. Received features: "
            f"{list(info.features.keys())}."
        )
    return image_key, label_key


def _to_numpy(ds, *, role, image_size, max_examples, name):
    import tensorflow as tf

    if max_examples is not None:
        ds = ds.take(max_examples)
    if image_size is not None:
        size = tuple(image_size)

        def resize(x, y):
            x = tf.image.resize(x, size, method="bilinear", antialias=True)
            return tf.cast(tf.clip_by_value(tf.round(x), 0, 255), tf.uint8), y

        ds = ds.map(resize, num_parallel_calls=tf.data.AUTOTUNE)
    xs, ys = [], []
    for x, y in ds.as_numpy_iterator():
        if xs and x.shape != xs[0].shape:
            raise InvalidInputError(
                f"Split {role!r} of {name!r} holds images of different sizes: example "
                f"0 is {xs[0].shape} and example {len(xs)} is {x.shape}. Received: "
                f"image_size=None. Pass image_size=(height, width) to resize them."
            )
        xs.append(x)
        ys.append(y)
    if not xs:
        raise InvalidInputError(
            f"Split {role!r} of {name!r} is empty. Received: max_examples="
            f"{max_examples!r}."
        )
    x = np.stack(xs)
    if x.dtype != np.uint8:
        x = np.clip(np.round(x), 0, 255).astype(np.uint8)
    validate_images(x, what=f"{name}[{role}] images")
    y = np.asarray(ys)
    if y.ndim != 1 or y.dtype.kind not in ("i", "u"):
        raise InvalidInputError(
            f"Split {role!r} of {name!r} does not hold integer class labels. "
            f"Received: labels with shape {y.shape} and dtype {y.dtype}."
        )
    return x, y.astype(np.int64)


def tfds(name: str, *, split=("train", "test"), data_dir=None, download=None,
         as_supervised: bool = True, n_per_class=None, image_size=None, seed=0,
         max_examples=None) -> Splits:
    """Load an image classification dataset from tensorflow-datasets into `Splits`.

    With `download=None` (the default) the dataset is read with `download=False`
    first, which fails in a fraction of a second when it is not prepared in
    `data_dir`. Only then, and only if a 3-second probe of
    `storage.googleapis.com` succeeds, is it downloaded; offline the call raises
    `DatasetUnavailableError` at once instead of letting tfds retry for minutes.

    Args:
        name: `str`, a tfds name, optionally with config and version
            (`"mnist"`, `"cifar10:3.0.2"`).
        split: `str` (train only), a tuple of 2 tfds splits read as
            `(train, test)` or 3 read as `(train, validation, test)`, or a dict
            from `"train"` / `"validation"` / `"test"` to tfds split strings
            (slicing allowed: `"train[:90%]"`).
        data_dir: `str` or `None`, the tfds data folder (`None`: tfds' default).
        download: `bool` or `None`. `None`: use prepared data, download only when
            missing and the network is reachable. `False`: never download.
            `True`: download when missing (still fails fast when offline).
        as_supervised: `bool`. `True` reads tfds' `(image, label)` supervised keys;
            `False` picks the first `Image` and `ClassLabel` features instead
            (for datasets without supervised keys).
        n_per_class: `int` or `None`, training examples kept per class (the
            training split only; validation / test stay whole).
        image_size: `tuple[int, int]` `(height, width)` or `None`. Images are
            resized (bilinear, antialiased) when given; when `None` every image
            of a split must have the same size.
        seed: `int` or `None`, the seed of the `n_per_class` subsample and the
            shuffle of the training split.
        max_examples: `int` or `None`, read at most this many examples per split
            (the first ones, in tfds order), e.g. for quick experiments.

    Returns:
        `keras_transfer.data.Splits` with `uint8` images `(N, H, W, C)`, `int64`
        labels and the dataset's class names (`ClassLabel.names`).

    Raises:
        keras_transfer.errors.InvalidConfigError: unknown dataset name (with close
            matches from `tfds.list_builders()`), or invalid `split`, `download`,
            `image_size`, `max_examples`, `n_per_class` or `seed`.
        keras_transfer.errors.DatasetUnavailableError: tensorflow-datasets is not
            installed, or the dataset is not prepared in `data_dir` and cannot be
            downloaded (offline, or `download=False`); the message gives the fixes.
        keras_transfer.errors.InvalidInputError: the dataset is not image
            classification data, a split is empty, images differ in size with
            `image_size=None`, or a class has fewer than `n_per_class` examples.

    Examples:

    ```python
    import keras_transfer

    splits = keras_transfer.data.tfds(
        "cifar10", split=("train", "test"), n_per_class=100, image_size=(96, 96))
    print(splits.summary())
    ```
    """
    n_per_class, roles = _check_tfds_options(split, download, image_size, max_examples, n_per_class, seed)
    tfds_lib = _import_tfds()
    _check_name(tfds_lib, name)
    datasets, info = _load_splits(tfds_lib, name, roles, data_dir, download, as_supervised)
    datasets, class_names = _image_label_pairs(datasets, info, name, as_supervised)
    arrays = {}
    for role, ds in zip(roles, datasets):
        arrays[role] = _to_numpy(ds, role=role, image_size=image_size, max_examples=max_examples, name=name)
    class_names = class_names or [str(i) for i in range(max(int(y.max()) for _, y in arrays.values()) + 1)]
    for role, (x, y) in arrays.items():
        validate_labels(y, n=len(x), num_classes=len(class_names), what=f"{name}[{role}] labels")
    if "train" in arrays:
        arrays["train"] = _shuffled_train(arrays["train"], n_per_class, seed, class_names, roles["train"])
    return Splits(
        train=arrays.get("train"),
        validation=arrays.get("validation"),
        test=arrays.get("test"),
        class_names=class_names,
        source=f"tfds {name!r} ({', '.join(f'{r}={s}' for r, s in roles.items())})",
    )


def _check_tfds_options(split, download, image_size, max_examples, n_per_class, seed):
    """Checks the plain arguments of `tfds`; returns `n_per_class` (an int or None) and the split roles."""
    if download not in (None, True, False):
        raise InvalidConfigError(
            f"`download` must be None (download only when missing and online), True "
            f"or False. Received: download={download!r}."
        )
    if image_size is not None and not is_image_size(image_size):
        raise InvalidConfigError(
            f"`image_size` must be a (height, width) tuple of two positive "
            f"integers, or None. Received: image_size={image_size!r}."
        )
    check_int("max_examples", max_examples, minimum=1, allow_none=True,
              expected="a positive integer or None")
    n_per_class = None if n_per_class is None else _check_n_per_class(n_per_class)
    _check_seed(seed)
    roles = _split_roles(split)
    if n_per_class is not None and "train" not in roles:
        raise InvalidConfigError(
            f"`n_per_class` subsamples the training split, but `split` has none. "
            f"Received: split={split!r}, n_per_class={n_per_class}. Add a 'train' "
            f"entry or drop n_per_class."
        )
    return n_per_class, roles


def _image_label_pairs(datasets, info, name, as_supervised):
    """The datasets as (image, label) pairs, and the class names of the label feature (may be empty)."""
    if as_supervised:
        label_key = (info.supervised_keys or (None, None))[1]
        if isinstance(label_key, (tuple, list, dict)):
            label_key = None
    else:
        image_key, label_key = _find_keys(info, name)
        datasets = [ds.map(lambda d: (d[image_key], d[label_key])) for ds in datasets]
    label_feature = info.features[label_key] if label_key in info.features else None
    return datasets, list(getattr(label_feature, "names", None) or [])


def _shuffled_train(train, n_per_class, seed, class_names, split_name):
    """The training arrays shuffled, subsampled to `n_per_class` per class when given."""
    x, y = train
    rng = np.random.default_rng(seed)
    if n_per_class is not None:
        idx = _per_class_indices(y, n_per_class, rng, class_names, len(class_names),
                                 where=f" in split {split_name!r}")
    else:
        idx = rng.permutation(len(y))
    return x[idx], y[idx]
