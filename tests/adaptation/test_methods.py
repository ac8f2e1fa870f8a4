"""Each method through a real tiny adaptation run: what it trains, what it logs, and that the model stays plain."""

import numpy as np
import pytest

from keras_transfer.adaptation import DANN, AdaBN, PseudoLabel, ShiftBiasAlignment, fold_feature_affine
from keras_transfer.adaptation.session import batched_features
from keras_transfer.adaptation.signals import target_scores
from keras_transfer.errors import TrainingDivergedError
from keras_transfer.training import NanGuard

from .conftest import session, source_model

# cheap views for tests (the presets' RandAugment takes long to trace on two shared cores)
WEAK, STRONG = [{"translation": 0.1}], [{"translation": 0.2}, {"noise": 0.1}, {"erasing": 0.5}]


def _layout(model):
    return [layer.name for layer in model.layers], [tuple(w.shape) for w in model.weights]


def test_shift_bias_closed_form_matches_moments_and_folds(source_weights, shift_task):
    model = source_model(source_weights)
    source, _, target_x, _ = shift_task
    head = source_model(source_weights).head  # the head before folding
    fs, ft = batched_features(model.backbone, source[0]), batched_features(model.backbone, target_x)
    layout = _layout(model)
    history, info = ShiftBiasAlignment(coral=0.0).adapt(session(model, shift_task, epochs=0))
    assert history.epoch == [] and info["scale_norm"] > 0
    scale = np.sqrt((fs.var(0) + 1e-6) / (ft.var(0) + 1e-6))
    matched = ft * scale + (fs.mean(0) - ft.mean(0) * scale)
    np.testing.assert_allclose(model.head(ft).numpy(), head(matched).numpy(), rtol=1e-4, atol=1e-5)
    assert _layout(model) == layout  # folded into the head's Dense: no layer added


def test_shift_bias_trains_from_the_closed_form_with_coral(source_weights, shift_task):
    closed = ShiftBiasAlignment(coral=0.0).adapt(session(source_model(source_weights), shift_task, epochs=0))[1]
    history, info = ShiftBiasAlignment(coral=1.0).adapt(session(source_model(source_weights), shift_task, epochs=2))
    assert {"loss", "mean_loss", "variance_loss", "coral_loss"} <= set(history.history)
    assert history.epoch == [0, 1] and info["coral"] == 1.0 and np.isfinite(history.history["loss"]).all()
    assert info["scale_norm"] != pytest.approx(closed["scale_norm"], rel=1e-4)  # it trained away from the start


def test_fold_refuses_heads_without_a_dense_first(source_weights):
    from keras_transfer.errors import InvalidConfigError

    model = source_model(source_weights)
    model.head.output_layer = None
    with pytest.raises(InvalidConfigError, match="first layer is a Dense"):
        fold_feature_affine(model, np.ones(32), np.zeros(32))


def test_pseudo_label_makes_target_predictions_confident(source_weights, shift_task):
    model = source_model(source_weights)
    _, _, target_x, _ = shift_task
    before = target_scores(model.predict(target_x, verbose=0))
    backbone_before = [w.numpy().copy() for w in model.backbone.weights]
    layout = _layout(model)
    method = PseudoLabel(threshold=0.4, weak=WEAK, strong=STRONG, learning_rate=1e-2)
    history, info = method.adapt(session(model, shift_task, epochs=2))
    assert {"source_loss", "unlabeled_loss", "mask_rate"} <= set(history.history)
    assert history.history["mask_rate"][-1] > 0 and info["unfrozen_groups"] == 1
    assert target_scores(model.predict(target_x, verbose=0))["entropy"] < before["entropy"]
    changed = [not np.array_equal(a, w.numpy()) for a, w in zip(backbone_before, model.backbone.weights)]
    assert any(changed) and not all(changed)  # the last group trained, the rest did not
    assert _layout(model) == layout


def test_pseudo_label_without_confident_labels_has_no_target_loss(source_weights, shift_task):
    model = source_model(source_weights)
    history, _ = PseudoLabel(threshold=1.0, weak=WEAK, strong=STRONG).adapt(session(model, shift_task))
    assert history.history["mask_rate"] == [0.0] and history.history["unlabeled_loss"] == [0.0]


def test_dann_trains_a_domain_classifier_then_drops_it(source_weights, shift_task):
    model = source_model(source_weights)
    layout = _layout(model)
    method = DANN(scale=0.5, hidden_units=16)
    history, info = method.adapt(session(model, shift_task, epochs=2))
    assert {"source_loss", "domain_loss", "domain_accuracy"} <= set(history.history)
    assert info["unfrozen_groups"] == 1 and 0 <= info["final_domain_accuracy"] <= 1
    assert _layout(model) == layout  # no domain classifier, no reversal layer in the adapted model


def test_nan_guard_stops_a_diverging_adaptation(source_weights, shift_task):
    model = source_model(source_weights)
    weights = [w.copy() for w in model.get_weights()]
    run = session(model, shift_task, epochs=1, learning_rate=1e12, callbacks=lambda: [NanGuard(stage="adapt")])
    with pytest.raises(TrainingDivergedError, match="stage 'adapt'"):
        DANN(scale=1e6, domain_weight=1e6).adapt(run)
    for old, new in zip(weights, model.get_weights()):  # the last good weights are back
        np.testing.assert_array_equal(old, new)


def test_adabn_runs_without_source(source_weights, shift_task):
    from keras_transfer.adaptation import AdaptationSession

    model = source_model(source_weights)
    _, _, target_x, _ = shift_task
    history, info = AdaBN().adapt(AdaptationSession(model, None, target_x))
    assert history.epoch == [] and info["batch_norm_layers"] == 3


def test_distribution_alignment_spreads_collapsed_pseudo_labels(source_weights):
    import tensorflow as tf

    from keras_transfer.adaptation.pseudo_label import PseudoLabelTrainer

    model = source_model(source_weights)
    identity = lambda x, training=None: x  # noqa: E731
    # every row favours class 0, but each still ranks its own class second
    rows = np.array([[0.6, 0.3, 0.1], [0.6, 0.1, 0.3], [0.7, 0.2, 0.1], [0.6, 0.25, 0.15],
                     [0.6, 0.1, 0.3], [0.5, 0.1, 0.4]], "float32")
    plain = PseudoLabelTrainer(model, identity, identity, 0.5, 1.0, alignment=0.0)
    aligned = PseudoLabelTrainer(model, identity, identity, 0.5, 1.0, alignment=0.5)
    assert set(plain.align(tf.constant(rows)).numpy().argmax(1)) == {0}
    for _ in range(5):
        labels = aligned.align(tf.constant(rows)).numpy()
    np.testing.assert_allclose(labels.sum(1), 1.0, rtol=1e-5)
    assert set(labels.argmax(1)) == {0, 1, 2}
    np.testing.assert_allclose(aligned.target_mean.numpy(), rows.mean(0), atol=0.05)
