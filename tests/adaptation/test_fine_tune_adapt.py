"""fine_tune(unlabeled=..., adapt=...): options, auto selection, resume, and export parity of an adapted model."""

import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.adaptation import AutoAdaptation
from keras_transfer.errors import InvalidConfigError, InvalidInputError

from .conftest import tiny_model, trained_model


@pytest.mark.parametrize("options, match", [
    ({"adapt": "adabn"}, "adapt needs unlabeled"),
    ({"unlabeled": np.zeros((4, 16, 16, 1), "uint8")}, "unlabeled needs adapt"),
    ({"adapt": "coral", "unlabeled": np.zeros((4, 16, 16, 1), "uint8")}, "Received: adapt='coral'"),
    ({"adapt": "dann", "unlabeled": np.zeros((4, 16, 16, 1), "uint8"), "mixup": 0.2}, "mixup / cutmix"),
    ({"adapt": "dann", "unlabeled": np.zeros((4, 16, 16, 1), "uint8"), "adapt_epochs": 0}, "adapt_epochs=0"),
])
def test_bad_options_fail_before_training(shift_task, options, match):
    source, _, _, _ = shift_task
    model = tiny_model()
    with pytest.raises(InvalidConfigError, match=match):
        kt.fine_tune(model, source, head_epochs=1, verbose=0, **options)
    assert not model.built  # nothing ran


def test_bad_target_inputs_fail_before_training(shift_task):
    source, _, _, _ = shift_task
    with pytest.raises(InvalidInputError):
        kt.fine_tune(tiny_model(), source, head_epochs=1, verbose=0, adapt="adabn",
                     unlabeled=np.zeros((4, 16, 16, 2), "uint8"))  # 2 channels


def test_auto_reports_every_method_and_keeps_one(shift_task):
    source, validation, target_x, (tx, ty) = shift_task
    # the training methods' own runs are tested in test_methods.py: here two cheap candidates
    auto = AutoAdaptation(candidates=["adabn", "shift_bias"], keep_candidates=True)
    model, history = trained_model(source, validation, unlabeled=target_x, adapt=auto, adapt_epochs=1,
                                   fine_tune_epochs=0)
    report = history.adaptation
    assert set(report["candidates"]) == {"source_only", "adabn", "shift_bias"}
    for signals in report["candidates"].values():
        assert 0 <= signals["source_accuracy"] <= 1 and signals["source_data"] == "validation"
        assert 0 <= signals["reverse_accuracy"] <= 1 and -1 <= signals["target_score"] <= 1
    selected = report["selected"]
    assert selected in report["candidates"]
    # the model holds the kept candidate's weights, and the same layers as before
    kept, _ = auto.candidate_weights[selected]
    for variable, value in zip(model.weights, kept):
        np.testing.assert_array_equal(variable.numpy(), value)
    assert len(model.layers) == len(tiny_model().layers)


def test_adapted_model_saves_and_exports_with_parity(shift_task, tmp_path):
    source, validation, target_x, (tx, ty) = shift_task
    model, history = trained_model(source, validation, unlabeled=target_x, adapt="shift_bias", adapt_epochs=1,
                                   fine_tune_epochs=0)
    before = model.predict(tx, verbose=0)
    model.save(tmp_path / "adapted.keras")
    reloaded = kt.load_model(tmp_path / "adapted.keras")
    np.testing.assert_allclose(reloaded.predict(tx, verbose=0), before, atol=1e-6)  # the fold is in the weights
    report = kt.export(model, tmp_path / "adapted", format="saved_model", parity_data=(tx, ty), verbose=False)
    assert report.max_abs_diff <= 1e-5 and report.argmax_agreement == 1.0


def test_resume_inside_the_adaptation_stage(shift_task, tmp_path):
    """A run killed during its adaptation stage resumes from the last stage's checkpoint and ends as an
    uninterrupted run does."""
    import keras

    source, validation, target_x, _ = shift_task

    class Interrupt(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if "mean_loss" in (logs or {}):  # inside the adaptation stage's fit (the shift alignment)
                raise KeyboardInterrupt

    options = dict(unlabeled=target_x, adapt="shift_bias", adapt_epochs=1, checkpoint_dir=str(tmp_path / "run"),
                   fine_tune_epochs=0)
    kt.set_seed(0)
    with pytest.raises(KeyboardInterrupt):
        trained_model(source, None, callbacks=[Interrupt()], **options)
    kt.set_seed(0)
    resumed, history = trained_model(source, None, **options)
    assert [stage["name"] for stage in history.stages] == ["head", "adapt"]
    assert history.epoch == [0, 1] and history.adaptation["selected"] == "shift_bias"
    kt.set_seed(0)
    uninterrupted, _ = trained_model(source, None, **{**options, "checkpoint_dir": str(tmp_path / "other")})
    for a, b in zip(resumed.get_weights(), uninterrupted.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    again, finished = trained_model(source, None, **options)  # a finished run: its weights, no training
    for a, b in zip(again.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert finished.epoch == [0, 1]


def test_adapt_alone_on_a_trained_model(shift_task):
    """head_epochs=0 and fine_tune_epochs=0: only the adaptation stage runs, on the model as it is."""
    source, validation, target_x, _ = shift_task
    model = tiny_model()
    model(target_x[:1])
    kernels = [w.numpy().copy() for w in model.backbone.weights if "moving" not in w.path]
    assert kernels
    history = kt.fine_tune(model, source, validation=validation, head_epochs=0, fine_tune_epochs=0,
                           unlabeled=target_x, adapt="adabn", verbose=0)
    assert [stage["name"] for stage in history.stages] == ["adapt"] and history.epoch == []
    for old, new in zip(kernels, [w for w in model.backbone.weights if "moving" not in w.path]):  # only statistics
        np.testing.assert_array_equal(old, new.numpy())
