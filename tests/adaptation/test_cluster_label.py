"""ClusterLabel: centroid pseudo-labels follow the target's clusters, not the head's bias; the head retrains on them."""

import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.adaptation import ClusterLabel
from keras_transfer.adaptation.cluster_label import centroid_labels
from keras_transfer.errors import InvalidConfigError

from .conftest import source_model, tiny_model


def test_centroid_labels_recover_clusters_a_biased_classifier_merges():
    rng = np.random.default_rng(0)
    truth = np.arange(300) % 3
    centres = np.eye(3) * 4.0
    features = centres[truth] + rng.normal(0, 0.5, (300, 3))
    # a shifted classifier: class 2 is mostly predicted as class 1, class 0 is right
    probabilities = np.full((300, 3), 0.1)
    predicted = np.where(truth == 2, np.where(rng.random(300) < 0.7, 1, 2), truth)
    probabilities[np.arange(300), predicted] = 0.8
    assert np.mean(predicted == truth) < 0.8
    labels = centroid_labels(features, probabilities)
    assert np.mean(labels == truth) > 0.97
    assert np.bincount(labels, minlength=3).min() > 90  # no class starved


def test_labels_follow_the_features_not_the_biased_head_and_the_head_retrains(source_weights, shift_task):
    """A head biased toward class 0 (as a shift biases it): its argmax loses a class, the centroid labels do not, and
    the head trained on them recovers; only the head trains and the model keeps its layers."""
    from keras_transfer.adaptation import AdaptationSession

    source, validation, _, _ = shift_task
    model = source_model(source_weights)
    layer = model.head.output_layer
    layer.kernel.assign(layer.kernel.numpy() * 0.1)
    layer.bias.assign(layer.bias.numpy() + np.array([1.0, 0.0, 0.0], "float32"))
    target_x, (tx, ty) = validation[0], source  # unshifted images: the features separate the classes
    before = model.predict(tx, verbose=0).argmax(1)
    assert 1 not in before  # class 1 is lost to class 0
    layers, backbone = [layer.name for layer in model.layers], [w.numpy().copy() for w in model.backbone.weights]
    run = AdaptationSession(model, source, target_x, batch_size=16, epochs=3, verbose=0)
    history, info = ClusterLabel(learning_rate=0.3).adapt(run)
    assert {"loss", "source_loss", "target_loss"} <= set(history.history) and history.epoch == [0, 1, 2]
    assert len(info["label_change"]) == 3 and min(info["class_counts"]) >= 3  # no class starved
    after = model.predict(tx, verbose=0).argmax(1)
    assert np.mean(after == ty) >= np.mean(before == ty) + 0.25
    for old, new in zip(backbone, model.backbone.weights):  # only the head trained
        np.testing.assert_array_equal(old, new.numpy())
    assert [layer.name for layer in model.layers] == layers


def test_through_fine_tune_and_refused_for_a_multi_task_model(shift_task):
    source, validation, target_x, _ = shift_task
    history = kt.fine_tune(tiny_model(), source, validation=validation, head_epochs=1, fine_tune_epochs=0,
                           unlabeled=target_x, adapt="cluster_label", adapt_epochs=1, batch_size=16, verbose=0)
    assert [stage["name"] for stage in history.stages] == ["head", "adapt"]
    assert history.adaptation["selected"] == "cluster_label"
    assert 0 <= history.adaptation["candidates"]["cluster_label"]["source_accuracy"] <= 1
    (x, y) = source
    with pytest.raises(InvalidConfigError, match="adapt='cluster_label' needs a TransferModel"):
        kt.fine_tune(tiny_model(multi_task=True), (x, {"level": y, "bright": y % 2}), head_epochs=1,
                     unlabeled=target_x, adapt="cluster_label", verbose=0)
