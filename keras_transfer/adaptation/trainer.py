"""`AdaptationTrainer`: a ``keras.Model`` wrapping the model being adapted, with the method's training step.

The wrapper owns the adaptation-only parts (a domain classifier, a shift layer) next to the wrapped model, so
``fit`` trains them together and the callbacks (the NaN guard, the user's) watch it like any fit; the wrapper is
thrown away afterwards and the wrapped model is left in its plain form.
"""

import keras
import tensorflow as tf

__all__ = ["AdaptationTrainer", "classification_loss", "forward"]


def forward(model, x, training=None):
    """A TransferModel's forward pass split in two: ``(backbone features, head outputs)``, as ``model.call``."""
    if model.augmentation is not None and training:
        x = model.augmentation(keras.ops.cast(x, "float32"), training=True)
    features = model.backbone(x, training=training)
    head_input = model.shift(features) if model.shift is not None else features
    return features, model.head(head_input, training=training)


def classification_loss(labels, probabilities):
    """Per-example cross-entropy of softmax outputs with integer or one-hot ``labels``."""
    if labels.shape.rank == 2 and labels.shape[-1] == probabilities.shape[-1]:
        return keras.losses.categorical_crossentropy(tf.cast(labels, probabilities.dtype), probabilities)
    return keras.losses.sparse_categorical_crossentropy(labels, probabilities)


class AdaptationTrainer(keras.Model):
    """A training step ``losses(batch) -> (loss, logs)`` over the wrapped model and the trainer's own layers.

    Subclasses implement ``losses``; gradients flow to every trainable variable the loss reaches (variables it
    does not reach are skipped, e.g. frozen backbone groups).

    Args:
        model: the keras_transfer model being adapted (its trainable variables train), or None.
        **kwargs: base ``keras.Model`` arguments.
    """

    #: whether the loss reaches the backbone's variables (False: the step works on cached backbone features),
    #: so ``AdaptationSession.fit`` gives unfrozen backbone groups their own, lower rate only when they train
    trains_backbone = True

    def __init__(self, model=None, **kwargs):
        super().__init__(**kwargs)
        self.adapted = model

    @property
    def backbone(self):
        return self.adapted.backbone

    def losses_of(self, batch):
        """``(loss, {name: value})`` of one batch, inside the gradient tape."""
        raise NotImplementedError(f"{type(self).__name__} must define losses_of().")

    def train_step(self, batch):
        with tf.GradientTape() as tape:
            loss, logs = self.losses_of(batch)
        variables = self.trainable_variables
        pairs = [(g, v) for g, v in zip(tape.gradient(loss, variables), variables) if g is not None]
        self.optimizer.apply_gradients(pairs)
        return {"loss": loss, **logs}

    def call(self, inputs, training=None):
        return self.adapted(inputs, training=training)
