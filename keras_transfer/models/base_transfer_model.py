"""`BaseTransferModel`: the base of TransferModel and MultiTaskModel. It owns everything that depends on the
model's kind, as hooks ``keras_transfer.fine_tune`` calls without asking which model it has:

- ``fit_data``: each accepted data form as ``fit`` arguments, labels checked (per head for a MultiTaskModel);
- ``training_loss``: the loss and metrics fitting the labels' form (and ``label_smoothing``, ``loss``,
  ``class_weight``: ``keras_transfer.models.head_loss``);
- ``run_settings``: what a resumed run must share with the interrupted one (stored in checkpoints);
- ``check_fine_tune_options``: refuse the ``fine_tune`` options this kind cannot use.

``predict`` / ``evaluate`` take every input form ``fine_tune`` takes, through the same conversion
(``keras_transfer.models.inputs``)."""

import keras

from keras_transfer.backbones.base import BaseBackbone
from keras_transfer.backbones.registry import get as get_backbone
from keras_transfer.errors import InvalidConfigError
from keras_transfer.models.inputs import evaluation_data, model_inputs, single_head_data

__all__ = ["BaseTransferModel"]


def _workers(strategy) -> int:
    """How many workers (processes) a tf.distribute strategy spans; 1 without one."""
    return int(getattr(getattr(strategy, "extended", None), "_num_workers", 1) or 1)


def _multi_worker_logs(model, logs):
    """Step logs as shape-(1,) tensors under several workers: Keras 3.15 reduces each step log with
    ``strategy.reduce("MEAN", value, axis=0)`` there, which fails on scalars. Epoch logs are unaffected (Keras
    reads them from the metrics, aggregated over every replica of every worker)."""
    if _workers(getattr(model, "_distribute_strategy", None)) <= 1 or not isinstance(logs, dict):
        return logs
    return {name: keras.ops.reshape(value, (1,)) if keras.ops.ndim(value) == 0 else value
            for name, value in logs.items()}


class BaseTransferModel(keras.Model):
    """A ``keras.Model`` with a ``backbone`` whose ``predict`` and ``evaluate`` take raw inputs in every form
    ``keras_transfer.fine_tune`` takes: NumPy arrays (uint8 / float images, ``str`` or object arrays of texts,
    float waveforms), Python lists (of texts, of images, of clips), a ``tf.data.Dataset``, a
    ``keras.utils.PyDataset`` and, for ``evaluate``, a ``keras_transfer.data.Splits`` (its test split).

    The overrides apply to models loaded with ``keras_transfer.load_model`` too (the subclasses are registered
    serializables). Subclasses set ``self.backbone`` and override the training hooks their kind needs
    (``fit_data``, ``training_loss``, ``run_settings``, ``check_fine_tune_options``).

    Examples:
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> model = keras_transfer.TransferModel(keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32)),
    ...                                      keras_transfer.ClassificationHead(2))
    >>> isinstance(model, keras_transfer.models.BaseTransferModel)
    True
    """

    def _backbone_of(self, backbone):
        """A Backbone, or a registry name built with ImageNet weights (frozen); anything else is refused."""
        if isinstance(backbone, str):
            backbone = get_backbone(backbone)
        if not isinstance(backbone, BaseBackbone):
            raise InvalidConfigError(
                f"{type(self).__name__} needs a keras_transfer Backbone (keras_transfer.backbones.get(name)) or a "
                f"registry name. Received: backbone of type {type(backbone).__name__}."
            )
        return backbone

    # ------------------------------------------------------------ training hooks (keras_transfer.fine_tune)
    def train_step(self, data):
        return _multi_worker_logs(self, super().train_step(data))

    def test_step(self, data):
        return _multi_worker_logs(self, super().test_step(data))

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Keras builds a distributed model from the first batch, reduced over the replicas with
        ``strategy.reduce`` (Keras 3.15), which ``MultiWorkerMirroredStrategy`` refuses for an ``(x, y)``
        structure once there are several workers. The build needs only shapes and dtypes, so under several
        workers this replica's own part of the batch is used instead (the same batch is consumed)."""
        strategy = getattr(self, "_distribute_strategy", None)
        if iterator is None or _workers(strategy) <= 1:
            return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
        import tensorflow as tf

        def local(value):
            if isinstance(value, tf.distribute.DistributedValues):
                return strategy.experimental_local_results(value)[0]
            return value

        for _, _, batches in iterator:
            data_batch = tf.nest.map_structure(local, next(batches))
            break
        return super()._maybe_symbolic_build(data_batch=data_batch)

    def fit_data(self, data, what: str, batch_size=None):
        """Labelled data in any accepted form, checked, as ``fit`` arguments ``(x, y, batch_size, labels)``
        (``(dataset, None, None, None)`` for a dataset or PyDataset). ``what`` names the data in messages."""
        return single_head_data(self, data, what, batch_size)

    def training_loss(self, data, labels, label_smoothing=None, loss=None, class_weight=None, soft_targets=False):
        """``(loss, metrics)`` fitting the training labels' form, or ``(None, None)`` for ``compile``'s defaults.

        Args:
            data: the training data as given to ``fit_data``.
            labels: the checked label array from ``fit_data`` (None for datasets).
            label_smoothing: float in (0, 1) or None.
            loss: None, ``"focal"`` or a Keras loss (``fine_tune(loss=...)``).
            class_weight: None, ``"auto"`` or ``{class id: weight}`` (``{task: ...}`` for a MultiTaskModel).
            soft_targets: bool. Training targets become soft rows (MixUp / CutMix).
        """
        return None, None

    def run_settings(self) -> dict:
        """The model's part of what a resumed ``fine_tune`` run must share with the interrupted one."""
        backbone = self.backbone
        return {
            "model": type(self).__name__,
            "backbone": getattr(getattr(backbone, "spec", None), "name", type(backbone).__name__),
            "backbone_groups": len(backbone.layer_groups),
            "num_classes": self.num_classes,
        }

    def check_fine_tune_options(self, options) -> None:
        """Refuse ``fine_tune`` options this kind of model cannot use (``options``: the options object).

        Raises:
            InvalidConfigError: an option in ``unsupported_options`` is set.
        """
        used = [name for name in self.unsupported_options if getattr(options, name, None) is not None]
        if used:
            raise InvalidConfigError(
                f"fine_tune on a {type(self).__name__} does not support {', '.join(used)} yet "
                f"({self.unsupported_reason}). Received: {', '.join(f'{u}=...' for u in used)}. Leave them unset."
            )

    #: ``fine_tune`` options this kind refuses (with ``unsupported_reason`` in the message).
    unsupported_options = ()
    unsupported_reason = ""

    @property
    def num_classes(self):
        """Number of classes of a classification head, else None (a dict per task for a MultiTaskModel)."""
        return None

    @property
    def input_dtype(self):
        """``"string"`` for a text backbone (so SavedModel signatures trace strings), else Keras' float dtype."""
        if getattr(getattr(self, "backbone", None), "input_kind", None) == "text":
            return "string"
        return super().input_dtype

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """``keras.Model.predict`` on raw inputs in any form ``fine_tune`` takes, checked first.

        Args:
            x: NumPy array or list of images ``(N, H, W, C)`` (uint8 or float in [0, 255]), texts (``str`` or
                object array, list of ``str``) or float waveforms ``(N, samples)``, by the backbone's
                ``input_kind``; a batched ``tf.data.Dataset`` of ``x`` or ``(x, y)`` (labels ignored); a
                ``keras.utils.PyDataset``. A ``Splits`` is refused: predict on one split's inputs,
                ``splits.test[0]``, so rows stay aligned with the inputs you chose.
            batch_size: int or None. Batch size for arrays and lists (default 32).
            verbose: ``"auto"``, 0, 1 or 2.
            steps: int or None. Batches to run from a dataset.
            callbacks: list of ``keras.callbacks.Callback`` or None.

        Returns:
            np.ndarray (a dict ``{task: array}`` for a MultiTaskModel).

        Raises:
            InvalidInputError: inputs the backbone cannot take (e.g. numbers for a text model), or a ``Splits``.

        Examples:
        >>> name = keras_transfer.testing.register_tiny_backbone()
        >>> backbone = keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32))
        >>> model = keras_transfer.TransferModel(backbone, keras_transfer.ClassificationHead(3))
        >>> images = [np.zeros((28, 28, 1), "uint8"), np.full((28, 28, 1), 255, "uint8")]  # a list of images
        >>> model.predict(images, verbose=0).shape
        (2, 3)
        """
        return super().predict(model_inputs(self, x), batch_size=batch_size, verbose=verbose, steps=steps,
                               callbacks=callbacks)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, **kwargs):
        """``keras.Model.evaluate`` on raw inputs in any form ``fine_tune`` takes, inputs and labels checked first.

        A ``keras_transfer.data.Splits`` is evaluated on its test split (``splits.test``); a Splits without one
        raises, naming ``splits.validation``.

        Args:
            x: inputs as for ``predict`` with labels ``y``; or, alone, a labelled ``tf.data.Dataset`` /
                ``keras.utils.PyDataset`` of ``(x, y)`` batches, or a ``Splits``.
            y: labels for array / list inputs (``{task: y}`` for a MultiTaskModel), else None.
            batch_size: int or None.
            verbose: ``"auto"``, 0, 1 or 2.
            sample_weight: array or None.
            steps: int or None.
            callbacks: list of ``keras.callbacks.Callback`` or None.
            return_dict: bool. Return ``{metric: value}`` instead of a list.
            **kwargs: passed to ``keras.Model.evaluate``.

        Returns:
            float, list of floats, or dict (``return_dict=True``).

        Raises:
            InvalidInputError: bad inputs or labels (shape, type, range, length), or a Splits without a test split.

        Examples:
        >>> name = keras_transfer.testing.register_tiny_backbone()
        >>> backbone = keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32))
        >>> model = keras_transfer.TransferModel(backbone, keras_transfer.ClassificationHead(2))
        >>> model.compile("adam")
        >>> splits = keras_transfer.data.from_arrays(np.zeros((8, 28, 28, 1), "uint8"), np.arange(8) % 2,
        ...                                          test_size=4)
        >>> sorted(model.evaluate(splits, verbose=0, return_dict=True))  # on splits.test
        ['accuracy', 'loss']
        """
        if not kwargs.get("_use_cached_eval_dataset"):  # fit's validation: converted once by fine_tune / fit
            x, y = evaluation_data(self, x, y)
        return super().evaluate(x, y, batch_size=batch_size, verbose=verbose, sample_weight=sample_weight,
                                steps=steps, callbacks=callbacks, return_dict=return_dict, **kwargs)
