"""`AdaptationSession`: what an adaptation method works with (model, labelled source, unlabelled target, budget)."""

import math
from typing import Callable, List, Optional

import keras
import numpy as np
import tensorflow as tf

from keras_transfer.errors import InvalidConfigError
from keras_transfer.optimizers.discriminative import group_optimizer
from keras_transfer.optimizers.factory import make_optimizer

__all__ = ["AdaptationSession", "batched_features", "paired_dataset", "target_dataset"]


def batched_features(backbone, x, batch_size: int = 256) -> np.ndarray:
    """The backbone's features (inference mode) of raw inputs ``x``, batch by batch."""
    parts = [keras.ops.convert_to_numpy(backbone(np.asarray(x[i:i + batch_size], "float32"), training=False))
             for i in range(0, len(x), batch_size)]
    return np.concatenate(parts).astype("float32")


def _labels(y):
    """Label arrays: one, or a dict ``{task: labels}`` (MultiTaskModel)."""
    return {task: np.asarray(labels) for task, labels in y.items()} if isinstance(y, dict) else np.asarray(y)


def _epoch_order(n: int, length: int, seed: int, epoch: int) -> np.ndarray:
    """``length`` indices into ``n`` examples, a fresh permutation of them (cycled) per ``(seed, epoch)``."""
    rng = np.random.default_rng([seed, epoch])
    order = np.concatenate([rng.permutation(n) for _ in range(math.ceil(length / n))])
    return order[:length]


def paired_dataset(source_x, source_y, target_x, batch_size: int, seed: int, start: int, end: int):
    """Batches ``((x_source, y_source), x_target)`` for epochs ``start`` to ``end``, one target pass per epoch.

    Each epoch's order is a function of ``(seed, epoch)`` (the source is cycled or cut to the target's length), so
    a restarted stage sees the batches the interrupted one saw.

    Returns:
        (tf.data.Dataset, steps_per_epoch)
    """
    n_source, n_target = len(source_x), len(target_x)
    steps = math.ceil(n_target / batch_size)
    source_index, target_index = [], []
    for epoch in range(start, end):
        source_index.append(_epoch_order(n_source, n_target, seed, epoch))
        target_index.append(_epoch_order(n_target, n_target, seed + 1, epoch))
    xs, ys, xt = tf.constant(source_x), tf.constant(source_y), tf.constant(target_x)

    def gather(s, t):
        return (tf.cast(tf.gather(xs, s), "float32"), tf.gather(ys, s)), tf.cast(tf.gather(xt, t), "float32")

    pairs = tf.data.Dataset.from_tensor_slices((
        np.concatenate(source_index or [np.zeros(0, "int64")]), np.concatenate(target_index or [np.zeros(0, "int64")])))
    # batches never straddle two epochs: each epoch is batched on its own
    dataset = pairs.batch(n_target).flat_map(lambda s, t: tf.data.Dataset.from_tensor_slices((s, t)).batch(batch_size))
    return dataset.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2), steps


def target_dataset(target, batch_size: int, seed: int, start: int, end: int):
    """Batches of ``target`` (features or inputs) for epochs ``start`` to ``end``, shuffled per ``(seed, epoch)``.

    Returns:
        (tf.data.Dataset, steps_per_epoch)
    """
    n = len(target)
    steps = math.ceil(n / batch_size)
    index = np.concatenate([_epoch_order(n, n, seed, epoch) for epoch in range(start, end)] or [np.zeros(0, "int64")])
    values = tf.constant(target)
    pairs = tf.data.Dataset.from_tensor_slices(index).batch(n)
    dataset = pairs.flat_map(lambda i: tf.data.Dataset.from_tensor_slices(i).batch(batch_size))
    return dataset.map(lambda i: tf.cast(tf.gather(values, i), "float32")).prefetch(2), steps


class AdaptationSession:
    """Everything an adaptation method may use, and nothing it may not: no target labels exist here.

    Built by ``keras_transfer.training.stages.AdaptationStage`` from the ``fine_tune`` run (or by hand, to adapt
    a trained model outside ``fine_tune``).

    Args:
        model: the trained ``keras_transfer`` model (TransferModel or MultiTaskModel) to adapt in place.
        source: ``(x, y)`` labelled source arrays (the training data), or None (only AdaBN runs without them).
        target: the unlabelled target inputs, a NumPy array.
        validation: ``(x, y)`` labelled source validation arrays, or None (then a slice of ``source`` is used
            for the source-accuracy signal).
        batch_size: int.
        seed: int. Batch order and augmentation draws.
        start: int. The stage's first epoch (epochs continue the run's count).
        epochs: int. The adaptation budget in epochs (one pass over the target inputs each).
        learning_rate: float. The rate of methods that train (each may override it): the head's and the method's
            own layers' (a domain classifier, a shift layer).
        backbone_learning_rate: float or None. The rate of the backbone groups a method trains (unfrozen by the
            run, or by the method's ``min_unfrozen_groups``); None: ``learning_rate``. ``fine_tune`` passes its
            stage-2 rate, so pretrained layers train at the rate the run chose for them, not at the head's.
        optimizer: an optimizer name, instance or callable, as ``fine_tune(optimizer=...)``.
        callbacks: callable returning the callbacks of each ``fit`` (the user's and the NaN guard).
        verbose: passed to ``fit``.

    Examples:
    >>> import numpy as np
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> model = keras_transfer.TransferModel(keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32)),
    ...                                      keras_transfer.ClassificationHead(2))
    >>> session = keras_transfer.adaptation.AdaptationSession(model, None, np.zeros((4, 32, 32, 3), "uint8"))
    >>> session.n_target
    4
    """

    def __init__(self, model, source, target, validation=None, batch_size: int = 32, seed: int = 0, start: int = 0,
                 epochs: int = 3, learning_rate: float = 1e-3, optimizer="adam",
                 callbacks: Optional[Callable[[], List]] = None, verbose="auto",
                 backbone_learning_rate: Optional[float] = None):
        self.model, self.target = model, np.asarray(target)
        self.source = None if source is None else (np.asarray(source[0]), _labels(source[1]))
        self.validation = None if validation is None else (np.asarray(validation[0]), _labels(validation[1]))
        self.batch_size, self.seed, self.start, self.epochs = int(batch_size), int(seed), int(start), int(epochs)
        self.learning_rate, self.optimizer, self.verbose = float(learning_rate), optimizer, verbose
        self.backbone_learning_rate = None if backbone_learning_rate is None else float(backbone_learning_rate)
        self._callbacks = callbacks or (lambda: [])

    @property
    def n_target(self) -> int:
        return len(self.target)

    @property
    def end(self) -> int:
        return self.start + self.epochs

    def require_source(self, method: str):
        """The labelled source arrays; raises when the run's training data is not arrays."""
        if self.source is None:
            raise InvalidConfigError(
                f"adapt={method!r} trains on the labelled source data beside the target, and needs it as arrays "
                "(NumPy or lists). Received: a tf.data.Dataset or PyDataset as the training data. Pass (x, y) arrays, "
                "or use adapt='adabn' (target inputs only)."
            )
        return self.source

    def source_check_data(self, limit: int = 1000):
        """Labelled source data for the source-accuracy signal: the validation split, else the training data's
        first ``limit`` examples (``(x, y, what)``, what naming which), or None."""
        if self.validation is not None:
            return self.validation + ("validation",)
        if self.source is not None:
            y = self.source[1]
            y = {task: labels[:limit] for task, labels in y.items()} if isinstance(y, dict) else y[:limit]
            return self.source[0][:limit], y, "train"
        return None

    def fit(self, trainer: keras.Model, dataset, steps: int, learning_rate: Optional[float] = None, callbacks=()):
        """Compile ``trainer`` with a fresh optimizer and fit it for the session's epochs; returns the History.

        ``callbacks`` (the method's own, e.g. a schedule) come before the run's (the user's, the NaN guard)."""
        trainer.compile(optimizer=self.make_optimizer(learning_rate or self.learning_rate,
                                                      getattr(trainer, "trains_backbone", True)))
        return trainer.fit(dataset, epochs=self.end, initial_epoch=self.start, steps_per_epoch=steps,
                           callbacks=list(callbacks) + list(self._callbacks()), verbose=self.verbose)

    def make_optimizer(self, learning_rate: float, trains_backbone: bool = True):
        """A fresh optimizer: ``learning_rate`` for everything outside the backbone, and, when backbone groups
        train (unfrozen, and ``trains_backbone``), ``backbone_learning_rate`` for them (one sub-optimizer per
        group, ``group_optimizer``)."""
        template = make_optimizer(self.optimizer, learning_rate)  # float rates, as every stage's optimizer
        backbone, rate = getattr(self.model, "backbone", None), self.backbone_learning_rate
        frozen = not trains_backbone or not getattr(backbone, "trainable_weights", None)
        if rate is None or rate == learning_rate or frozen or getattr(backbone, "layer_groups", None) is None \
                or isinstance(template, keras.optimizers.MultiOptimizer):
            return template
        return group_optimizer(self.model, template, [rate] * len(backbone.layer_groups), head_lr=learning_rate)
