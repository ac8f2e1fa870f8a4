"""AdaptationSession's optimizer: unfrozen backbone groups train at their own (stage-2) rate, not the head's."""

import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.adaptation import DANN
from keras_transfer.adaptation.trainer import AdaptationTrainer
from keras_transfer.optimizers import get_learning_rates

from .conftest import session, source_model, tiny_model


def _backbone_change(before, model):
    return max(float(np.max(np.abs(a - b))) for a, b in zip(before, [w.numpy() for w in model.backbone.weights]))


def test_optimizer_gives_unfrozen_groups_the_backbone_rate(source_weights, shift_task):
    model = source_model(source_weights)
    model.backbone.set_mode(2)
    run = session(model, shift_task, learning_rate=1e-2, backbone_learning_rate=1e-4)
    rates = get_learning_rates(run.make_optimizer(1e-2))
    groups = [g.name for g in model.backbone.layer_groups]
    assert rates == pytest.approx({**{name: 1e-4 for name in groups}, "head": 1e-2}, rel=1e-6)
    # a trainer on cached features, a frozen backbone or no backbone rate: one optimizer at the given rate
    for optimizer in (run.make_optimizer(3e-3, trains_backbone=False),
                      session(model, shift_task).make_optimizer(3e-3)):
        assert float(optimizer.learning_rate) == pytest.approx(3e-3) and not hasattr(optimizer, "optimizers")
    model.backbone.set_mode("frozen")
    assert not hasattr(run.make_optimizer(1e-2), "optimizers")


def test_dann_trains_the_backbone_at_the_backbone_rate(source_weights, shift_task):
    changes = {}
    for rate in (None, 1e-9):
        model = source_model(source_weights)
        before = [w.numpy() for w in model.backbone.weights]
        head = [w.numpy() for w in model.head.weights]
        DANN(hidden_units=8, min_unfrozen_groups=3).adapt(
            session(model, shift_task, epochs=2, learning_rate=1e-2, backbone_learning_rate=rate))
        changes[rate] = _backbone_change(before, model)
        assert max(float(np.max(np.abs(a - b.numpy()))) for a, b in zip(head, model.head.weights)) > 1e-4
    assert changes[None] > 1e-3  # at the head's rate the backbone moves ...
    assert changes[1e-9] < 1e-6  # ... at its own tiny rate it (nearly) does not, while the head still trains


def test_fine_tune_adapts_the_backbone_at_its_stage_2_rate(shift_task):
    (x, y), validation, target_x, _ = shift_task
    changes = {}
    for fine_tune_lr in (None, 1e-9):
        model = tiny_model()
        model(x[:1])
        before = [w.numpy() for w in model.backbone.weights]
        kt.fine_tune(model, (x, y), validation=validation, head_epochs=1, fine_tune_epochs=0, head_lr=1e-2,
                     fine_tune_lr=fine_tune_lr, batch_size=16, unlabeled=target_x, adapt=DANN(hidden_units=8),
                     adapt_epochs=1, verbose=0)
        changes[fine_tune_lr] = _backbone_change(before, model)
    assert changes[None] > 1e-4 and changes[1e-9] < 1e-6


def test_trainers_on_cached_features_say_so():
    from keras_transfer.adaptation.cluster_label import ClusterLabelTrainer
    from keras_transfer.adaptation.shift_alignment import MomentAlignmentTrainer

    assert AdaptationTrainer.trains_backbone and not ClusterLabelTrainer.trains_backbone
    assert not MomentAlignmentTrainer.trains_backbone


def test_optimizer_instance_with_a_schedule_still_splits_the_rates(source_weights, shift_task):
    import keras

    model = source_model(source_weights)
    model.backbone.set_mode(1)
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, decay_steps=10, decay_rate=0.9)
    run = session(model, shift_task, optimizer=keras.optimizers.SGD(schedule, momentum=0.5),
                  backbone_learning_rate=1e-4)
    optimizer = run.make_optimizer(1e-2)  # no error in the adaptation stage, after the run's other stages
    assert get_learning_rates(optimizer)["head"] == pytest.approx(1e-2)
    assert {type(o).__name__ for o in optimizer.optimizers} == {"SGD"}
