"""The one conversion of raw inputs, shared by ``fine_tune``, ``predict``, ``evaluate`` and ``export``.

Every form ``fine_tune`` takes for ``x`` (NumPy arrays, Python lists, ``tf.data.Dataset``, ``keras.utils.PyDataset``)
goes through ``model_inputs``: arrays and lists are checked and converted by the backbone's ``validate_inputs``
(images, strings or waveforms), datasets are checked statically, PyDatasets are wrapped so each batch gets the
same conversion. A ``keras_transfer.data.Splits`` is unpacked by the callers that accept one (``split_data``,
``evaluation_data``).
"""

import keras
import numpy as np
import tensorflow as tf

from keras_transfer.data import validation
from keras_transfer.data.splits import Splits
from keras_transfer.errors import InvalidInputError

__all__ = [
    "evaluation_data", "input_arrays", "is_splits", "label_shape", "model_data", "model_inputs", "single_head_data",
    "split_data",
]


def is_splits(data) -> bool:
    """Whether ``data`` is a ``keras_transfer.data.Splits``."""
    return isinstance(data, Splits)


def _is_dataset(data) -> bool:
    return isinstance(data, tf.data.Dataset)


def _validator(model):
    """The backbone's check-and-convert of whole input arrays (identity for a model without a backbone)."""
    backbone = getattr(model, "backbone", None)
    if backbone is None:
        return lambda x, what="x": x if isinstance(x, np.ndarray) else np.asarray(x)
    return getattr(backbone, "validate_inputs", validation.validate_images)


class _CheckedBatches(keras.utils.PyDataset):
    """A PyDataset whose batches' inputs go through the backbone's conversion (text batches become string
    tensors: Keras' PyDataset adapter takes neither ``str`` nor ``object`` arrays)."""

    def __init__(self, source, check, what):
        super().__init__(workers=getattr(source, "_workers", 1),
                         use_multiprocessing=getattr(source, "_use_multiprocessing", False),
                         max_queue_size=getattr(source, "_max_queue_size", 10))
        self.source, self._check, self._what = source, check, what

    @property
    def num_batches(self):
        return self.source.num_batches

    def __len__(self):
        return self.source.num_batches

    def __getitem__(self, index):
        batch = self.source[index]
        parts = tuple(batch) if isinstance(batch, (tuple, list)) else (batch,)
        x = self._check(parts[0], what=f"{self._what}[{index}]")
        if isinstance(x, np.ndarray) and x.dtype == object:
            x = tf.constant(x)
        return (x,) + parts[1:]

    def on_epoch_begin(self):
        self.source.on_epoch_begin()

    def on_epoch_end(self):
        self.source.on_epoch_end()


def _check_dataset_inputs(model, dataset, what):
    """Static check of a dataset's inputs (labelled or not); never iterates it."""
    backbone = getattr(model, "backbone", None)
    if backbone is None or not hasattr(backbone, "validate_dataset"):
        return
    spec = dataset.element_spec
    if not (isinstance(spec, tuple) and len(spec) in (2, 3)):  # x or (x,): give it labels for the check (lazy map)
        dataset = dataset.map(lambda *batch: (batch[0], tf.zeros(tf.shape(batch[0])[:1], "int32")))
    backbone.validate_dataset(dataset, what=what)


def model_inputs(model, x, what: str = "x"):
    """Raw inputs in any accepted form, checked and converted into what Keras takes.

    Args:
        model: a keras_transfer model (``.backbone``), or any Keras model (then arrays pass unchanged).
        x: NumPy array or list (images, strings or waveforms, by the backbone's ``input_kind``), a batched
            ``tf.data.Dataset`` (of ``x`` or ``(x, y)``) or a ``keras.utils.PyDataset``.
        what: str. The argument name used in error messages.

    Returns:
        NumPy array (text: Python ``str`` objects), the dataset itself, or a PyDataset converting each batch.

    Raises:
        InvalidInputError: inputs the backbone cannot take, or a ``Splits`` (unpack it first).

    Examples:
    >>> from keras_transfer.models.inputs import model_inputs
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> model = keras_transfer.TransferModel(keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32)),
    ...                                      keras_transfer.ClassificationHead(2))
    >>> model_inputs(model, [np.zeros((8, 8, 1), "uint8")] * 3).shape
    (3, 8, 8, 1)
    """
    if is_splits(x):
        raise InvalidInputError(
            f"`{what}` is a keras_transfer.data.Splits, which holds three labelled splits, not inputs. Received: "
            f"{x!r}. Pass the inputs of one split, e.g. splits.test[0]."
        )
    if _is_dataset(x):
        _check_dataset_inputs(model, x, what)
        return x
    if isinstance(x, keras.utils.PyDataset):
        return x if isinstance(x, _CheckedBatches) else _CheckedBatches(x, _validator(model), what)
    return _validator(model)(x, what=what)


def _regression_targets(y, n, what):
    y = np.asarray(y)
    if len(y) != n:
        raise InvalidInputError(
            f"{what}: inputs and targets differ in length. Received: {n} inputs and {len(y)} targets."
        )
    if y.dtype.kind not in "biuf" or not np.all(np.isfinite(y.astype("float64"))):
        raise InvalidInputError(
            f"{what}: regression targets must be finite numbers. Received: dtype={y.dtype}. "
            "Remove or repair NaN / inf targets."
        )
    return y


def model_data(model, data, what: str, batch_size=None):
    """Labelled data in any accepted form, checked, as ``fit`` / ``evaluate`` arguments.

    Args:
        model: TransferModel or MultiTaskModel.
        data: ``(x, y)`` (arrays or lists; ``{task: y}`` for a MultiTaskModel), a batched ``tf.data.Dataset``
            of ``(x, y)`` or a ``keras.utils.PyDataset``.
        what: ``"train"``, ``"validation"`` or ``"evaluate"``: names the data in messages.
        batch_size: int or None. Returned for array data.

    Returns:
        tuple ``(x, y, batch_size, labels)``, or ``(dataset, None, None, None)``.

    Raises:
        InvalidInputError: bad inputs or labels (shape, type, range, lengths, NaN), or another form.

    Examples:
    >>> from keras_transfer.models.inputs import model_data
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> model = keras_transfer.TransferModel(keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32)),
    ...                                      keras_transfer.ClassificationHead(2))
    >>> x, y, _, _ = model_data(model, (np.zeros((4, 8, 8, 1), "uint8"), [0, 1, 1, 0]), "train")
    >>> x.shape, y.tolist()
    ((4, 8, 8, 1), [0, 1, 1, 0])
    """
    fit_data = getattr(model, "fit_data", None)  # the model's own hook (per head for a MultiTaskModel)
    if fit_data is not None:
        return fit_data(data, what, batch_size)
    return single_head_data(model, data, what, batch_size)


def single_head_data(model, data, what: str, batch_size=None):
    """``model_data`` for a model with one ``head``: labels checked against its classes (or as regression targets)."""
    head = model.head
    num_classes = getattr(head, "num_classes", None)
    multi_label = bool(getattr(head, "multi_label", False))
    if _is_dataset(data):
        if num_classes is not None:
            check = getattr(model.backbone, "validate_dataset", validation.validate_dataset)
            check(data, num_classes=num_classes, multi_label=multi_label, what=what)
        return data, None, None, None
    if isinstance(data, keras.utils.PyDataset):
        return model_inputs(model, data, what), None, None, None
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x_name, y_name = ("x_val", "y_val") if what == "validation" else ("x", "y")
        x = model_inputs(model, data[0], x_name)
        if num_classes is None:
            y = _regression_targets(data[1], len(x), what)
            return x, y, batch_size, y
        y = validation.validate_labels(data[1], n=len(x), num_classes=num_classes, multi_label=multi_label,
                                       what=y_name)
        return x, y, batch_size, y
    raise InvalidInputError(
        f"{what} must be an (x, y) tuple of arrays, a tf.data.Dataset of (x, y) batches, a keras.utils.PyDataset "
        f"or a keras_transfer.data.Splits. Received: {type(data).__name__}"
        + (f" of length {len(data)}" if isinstance(data, (tuple, list)) else "") + "."
    )


def label_shape(data, y):
    """Shape of the labels: from the label array, or from a Dataset's element_spec; None if unknown."""
    if y is not None:
        return tuple(np.shape(y))
    spec = getattr(data, "element_spec", None)
    if isinstance(spec, tuple) and len(spec) >= 2 and getattr(spec[1], "shape", None) is not None:
        return tuple(spec[1].shape) if spec[1].shape.rank is not None else None
    return None


def _split(splits, name, fix):
    part = getattr(splits, name)
    if part is None or len(part[1]) == 0:
        raise InvalidInputError(
            f"The Splits holds no {name} data. Received: {splits!r}. {fix}"
        )
    return part


def split_data(train, validation):
    """``fine_tune``'s ``train`` / ``validation`` with a ``Splits`` unpacked.

    A ``Splits`` as ``train`` gives ``splits.train``, and ``splits.validation`` when ``validation`` is None and
    the split is non-empty.

    Args:
        train: a ``Splits`` or any form ``model_data`` takes.
        validation: any form ``model_data`` takes, or None.

    Returns:
        tuple ``(train, validation)``.

    Raises:
        InvalidInputError: a ``Splits`` without training data, or a ``Splits`` passed as ``validation``.

    Examples:
    >>> from keras_transfer.models.inputs import split_data
    >>> splits = keras_transfer.data.from_arrays(np.zeros((8, 4, 4, 1), "uint8"), np.arange(8) % 2,
    ...                                          validation_size=2)
    >>> train, validation = split_data(splits, None)
    >>> len(train[0]), len(validation[0])
    (6, 2)
    """
    if is_splits(validation):
        raise InvalidInputError(
            f"validation takes one split, not a Splits. Received: validation={validation!r}. Pass "
            "validation=splits.validation, or fine_tune(model, splits), which uses it."
        )
    if not is_splits(train):
        return train, validation
    data = _split(train, "train", "Load the dataset with training examples, or pass (x, y) arrays.")
    if validation is None and train.validation is not None and len(train.validation[1]):
        validation = train.validation
    return data, validation


def evaluation_data(model, x, y=None):
    """``evaluate``'s ``x`` / ``y`` in any accepted form, checked: a ``Splits`` gives ``splits.test``.

    Args:
        model: TransferModel or MultiTaskModel.
        x: inputs (arrays, lists) with ``y``; or a labelled ``tf.data.Dataset``, ``keras.utils.PyDataset`` or
            ``Splits`` alone.
        y: labels for array / list inputs, else None.

    Returns:
        tuple ``(x, y)`` for ``keras.Model.evaluate``.

    Raises:
        InvalidInputError: bad inputs or labels, a ``Splits`` with ``y`` or without a test split.

    Examples:
    >>> from keras_transfer.models.inputs import evaluation_data
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> model = keras_transfer.TransferModel(keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32)),
    ...                                      keras_transfer.ClassificationHead(2))
    >>> splits = keras_transfer.data.from_arrays(np.zeros((8, 4, 4, 1), "uint8"), np.arange(8) % 2, test_size=4)
    >>> x, y = evaluation_data(model, splits)
    >>> x.shape, y.shape
    ((4, 4, 4, 1), (4,))
    """
    if is_splits(x):
        if y is not None:
            raise InvalidInputError(
                f"A Splits carries its own labels. Received: a Splits and y of type {type(y).__name__}. "
                "Call evaluate(splits) alone, or evaluate(x, y) with arrays."
            )
        x = _split(x, "test", "Evaluate on another split explicitly, e.g. model.evaluate(*splits.validation).")
    elif y is None:
        if _is_dataset(x) or isinstance(x, keras.utils.PyDataset):
            return model_data(model, x, "evaluate")[0], None
        return model_inputs(model, x), None
    else:
        x = (x, y)
    data_x, data_y, _, _ = model_data(model, x, "evaluate")
    return data_x, data_y


def _batches_to_arrays(batches, limit):
    xs, ys, n = [], [], 0
    for batch in batches:
        parts = tuple(batch) if isinstance(batch, (tuple, list)) else (batch,)
        xs.append(keras.ops.convert_to_numpy(parts[0]))
        if len(parts) > 1:
            ys.append(keras.ops.convert_to_numpy(parts[1]))
        n += len(xs[-1])
        if limit is not None and n >= limit:
            break
    if not xs:
        raise InvalidInputError("The data holds no batches. Received: an empty dataset. Pass at least one batch.")
    x = np.concatenate(xs)
    if x.dtype == object or x.dtype.kind == "S":  # tf.string batches come back as bytes
        x = np.array([v.decode("utf-8") if isinstance(v, bytes) else v for v in x.reshape(len(x), -1)[:, 0]],
                     dtype=object)
    return x, (np.concatenate(ys) if len(ys) == len(xs) else None)


def input_arrays(model, data, limit=None):
    """Inputs (and labels when present) as NumPy arrays, for work outside ``fit`` (export parity, calibration).

    Takes every form ``model_inputs`` takes, plus ``(x, y)`` tuples and a ``Splits`` (its test split). Datasets
    and PyDatasets are read batch by batch up to ``limit`` examples.

    Args:
        model: keras.Model.
        data: inputs, ``(x, y)``, a ``tf.data.Dataset``, a ``keras.utils.PyDataset`` or a ``Splits``.
        limit: int or None. Read at most about this many examples from a dataset.

    Returns:
        tuple ``(x, y)``: checked input array and label array (None without labels).

    Examples:
    >>> from keras_transfer.models.inputs import input_arrays
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> model = keras_transfer.TransferModel(keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32)),
    ...                                      keras_transfer.ClassificationHead(2))
    >>> x, y = input_arrays(model, (np.zeros((3, 8, 8, 1), "uint8"), np.arange(3) % 2))
    >>> x.shape, y.tolist()
    ((3, 8, 8, 1), [0, 1, 0])
    """
    if is_splits(data):
        data = _split(data, "test", "Pass the arrays of another split, e.g. splits.validation.")
    if isinstance(data, tuple) and len(data) == 2 and np.ndim(data[0]) >= 1 and np.ndim(data[1]) in (1, 2) \
            and len(data[0]) == len(data[1]) and not isinstance(data[1], str):
        return _validator(model)(data[0], what="x"), np.asarray(data[1])
    x = model_inputs(model, data)
    if _is_dataset(x) or isinstance(x, keras.utils.PyDataset):
        x, y = _batches_to_arrays(x, limit)
        return _validator(model)(x, what="x"), y
    return x, None
