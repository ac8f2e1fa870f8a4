"""`DANN`: domain-adversarial training, a domain classifier behind a gradient-reversal layer (Ganin et al., 2016)."""

import math

import keras
import tensorflow as tf

from keras_transfer.adaptation.gradient_reversal import GradientReversal
from keras_transfer.adaptation.method import Adaptation
from keras_transfer.adaptation.session import paired_dataset
from keras_transfer.adaptation.trainer import AdaptationTrainer, classification_loss, forward
from keras_transfer.checks import check_number

__all__ = ["DANN", "DANNTrainer", "ReversalSchedule"]


class ReversalSchedule(keras.callbacks.Callback):
    """Ramps a ``GradientReversal`` layer's scale as DANN does: ``scale * (2 / (1 + exp(-10 p)) - 1)``, ``p``
    the fraction of the adaptation's steps done (0 at its first step, so the domain classifier learns first).

    Args:
        layer: GradientReversal.
        scale: float. The final scale.
        start: int. The stage's first epoch.
        steps: int. Steps per epoch.
        total: int. Steps of the whole stage.
    """

    def __init__(self, layer, scale: float, start: int, steps: int, total: int):
        super().__init__()
        self.layer, self.scale, self.start, self.steps, self.total = layer, scale, start, steps, max(total, 1)
        self._epoch = start

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        progress = min(((self._epoch - self.start) * self.steps + batch) / self.total, 1.0)
        self.layer.set_scale(self.scale * (2.0 / (1.0 + math.exp(-10.0 * progress)) - 1.0))


class DANNTrainer(AdaptationTrainer):
    """Source classification loss plus the domain classifier's loss on reversed source and target features."""

    def __init__(self, model, hidden_units: int, domain_weight: float, **kwargs):
        super().__init__(model, **kwargs)
        self.reversal = GradientReversal(0.0, name="gradient_reversal")
        self.domain_classifier = keras.Sequential(
            [keras.layers.Dense(hidden_units, activation="relu"), keras.layers.Dense(hidden_units, activation="relu"),
             keras.layers.Dense(1)], name="domain_classifier")
        self.domain_classifier.build((None, model.backbone.output_dim))
        self.domain_weight = float(domain_weight)

    def losses_of(self, batch):
        (xs, ys), xt = batch
        model = self.adapted
        source_features, outputs = forward(model, xs, training=True)
        target_features = model.backbone(xt, training=True)
        source_loss = tf.reduce_mean(classification_loss(ys, outputs))
        features = tf.concat([source_features, target_features], axis=0)
        domains = tf.concat([tf.zeros_like(source_features[:, :1]), tf.ones_like(target_features[:, :1])], axis=0)
        logits = self.domain_classifier(self.reversal(features), training=True)
        domain_loss = tf.reduce_mean(keras.losses.binary_crossentropy(domains, logits, from_logits=True))
        accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.cast(logits > 0, "float32"), domains), "float32"))
        loss = source_loss + self.domain_weight * domain_loss
        return loss, {"source_loss": source_loss, "domain_loss": domain_loss, "domain_accuracy": accuracy}


class DANN(Adaptation):
    """``adapt="dann"``: a domain classifier on the backbone's features, trained through a ``GradientReversal``
    layer, so the backbone learns features the classifier cannot tell apart while the head keeps fitting the
    labelled source.

    The reversal's scale ramps from 0 to ``scale`` over the stage (``ReversalSchedule``). The domain classifier
    (two ReLU layers of ``hidden_units`` and a logit) and the reversal layer live only in the training wrapper
    (``DANNTrainer``) and are dropped afterwards: the adapted model has its original layers. The backbone's last
    ``min_unfrozen_groups`` groups train at least (features must be able to move). TransferModel with a
    single-label classification head only (not MultiTaskModel: its heads are trained on partial labels, left
    out here).

    Args:
        scale: float > 0. Final factor of the reversed gradient (λ).
        hidden_units: int. Width of the domain classifier.
        domain_weight: float > 0. Weight of the domain loss.
        learning_rate: float or None. The rate of the head and the method's own layers (None: the run's
            head rate); unfrozen backbone groups train at the run's stage-2 rate (``fine_tune_lr``).
        min_unfrozen_groups: int.

    Examples:
    >>> keras_transfer.adaptation.DANN(scale=0.5).scale
    0.5
    """

    name = "dann"

    def __init__(self, scale: float = 1.0, hidden_units: int = 256, domain_weight: float = 1.0, learning_rate=None,
                 min_unfrozen_groups: int = 1):
        super().__init__(learning_rate=learning_rate, min_unfrozen_groups=min_unfrozen_groups)
        self.scale = check_number("scale", scale, minimum=0, min_inclusive=False, hint="Use e.g. scale=1.0.")
        self.domain_weight = check_number("domain_weight", domain_weight, minimum=0, min_inclusive=False)
        self.hidden_units = int(hidden_units)

    def adapt(self, session):
        model = session.model
        source_x, source_y = session.require_source(self.name)
        self.unfreeze_for(model)
        trainer = DANNTrainer(model, self.hidden_units, self.domain_weight)
        dataset, steps = paired_dataset(source_x, source_y, session.target, session.batch_size, session.seed,
                                        session.start, session.end)
        schedule = ReversalSchedule(trainer.reversal, self.scale, session.start, steps, steps * session.epochs)
        history = session.fit(trainer, dataset, steps, self.learning_rate, callbacks=[schedule])
        accuracy = history.history.get("domain_accuracy", [])
        return history, {"final_domain_accuracy": float(accuracy[-1]) if accuracy else None,
                         "unfrozen_groups": model.backbone.unfrozen_groups}
