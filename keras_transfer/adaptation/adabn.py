"""`AdaBN`: re-estimate a backbone's BatchNorm statistics on the target inputs (Li et al., 2016), after making the
head fit source-normalised features."""

from typing import List, Optional

import keras
import numpy as np
import tensorflow as tf

from keras_transfer.adaptation.method import Adaptation, empty_history
from keras_transfer.adaptation.session import batched_features
from keras_transfer.adaptation.signals import accuracy
from keras_transfer.adaptation.trainer import classification_loss
from keras_transfer.errors import InvalidConfigError

__all__ = ["AdaBN", "batch_norm_layers", "reestimate_batch_norm", "refit_head"]


def batch_norm_layers(backbone) -> List[keras.layers.BatchNormalization]:
    """Every ``BatchNormalization`` layer inside ``backbone``'s network (nested models included), in order."""
    return [layer for layer in backbone.network._flatten_layers(include_self=False, recursive=True)
            if isinstance(layer, keras.layers.BatchNormalization)]


def reestimate_batch_norm(backbone, x, batch_size: int = 256) -> int:
    """Replace every BatchNorm layer's moving mean and variance with their values on inputs ``x``.

    The network runs over ``x`` once in training mode, so each BatchNorm layer normalises with the statistics
    of the target batch it sees, as every layer below it already does: a layer's statistics are those of its
    inputs *after* the layers below adapted (AdaBN). Per layer, the batch means and variances are pooled into the
    exact mean and (biased) variance over all of ``x``. Weights, trainable flags, momentum and the backbone's
    mode are put back afterwards; only the statistics change, so the model saves and exports as before.

    Args:
        backbone: a keras_transfer backbone (``backbone.network`` holds the BatchNorm layers).
        x: raw inputs (what the model takes), e.g. ``(N, H, W, C)`` images.
        batch_size: int. Larger batches make each batch's statistics closer to the whole set's.

    Returns:
        int: the number of BatchNorm layers re-estimated.

    Examples:
    >>> import numpy as np
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> backbone = keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32), train_bn=False)
    >>> keras_transfer.adaptation.reestimate_batch_norm(backbone, np.full((8, 32, 32, 3), 200, "uint8"))
    3
    """
    layers = batch_norm_layers(backbone)
    if not layers:
        return 0
    mode, train_bn = backbone.mode, backbone.train_bn
    momenta = [layer.momentum for layer in layers]
    sums = [None] * len(layers)
    count = 0
    try:
        backbone.train_bn = True
        backbone.set_mode("full")  # every BatchNorm layer trainable: training=True uses and records batch statistics
        for layer in layers:
            layer.momentum = 0.0  # the moving statistics become the batch's
        for start in range(0, len(x), batch_size):
            batch = np.asarray(x[start:start + batch_size], "float32")
            backbone(batch, training=True)
            n = len(batch)
            for i, layer in enumerate(layers):
                mean = keras.ops.convert_to_numpy(layer.moving_mean).astype("float64")
                var = keras.ops.convert_to_numpy(layer.moving_variance).astype("float64")
                part = (n * mean, n * (var + mean ** 2))
                sums[i] = part if sums[i] is None else (sums[i][0] + part[0], sums[i][1] + part[1])
            count += n
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
        backbone.train_bn = train_bn
        backbone.set_mode(mode)
    for layer, (first, second) in zip(layers, sums):
        mean = first / count
        layer.moving_mean.assign(mean.astype("float32"))
        layer.moving_variance.assign(np.maximum(second / count - mean ** 2, 0.0).astype("float32"))
    return len(layers)


def _single_label_head(model) -> bool:
    head = getattr(model, "head", None) if getattr(model, "heads", None) is None else None
    return head is not None and bool(getattr(head, "num_classes", None)) and not getattr(head, "multi_label", False)


def refit_head(model, x, y, epochs: int = 10, batch_size: int = 64, learning_rate: float = 1e-3,
               seed: int = 0) -> float:
    """Train a TransferModel's classification head (not the backbone) on the backbone's features of ``(x, y)``.

    The features are computed once (inference mode, the backbone's current BatchNorm statistics), then the head
    (after the model's own shift layer, if any) trains ``epochs`` passes with Adam from its current weights.

    Args:
        model: TransferModel with a single-label classification head.
        x, y: labelled inputs (integer or one-hot labels).
        epochs, batch_size, learning_rate: the head's training.
        seed: int. Batch order.

    Returns:
        float: the head's accuracy on ``(x, y)`` afterwards.
    """
    features = batched_features(model.backbone, x)
    if model.shift is not None:
        features = keras.ops.convert_to_numpy(model.shift(features))
    labels = np.asarray(y)
    optimizer = keras.optimizers.Adam(learning_rate)
    variables = model.head.trainable_variables

    @tf.function
    def step(batch_x, batch_y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(classification_loss(batch_y, model.head(batch_x, training=True)))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

    rng = np.random.default_rng(seed)
    for _ in range(int(epochs)):
        order = rng.permutation(len(features))
        for start in range(0, len(order), batch_size):
            pick = order[start:start + batch_size]
            step(tf.constant(features[pick]), tf.constant(labels[pick]))
    predicted = np.concatenate([keras.ops.convert_to_numpy(model.head(features[i:i + 1024], training=False))
                                for i in range(0, len(features), 1024)])
    truth = labels.argmax(1) if labels.ndim == 2 else labels
    return float(np.mean(predicted.argmax(1) == truth))


class AdaBN(Adaptation):
    """``adapt="adabn"``: the classifier made to work on *source-normalised* features, then the backbone's
    BatchNorm statistics re-estimated on the target inputs (Li et al., 2016).

    AdaBN's premise is that the statistics the classifier was trained under are the *source's*: then swapping in
    the target's statistics hands the classifier target features normalised as the source's were. After
    ``fine_tune`` with a frozen pretrained backbone (the default) that is not so: the statistics are ImageNet's
    and the head learnt on ImageNet-normalised source features; swapping those for target statistics moves the
    features away from everything the head saw (``python -m benchmarks adaptation`` measured that shortcut 8 and
    30 points below the source model). So, by default (``refit_head=True``), with a TransferModel, a
    single-label classification head and the labelled source arrays:

    1. the BatchNorm statistics are re-estimated on the labelled *source* inputs,
    2. the head is refitted (``refit_epochs`` passes, from its weights) on the source features under them,
    3. the statistics are re-estimated on the *target* inputs.

    The report's source accuracy is the refitted model's under source statistics (step 2's classifier on the
    source validation split), i.e. what this classifier achieves where its statistics match its domain. Without
    the source arrays, or with a MultiTaskModel or another head, only step 3 runs (``info["refit"]`` says which):
    correct when the BatchNorm layers already trained on the source (``train_bn=True`` and a fully fine-tuned
    backbone, or ``weights=None``). The model keeps its layers; only statistics (and the head) change, so it
    saves and exports as before.

    Args:
        batch_size: int. Inputs per statistics pass (the statistics are pooled over all of them).
        refit_head: bool. Steps 1-2 before the target statistics (when possible).
        refit_epochs: int. Head passes over the source features in step 2.
        learning_rate: float or None. The head's rate in step 2 (None: 1e-3).

    Examples:
    >>> keras_transfer.adaptation.AdaBN().trains
    False
    """

    name = "adabn"
    trains = False
    multi_task = True
    source_unchanged = True
    needs_source = False

    def __init__(self, batch_size: int = 256, refit_head: bool = True, refit_epochs: int = 10,
                 learning_rate: Optional[float] = None):
        super().__init__(learning_rate=learning_rate)
        self.batch_size = int(batch_size)
        self.refit_head, self.refit_epochs = bool(refit_head), int(refit_epochs)

    def check(self, model) -> None:
        if not batch_norm_layers(model.backbone):
            raise InvalidConfigError(
                "adapt='adabn' re-estimates BatchNorm statistics, but this backbone has no BatchNorm layer. "
                f"Received: backbone {getattr(getattr(model.backbone, 'spec', None), 'name', model.backbone.name)!r}. "
                "Use adapt='shift_bias', 'pseudo_label' or 'dann'."
            )

    def adapt(self, session):
        model = session.model
        info = {"refit": False}
        if self.refit_head and session.source is not None and _single_label_head(model):
            source_x, source_y = session.source
            reestimate_batch_norm(model.backbone, source_x, self.batch_size)
            info["refit_source_accuracy"] = refit_head(model, source_x, source_y, self.refit_epochs,
                                                       session.batch_size, self.learning_rate or 1e-3, session.seed)
            check = session.source_check_data()
            if check is not None:
                outputs = model.predict(check[0], batch_size=session.batch_size * 4, verbose=0)
                model.predict_function = None
                info["source_accuracy"] = accuracy(outputs, check[1])
            info["refit"] = True
        n = reestimate_batch_norm(model.backbone, session.target, self.batch_size)
        info.update(batch_norm_layers=n, target_examples=session.n_target)
        return empty_history(model), info
