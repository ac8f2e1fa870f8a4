"""Recipe.fit end to end through tiny real fits: the run folder, reproduction, resume, multi-task."""

import csv
import json

import keras
import numpy as np
import pytest
import yaml

from keras_transfer.errors import InvalidConfigError
from keras_transfer.recipe import Recipe, RunFolder
from keras_transfer.testing import tiny_recipe_config


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, tiny_arrays):
    output = tmp_path_factory.mktemp("runs")
    config = tiny_recipe_config(tiny_arrays, output, stages={"head_epochs": 2, "fine_tune_epochs": 1},
                                export=[{"format": "tflite", "parity_size": 8}])
    return Recipe(config).fit(quiet=True)


def test_run_folder_holds_every_artefact(finished_run):
    run = finished_run.run_dir
    assert run.name.startswith("tiny-")
    for name in ("config.yaml", "environment.json", "status.json", "history.json", "history.csv", "curves.png",
                 "evaluation.json", "evaluation.md", "confusion_matrix.png", "results.json", "models/best.keras",
                 "models/last.keras", "exports/model.tflite", "exports/labels.txt"):
        assert (run / name).is_file(), name
    assert list((run / "tensorboard").rglob("events.out.tfevents.*")), "no TensorBoard events"
    environment = json.loads((run / "environment.json").read_text())
    assert environment["packages"]["keras"] == keras.__version__ and environment["devices"]
    history = json.loads((run / "history.json").read_text())
    assert history["epoch"] == [0, 1, 2] and [s["name"] for s in history["stages"]] == ["head", "fine_tune"]
    rows = list(csv.DictReader((run / "history.csv").open()))
    assert [row["stage"] for row in rows] == ["head", "head", "fine_tune"] and "val_loss" in rows[0]
    assert json.loads((run / "status.json").read_text())["state"] == "complete"
    results = json.loads((run / "results.json").read_text())
    assert results["metrics"] == finished_run.metrics and 0 <= results["metrics"]["accuracy"] <= 1
    assert results["exports"][0]["format"] == "tflite" and results["exports"][0]["argmax_agreement"] >= 0.85
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert evaluation["output"]["class_names"] == ["dark", "mid", "light"]
    assert evaluation["output"]["n_examples"] == 12


def test_saved_models_load_and_predict(finished_run, tiny_arrays):
    x = np.load(tiny_arrays)["x"][:4]
    last = keras.saving.load_model(finished_run.run_dir / "models" / "last.keras")
    np.testing.assert_allclose(last.predict(x, verbose=0), finished_run.model.predict(x, verbose=0), atol=1e-6)


def test_resolved_config_is_complete_and_loads_back(finished_run):
    resolved = yaml.safe_load((finished_run.run_dir / "config.yaml").read_text())
    assert resolved["data"]["path"].startswith("/") and resolved["stages"]["unfreeze"] == "all"
    assert resolved["optimizer"]["name"] == "adam" and resolved["seed"] == 3
    assert Recipe.from_run(finished_run.run_dir).to_dict() == resolved  # reproduced by tests/cli/test_fit_command.py


def test_relative_output_and_cache_folders_resolve_against_the_working_directory(tmp_path, tiny_arrays,
                                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = tiny_recipe_config(tiny_arrays, "runs", cache={"enabled": True, "dir": "features"})
    resolved = Recipe.from_dict(config).to_dict()
    assert resolved["output_dir"] == str(tmp_path / "runs")
    assert resolved["cache"]["dir"] == str(tmp_path / "features")


def test_an_existing_run_folder_is_refused_before_training(finished_run, tiny_arrays):
    recipe = Recipe(tiny_recipe_config(tiny_arrays, finished_run.run_dir.parent))
    with pytest.raises(InvalidConfigError, match="The run folder exists.*--resume.*--overwrite"):
        recipe.fit(run_dir=finished_run.run_dir)
    with pytest.raises(InvalidConfigError, match="The run is complete: nothing to resume"):
        Recipe.resume(finished_run.run_dir)
    with pytest.raises(InvalidConfigError, match="Not a run folder"):
        RunFolder.open(finished_run.run_dir / "models")


class _StopAtEpoch(keras.callbacks.Callback):
    """Interrupts training when epoch ``stop`` begins (after epoch ``stop - 1`` was checkpointed)."""

    def __init__(self, stop):
        super().__init__()
        self.stop = stop

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.stop:
            raise KeyboardInterrupt("simulated interruption")


class _Epochs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append(epoch)


def test_resume_continues_from_the_last_epoch(tmp_path, tiny_arrays, finished_run):
    config = tiny_recipe_config(tiny_arrays, tmp_path, stages={"head_epochs": 2, "fine_tune_epochs": 1})
    with pytest.raises(KeyboardInterrupt):
        Recipe(config).fit(run_dir=tmp_path / "run", quiet=True, callbacks=[_StopAtEpoch(2)])
    assert json.loads((tmp_path / "run" / "status.json").read_text())["state"] == "interrupted"
    epochs = _Epochs()
    resumed = Recipe.resume(tmp_path / "run", quiet=True, callbacks=[epochs])
    assert epochs.seen == [2]  # only the fine-tune epoch ran again
    assert resumed.history["epoch"] == [0, 1, 2]
    assert json.loads((tmp_path / "run" / "results.json").read_text())["resumed"] is True
    # the same recipe run without interruption (finished_run differs only by its export)
    np.testing.assert_allclose(resumed.history["history"]["loss"], finished_run.history["history"]["loss"],
                               rtol=1e-4)
    assert resumed.metrics["accuracy"] == pytest.approx(finished_run.metrics["accuracy"], abs=1e-6)


def test_multi_task_run_with_groups_and_an_array_task(tmp_path, tiny_arrays):
    heads = {
        "shade": {"type": "classification"},
        "bright": {"groups": {"dark": ["dark"], "bright": ["mid", "light"]}, "optimizer": 2.0},
        "parity": {"labels": "parity"},
    }
    config = tiny_recipe_config(tiny_arrays, tmp_path, head=None, heads=heads, loss_weighting="uncertainty",
                                stages={"head_epochs": 1, "fine_tune_epochs": 0})
    result = Recipe(config).fit(quiet=True)
    assert {"shade", "bright", "parity"} <= set(result.evaluation)
    assert result.evaluation["bright"]["class_names"] == ["dark", "bright"]
    assert result.evaluation["parity"]["class_names"] == ["0", "1"]
    assert (result.run_dir / "confusion_matrix_bright.png").is_file()
    assert "shade_loss" in result.history["history"]
