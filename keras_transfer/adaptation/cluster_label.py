"""`ClusterLabel`: class-balanced pseudo-labels from feature-space centroids (SHOT's self-labelling, Liang et al. 2020).

Confidence-thresholded pseudo-labels follow the classifier's bias under a shift: the few classes it already
predicts collect all the confident examples, and self-training collapses onto them. Centroid labels follow the
*target's own* cluster structure instead: each class's centroid is the prediction-weighted mean of the target
features, every target example takes its nearest centroid's class, and the centroids are recomputed from those
labels. The head then trains on them beside the labelled source, on cached features.
"""

import math

import keras
import numpy as np
import tensorflow as tf

from keras_transfer.adaptation.adabn import AdaBN, reestimate_batch_norm
from keras_transfer.adaptation.folding import head_features
from keras_transfer.adaptation.method import Adaptation
from keras_transfer.adaptation.session import _epoch_order, batched_features
from keras_transfer.adaptation.signals import accuracy
from keras_transfer.adaptation.trainer import AdaptationTrainer, classification_loss
from keras_transfer.checks import check_number

__all__ = ["ClusterLabel", "ClusterLabelTrainer", "centroid_labels"]


def _normalised(features):
    features = np.concatenate([np.asarray(features, "float64"), np.ones((len(features), 1))], axis=1)
    return features / (np.linalg.norm(features, axis=1, keepdims=True) + 1e-8)


def centroid_labels(features, probabilities, rounds: int = 2) -> np.ndarray:
    """Labels of ``features`` by their nearest class centroid (cosine), as SHOT computes them.

    The first centroids are the ``probabilities``-weighted means of the (bias-augmented, L2-normalised)
    features; then ``rounds`` times: every example takes its nearest centroid's class and each centroid becomes
    the mean of its examples (a class left without examples keeps its centroid).

    Args:
        features: ``(n, d)`` target features.
        probabilities: ``(n, classes)`` the classifier's predictions on them.
        rounds: int ≥ 1.

    Returns:
        ``(n,)`` int64 labels.

    Examples:
    >>> import numpy as np
    >>> from keras_transfer.adaptation.cluster_label import centroid_labels
    >>> features = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    >>> biased = np.array([[0.9, 0.1], [0.6, 0.4], [0.6, 0.4], [0.4, 0.6]])  # argmax: 0, 0, 0, 1
    >>> centroid_labels(features, biased).tolist()
    [0, 0, 1, 1]
    """
    x = _normalised(features)
    p = np.asarray(probabilities, "float64")
    centroids = p.T @ x / (p.sum(axis=0)[:, None] + 1e-8)
    labels = np.zeros(len(x), "int64")
    for _ in range(max(int(rounds), 1)):
        norms = np.linalg.norm(centroids, axis=1, keepdims=True) + 1e-8
        labels = (x @ (centroids / norms).T).argmax(axis=1)
        for k in range(p.shape[1]):
            members = labels == k
            if members.any():
                centroids[k] = x[members].mean(axis=0)
    return labels


class ClusterLabelTrainer(AdaptationTrainer):
    """One step on cached features: the head's loss on a labelled source batch plus ``target_weight`` times its
    loss on a target batch against the current centroid labels (``labels``, refreshed every epoch)."""

    trains_backbone = False  # cached features

    def __init__(self, model, n_target: int, target_weight: float, **kwargs):
        super().__init__(model, **kwargs)
        self.labels = tf.Variable(tf.zeros([n_target], "int64"), trainable=False, name="centroid_labels")
        self.target_weight = float(target_weight)

    def losses_of(self, batch):
        (source, source_labels), (target, index) = batch
        head = self.adapted.head
        source_loss = tf.reduce_mean(classification_loss(source_labels, head(source, training=True)))
        target_loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(
            tf.gather(self.labels, index), head(target, training=True)))
        return source_loss + self.target_weight * target_loss, {"source_loss": source_loss,
                                                                "target_loss": target_loss}


class _Relabel(keras.callbacks.Callback):
    """Recomputes the centroid labels from the head's current predictions at the start of every epoch."""

    def __init__(self, trainer, features, rounds):
        super().__init__()
        self.trainer, self.features, self.rounds = trainer, features, rounds
        self.changed, self.class_counts = [], None

    def on_epoch_begin(self, epoch, logs=None):
        probabilities = np.concatenate([
            keras.ops.convert_to_numpy(self.trainer.adapted.head(self.features[i:i + 1024], training=False))
            for i in range(0, len(self.features), 1024)])
        labels = centroid_labels(self.features, probabilities, self.rounds)
        self.changed.append(float(np.mean(labels != self.trainer.labels.numpy())))
        self.trainer.labels.assign(labels)
        self.class_counts = np.bincount(labels, minlength=probabilities.shape[1]).tolist()


class ClusterLabel(Adaptation):
    """``adapt="cluster_label"``: the head retrained on class-balanced centroid pseudo-labels of the target.

    The target features are computed once (the backbone does not train). At the start of each of the session's
    epochs, the head's predictions on them give prediction-weighted class centroids, refined by
    ``centroid_labels`` into one label per target example (SHOT's self-labelling, which follows the target's own
    clusters rather than the head's confident guesses, so no class is starved). The head then trains one pass
    over the target, each step pairing a labelled source batch (which keeps it a source classifier) with a target
    batch and its centroid labels. Nothing is added to the model. With ``adabn=True`` the model is first adapted
    by ``AdaBN`` (source refit, target statistics), and the labels come from its target features. TransferModel
    with a single-label classification head only (a MultiTaskModel's heads would each need their own labels).

    Args:
        target_weight: float ≥ 0. Weight of the target term.
        rounds: int ≥ 1. Centroid refinement rounds per labelling.
        adabn: bool. Start from the AdaBN-adapted model.
        learning_rate: float or None. The head's rate (None: 3e-3, chosen among 1e-3, 3e-3 and 1e-2 on the
            adaptation benchmark's validation shift, ``python -m benchmarks adaptation_validation``).

    Examples:
    >>> keras_transfer.adaptation.ClusterLabel().name
    'cluster_label'
    """

    name = "cluster_label"

    def __init__(self, target_weight: float = 1.0, rounds: int = 2, adabn: bool = False, learning_rate=None):
        super().__init__(learning_rate=learning_rate)
        self.target_weight = check_number("target_weight", target_weight, minimum=0)
        self.rounds = int(check_number("rounds", rounds, minimum=1, hint="Use e.g. rounds=2."))
        self.adabn = bool(adabn)

    def check(self, model) -> None:
        super().check(model)
        if self.adabn:
            AdaBN().check(model)

    def adapt(self, session):
        model = session.model
        source_x, source_y = session.require_source(self.name)
        info = {}
        if self.adabn:
            _, adabn_info = AdaBN().adapt(session)
            info.update(adabn=adabn_info, source_accuracy=adabn_info.get("source_accuracy"))
            if adabn_info["refit"]:  # the source features the head knows are the source-normalised ones
                reestimate_batch_norm(model.backbone, source_x)
        source = next(iter(head_features(model, batched_features(model.backbone, source_x)).values()))
        if self.adabn and info["adabn"]["refit"]:
            reestimate_batch_norm(model.backbone, session.target)
        target = next(iter(head_features(model, batched_features(model.backbone, session.target)).values()))
        trainer = ClusterLabelTrainer(model, len(target), self.target_weight)
        relabel = _Relabel(trainer, target, self.rounds)
        dataset, steps = _paired_features(source, np.asarray(source_y), target, session.batch_size, session.seed,
                                          session.start, session.end)
        history = session.fit(trainer, dataset, steps, self.learning_rate or 3e-3, callbacks=[relabel])
        info.update(label_change=relabel.changed, class_counts=relabel.class_counts)
        if info.get("source_accuracy") is not None:  # the head moved: its source accuracy under source statistics
            check = session.source_check_data()
            reestimate_batch_norm(model.backbone, source_x)
            info["source_accuracy"] = accuracy(model.predict(check[0], batch_size=256, verbose=0), check[1])
            model.predict_function = None
            reestimate_batch_norm(model.backbone, session.target)
        return history, info


def _paired_features(source, source_y, target, batch_size, seed, start, end):
    """Batches ``((source features, labels), (target features, target indices))``, one target pass per epoch,
    each epoch's order a function of ``(seed, epoch)`` (as ``session.paired_dataset``)."""
    n_target = len(target)
    steps = math.ceil(n_target / batch_size)
    source_index = np.concatenate([_epoch_order(len(source), n_target, seed, e) for e in range(start, end)]
                                  or [np.zeros(0, "int64")])
    target_index = np.concatenate([_epoch_order(n_target, n_target, seed + 1, e) for e in range(start, end)]
                                  or [np.zeros(0, "int64")])
    fs, ys, ft = tf.constant(source, "float32"), tf.constant(source_y), tf.constant(target, "float32")
    pairs = tf.data.Dataset.from_tensor_slices((source_index, target_index))
    dataset = pairs.batch(n_target).flat_map(lambda s, t: tf.data.Dataset.from_tensor_slices((s, t)).batch(batch_size))
    return dataset.map(lambda s, t: ((tf.gather(fs, s), tf.gather(ys, s)), (tf.gather(ft, t), t))).prefetch(2), steps
