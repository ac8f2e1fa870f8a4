"""AdaBN: BatchNorm statistics re-estimated on target inputs, nothing else changes; with both model kinds."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.adaptation import AdaBN, reestimate_batch_norm
from keras_transfer.adaptation.adabn import batch_norm_layers
from keras_transfer.errors import InvalidConfigError

from .conftest import tiny_model, trained_model


def test_statistics_are_the_targets_whole_batch_statistics(shift_task):
    """On one batch holding every target input, the adapted backbone in inference mode computes what the
    network computes normalising every BatchNorm layer with that batch's own statistics."""
    _, _, target_x, _ = shift_task
    model = tiny_model()
    backbone = model.backbone
    model(target_x[:2])
    layers = batch_norm_layers(backbone)
    kernels = [v.numpy().copy() for v in backbone.trainable_weights + backbone.non_trainable_weights
               if "moving" not in v.path]
    before = backbone(target_x.astype("float32"), training=False).numpy()
    # reference: batch statistics throughout (BatchNorm trainable, training=True), on a copy of the backbone
    reference = kt.backbones.get("tiny_cnn", weights=None, input_shape=(16, 16), train_bn=True, trainable="full")
    reference(target_x[:2])
    reference.set_weights(backbone.get_weights())
    expected = reference(target_x.astype("float32"), training=True).numpy()

    assert reestimate_batch_norm(backbone, target_x, batch_size=len(target_x)) == len(layers) == 3
    adapted = backbone(target_x.astype("float32"), training=False).numpy()
    np.testing.assert_allclose(adapted, expected, rtol=1e-4, atol=1e-4)
    assert np.abs(adapted - before).max() > 1e-2
    after = [v.numpy() for v in backbone.trainable_weights + backbone.non_trainable_weights if "moving" not in v.path]
    for old, new in zip(kernels, after):
        np.testing.assert_array_equal(old, new)
    assert backbone.mode == "frozen" and backbone.train_bn is False
    assert [layer.momentum for layer in layers] == [0.99] * 3 and not any(layer.trainable for layer in layers)


def test_pooled_over_batches_equals_one_batch(shift_task):
    _, _, target_x, _ = shift_task
    one, many = tiny_model(), tiny_model()
    one(target_x[:2]), many(target_x[:2])
    many.set_weights(one.get_weights())
    reestimate_batch_norm(one.backbone, target_x, batch_size=len(target_x))
    reestimate_batch_norm(many.backbone, target_x, batch_size=5)  # the first layer's statistics pool exactly
    first_one, first_many = batch_norm_layers(one.backbone)[0], batch_norm_layers(many.backbone)[0]
    np.testing.assert_allclose(first_many.moving_mean.numpy(), first_one.moving_mean.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(first_many.moving_variance.numpy(), first_one.moving_variance.numpy(), rtol=1e-3)


def test_fine_tune_adabn_without_refit_reports_and_changes_only_statistics(shift_task):
    source, validation, target_x, _ = shift_task
    model, history = trained_model(source, validation, unlabeled=target_x, adapt=AdaBN(refit_head=False),
                                   fine_tune_epochs=0)
    assert [stage["name"] for stage in history.stages] == ["head", "adapt"]
    report = history.adaptation
    assert report["selected"] == "adabn" and set(report["candidates"]) == {"source_only", "adabn"}
    adabn, base = report["candidates"]["adabn"], report["candidates"]["source_only"]
    assert adabn["source_accuracy"] == base["source_accuracy"] and base["source_data"] == "validation"
    assert adabn["info"] == {"refit": False, "batch_norm_layers": 3, "target_examples": len(target_x)}
    assert adabn["target_score"] != base["target_score"]


def test_head_refitted_under_source_statistics_before_the_target_swap(shift_task):
    """The head trained under the frozen backbone's own (not source) statistics: swapping in target statistics
    alone leaves it lost on the target; AdaBN first re-estimates on the source and refits the head there."""
    source, validation, target_x, (test_x, test_y) = shift_task

    def run(adapt):
        keras.utils.set_random_seed(0)
        model, history = trained_model(source, validation, fine_tune_epochs=0, head_epochs=6, unlabeled=target_x,
                                       adapt=adapt)
        return model, history.adaptation["candidates"], float(np.mean(model.predict(test_x, verbose=0).argmax(1)
                                                                      == test_y))

    _, swap_only, swap_accuracy = run(AdaBN(refit_head=False))
    model, refit, refit_accuracy = run(AdaBN(learning_rate=3e-2, refit_epochs=20))
    base = swap_only["source_only"]
    assert refit["adabn"]["info"]["refit"] is True and swap_only["adabn"]["info"]["refit"] is False
    assert refit_accuracy >= swap_accuracy + 0.3 and refit_accuracy >= 0.9
    # its source accuracy is the refitted head's under source statistics, measured on the validation split
    assert refit["adabn"]["source_accuracy"] == refit["adabn"]["info"]["source_accuracy"] >= 0.9
    assert refit["adabn"]["source_data"] == base["source_data"] == "validation"
    reestimate_batch_norm(model.backbone, source[0])  # back to source statistics: the refitted source classifier
    accuracy = np.mean(model.predict(validation[0], verbose=0).argmax(1) == validation[1])
    assert accuracy == pytest.approx(refit["adabn"]["info"]["source_accuracy"])


def test_works_with_a_multi_task_model(shift_task):
    (x, y), _, target_x, _ = shift_task
    model = tiny_model(multi_task=True)
    labels = {"level": y, "bright": (y == 2).astype("int64")}
    history = kt.fine_tune(model, (x, labels), head_epochs=1, fine_tune_epochs=0, unlabeled=target_x,
                           adapt="adabn", batch_size=16, verbose=0)
    signals = history.adaptation["candidates"]["adabn"]
    assert signals["source_data"] == "train" and 0 <= signals["source_accuracy"] <= 1
    assert signals["target_score"] is not None and signals["info"]["refit"] is False  # no single head to refit


def test_refused_methods_fail_before_training(shift_task):
    (x, y), _, target_x, _ = shift_task
    model = tiny_model(multi_task=True)
    model(x[:2])
    weights = [w.copy() for w in model.get_weights()]
    with pytest.raises(InvalidConfigError, match="adapt='pseudo_label' needs a TransferModel"):
        kt.fine_tune(model, (x, {"level": y, "bright": y % 2}), head_epochs=1, unlabeled=target_x,
                     adapt="pseudo_label", verbose=0)
    for old, new in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_refused_without_batch_norm(shift_task):
    (x, y), _, target_x, _ = shift_task
    backbone = kt.backbones.get("tiny_cnn", weights=None, input_shape=(16, 16), train_bn=False)
    model = kt.TransferModel(backbone, kt.ClassificationHead(3))
    for layer in batch_norm_layers(backbone):  # a stand-in for a backbone without BatchNorm
        layer.__class__ = type("NotBatchNorm", (keras.layers.Layer,), {})
    with pytest.raises(InvalidConfigError, match="no BatchNorm layer"):
        kt.fine_tune(model, (x, y), head_epochs=1, unlabeled=target_x, adapt="adabn", verbose=0)
