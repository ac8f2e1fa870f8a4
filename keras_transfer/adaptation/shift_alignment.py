"""`ShiftBiasAlignment`: the distribution-shift bias trained to give target features the source's statistics."""

import keras
import numpy as np
import tensorflow as tf

from keras_transfer.adaptation.folding import check_foldable, fold_feature_affine, head_features
from keras_transfer.adaptation.method import Adaptation, empty_history
from keras_transfer.adaptation.session import batched_features, target_dataset
from keras_transfer.adaptation.trainer import AdaptationTrainer
from keras_transfer.checks import check_number
from keras_transfer.models.shift_bias import DistributionShiftBias

__all__ = ["MomentAlignmentTrainer", "ShiftBiasAlignment"]

_EPS = 1e-6


class MomentAlignmentTrainer(AdaptationTrainer):
    """Trains a ``DistributionShiftBias`` on target features toward source moments (and covariance: CORAL).

    The loss per target batch ``z = shift(f)``: ``mean((mean(z) - mu_s)^2 / var_s) + mean((log var(z) -
    log var_s)^2) + coral * ||cov(z) - cov_s||_F^2 / (4 d^2)`` (Sun & Saenko's CORAL, on standardised features).

    Args:
        dim: int. Feature size.
        mean, variance: arrays ``(dim,)``. Source feature moments.
        covariance: array ``(dim, dim)`` or None. The source features' covariance (standardised), for ``coral``.
        coral: float ≥ 0. Weight of the CORAL term.
        scale, shift: arrays ``(dim,)``. The layer's starting values.
    """

    trains_backbone = False  # cached features

    def __init__(self, dim, mean, variance, covariance=None, coral=0.0, scale=None, shift=None, **kwargs):
        super().__init__(None, **kwargs)
        self.shift_layer = DistributionShiftBias(scale=True, name="target_shift")
        self.shift_layer.build((None, dim))
        if scale is not None:
            self.shift_layer.set_weights([np.asarray(shift, "float32"), np.asarray(scale, "float32")])
        self.mean = tf.constant(mean, "float32")
        self.std = tf.constant(np.sqrt(variance + _EPS), "float32")
        self.log_var = tf.constant(np.log(variance + _EPS), "float32")
        self.covariance = None if covariance is None else tf.constant(covariance, "float32")
        self.coral = float(coral)

    def losses_of(self, batch):
        z = self.shift_layer(batch)
        mean = tf.reduce_mean(z, axis=0)
        var = tf.math.reduce_variance(z, axis=0)
        mean_loss = tf.reduce_mean(tf.square((mean - self.mean) / self.std))
        var_loss = tf.reduce_mean(tf.square(tf.math.log(var + _EPS) - self.log_var))
        loss, logs = mean_loss + var_loss, {"mean_loss": mean_loss, "variance_loss": var_loss}
        if self.covariance is not None and self.coral:
            standard = (z - self.mean) / self.std
            centred = standard - tf.reduce_mean(standard, axis=0)
            n = tf.cast(tf.shape(z)[0], "float32")
            cov = tf.matmul(centred, centred, transpose_a=True) / tf.maximum(n - 1.0, 1.0)
            d = tf.cast(tf.shape(z)[1], "float32")
            coral = tf.reduce_sum(tf.square(cov - self.covariance)) / (4.0 * d * d)
            loss += self.coral * coral
            logs["coral_loss"] = coral
        return loss, logs

    def call(self, inputs, training=None):
        return self.shift_layer(inputs)


class ShiftBiasAlignment(Adaptation):
    """``adapt="shift_bias"``: a ``DistributionShiftBias`` (per-feature scale and shift) that makes the target's
    features look like the source's to the head, folded into the head afterwards.

    Moments first: the layer starts at the closed-form match of each feature's mean and variance (``scale =
    std_s / std_t``, ``shift = mu_s - mu_t * scale``), then trains on target batches to keep the moments matched
    *per batch* while, with ``coral > 0``, bringing the features' covariance toward the source's (CORAL). The
    backbone and head do not train. Finally ``x * scale + shift`` is folded into each head's first Dense layer
    (``fold_feature_affine``), so the saved model has no extra layer. Works with TransferModel and
    MultiTaskModel (one affine, folded into every head). The statistics are of what the heads see, after the
    model's own shift layer if it has one (with per-task shift layers: the first task's).

    Args:
        coral: float ≥ 0. Weight of the CORAL term (0: moments only).
        learning_rate: float or None. The layer's rate (None: 1e-2; it trains alone, from the closed form).
        max_source: int. Source examples used for the source statistics.

    Examples:
    >>> keras_transfer.adaptation.ShiftBiasAlignment(coral=1.0).name
    'shift_bias'
    """

    name = "shift_bias"
    multi_task = True
    source_unchanged = True

    def __init__(self, coral: float = 1.0, learning_rate=None, max_source: int = 2000):
        super().__init__(learning_rate=learning_rate)
        self.coral = check_number("coral", coral, minimum=0, hint="Use e.g. coral=1.0, or 0 for moments only.")
        self.max_source = int(max_source)

    def check(self, model) -> None:
        check_foldable(model)

    def adapt(self, session):
        model = session.model
        source_x, _ = session.require_source(self.name)
        rng = np.random.default_rng(session.seed)
        pick = np.sort(rng.permutation(len(source_x))[:self.max_source])
        source = next(iter(head_features(model, batched_features(model.backbone, source_x[pick])).values()))
        target = next(iter(head_features(model, batched_features(model.backbone, session.target)).values()))
        mu_s, var_s = source.mean(0), source.var(0)
        mu_t, var_t = target.mean(0), target.var(0)
        # features (nearly) constant on either side (dead ReLU units) keep their scale: only shifted
        floor = 1e-3 * float(np.mean(var_s)) + _EPS
        live = (var_s > floor) & (var_t > floor)
        scale = np.where(live, np.sqrt((var_s + _EPS) / (var_t + _EPS)), 1.0)
        shift = mu_s - mu_t * scale
        covariance = None
        if self.coral:
            standard = (source - mu_s) / np.sqrt(var_s + _EPS)
            covariance = np.cov(standard, rowvar=False)
        trainer = MomentAlignmentTrainer(source.shape[1], mu_s, var_s, covariance, self.coral, scale, shift)
        history = None
        if session.epochs:
            dataset, steps = target_dataset(target, session.batch_size, session.seed, session.start, session.end)
            history = session.fit(trainer, dataset, steps, self.learning_rate or 1e-2)
        shift_values, scale_values = [keras.ops.convert_to_numpy(w) for w in trainer.shift_layer.weights]
        fold_feature_affine(model, scale_values, shift_values)
        info = {"shift_norm": float(np.linalg.norm(shift_values)),
                "scale_norm": float(np.linalg.norm(scale_values - 1.0)), "coral": self.coral}
        return history if history is not None else empty_history(model), info
