"""A tiny study interrupted inside a trial, then resumed to completion; the study folder's outputs."""

import json

import keras
import pytest

from keras_transfer.errors import InvalidConfigError
from keras_transfer.testing import tiny_recipe_config, write_tiny_arrays
from keras_transfer.tuning import tune

SPACE = {"optimizer.head_lr": {"min": 1e-3, "max": 1e-1, "sampling": "log"}, "label_smoothing": [None, 0.1]}


class _InterruptAtEpoch(keras.callbacks.Callback):
    """Raises KeyboardInterrupt (what Ctrl-C or a kill handler raises) at the n-th epoch end of the study."""

    def __init__(self, n):
        super().__init__()
        self.n, self.seen = n, 0

    def on_epoch_end(self, epoch, logs=None):
        self.seen += 1
        if self.seen == self.n:
            raise KeyboardInterrupt


def test_interrupted_study_resumes_to_completion(tmp_path):
    config = tiny_recipe_config(write_tiny_arrays(tmp_path / "tiny.npz"), tmp_path / "runs")
    study = tmp_path / "study"
    with pytest.raises(KeyboardInterrupt):  # trial 1 runs 2 epochs (1 head + 1 fine-tune); trial 2 dies in epoch 1
        tune(config, SPACE, trials=2, study_dir=study, refit=False, early_stopping=False,
             callbacks=[_InterruptAtEpoch(3)])
    records = json.loads((study / "trials.json").read_text())
    assert [r["trial_id"] for r in records] == ["0"]
    assert json.loads((study / "trials" / "1" / "status.json").read_text())["state"] == "interrupted"

    result = tune(config, SPACE, trials=2, study_dir=study, early_stopping=False)
    assert [r["trial_id"] for r in result.trials] == ["0", "1"]
    assert result.trials[0]["values"] == {"optimizer.head_lr": 0.01, "label_smoothing": None}  # the base config
    assert all(r["status"] == "complete" and r["epochs"] == 2 for r in result.trials)
    resumed = json.loads((study / "trials" / "1" / "status.json").read_text())
    assert resumed["state"] == "complete" and resumed["resumed_from_state"] == "interrupted"
    assert (study / "trials.png").read_bytes()[:4] == b"\x89PNG"
    assert "keras-transfer fit THIS_FILE" in (study / "best_config.yaml").read_text()
    assert result.best_config["optimizer"]["head_lr"] == result.trials[int(result.best_trial)]["values"][
        "optimizer.head_lr"]
    assert result.refit["train_examples"] == 36 and 0.0 <= result.refit["metrics"]["accuracy"] <= 1.0

    with pytest.raises(InvalidConfigError, match="holds another search"):
        tune(config, {"label_smoothing": [None, 0.2]}, trials=2, study_dir=study)


def test_a_bad_space_key_fails_before_any_trial(tmp_path):
    config = tiny_recipe_config(write_tiny_arrays(tmp_path / "tiny.npz"), tmp_path / "runs")
    with pytest.raises(InvalidConfigError, match="key 'optimizer.headlr'.*Did you mean 'optimizer.head_lr'"):
        tune(config, {"optimizer.headlr": [0.01]}, trials=1, study_dir=tmp_path / "study")
    assert not (tmp_path / "study").exists()


def test_first_trial_runs_the_base_config_with_its_default_rates(tmp_path):
    config = tiny_recipe_config(write_tiny_arrays(tmp_path / "tiny.npz"), tmp_path / "runs")
    del config["optimizer"]["head_lr"]  # fine_tune's default: 1e-3, and a tenth of it for stage 2
    space = {"optimizer.head_lr": {"min": 1e-4, "max": 1e-1, "sampling": "log"},
             "optimizer.fine_tune_lr": {"min": 1e-5, "max": 1e-2, "sampling": "log"}}
    result = tune(config, space, trials=2, study_dir=tmp_path / "study", refit=False, early_stopping=False)
    assert result.trials[0]["values"] == {"optimizer.head_lr": 1e-3, "optimizer.fine_tune_lr": 1e-4}
    assert result.trials[1]["values"] != result.trials[0]["values"]
