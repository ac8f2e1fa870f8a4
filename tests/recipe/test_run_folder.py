"""RunFolder: naming, refusing an existing folder, --overwrite, status and history files."""

import csv
import json

import pytest

from keras_transfer.errors import InvalidConfigError
from keras_transfer.recipe import RunFolder


def test_create_names_the_folder_and_refuses_an_existing_one(tmp_path):
    run = RunFolder.create(tmp_path / "runs", "demo")
    assert run.path.parent == tmp_path / "runs" and run.path.name.startswith("demo-")
    assert (run / "models").is_dir() and run.tensorboard_dir.is_dir() and run.checkpoint_dir.is_dir()
    run.write_status("running")
    (run / "stale.txt").write_text("old")
    with pytest.raises(InvalidConfigError, match="The run folder exists"):
        RunFolder.create(tmp_path / "runs", "demo", run_dir=run.path)
    again = RunFolder.create(tmp_path / "runs", "demo", run_dir=run.path, overwrite=True)
    assert again.path == run.path and not (run / "stale.txt").exists()


def test_overwrite_replaces_run_folders_only(tmp_path):
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "notes.txt").write_text("keep me")
    with pytest.raises(InvalidConfigError, match="replaces run folders only.*Received: .*project"):
        RunFolder.create(tmp_path, "x", run_dir=tmp_path / "project", overwrite=True)
    assert (tmp_path / "project" / "notes.txt").read_text() == "keep me"
    (tmp_path / "empty").mkdir()
    assert RunFolder.create(tmp_path, "x", run_dir=tmp_path / "empty", overwrite=True).checkpoint_dir.is_dir()


def test_open_needs_a_config(tmp_path):
    with pytest.raises(InvalidConfigError, match="Not a run folder: it has no config.yaml"):
        RunFolder.open(tmp_path)
    run = RunFolder.create(tmp_path, "x", run_dir=tmp_path / "run")
    run.write_config({"name": "x"})
    assert RunFolder.open(tmp_path / "run").config_path.read_text().startswith("# Resolved config")


def test_status_and_history_files(tmp_path):
    run = RunFolder.create(tmp_path, "x", run_dir=tmp_path / "run")
    run.write_status("running")
    status = run.write_status("complete", epochs_done=2)
    assert status["state"] == "complete" and status["started"] <= status["updated"]
    history = {"epoch": [0, 1], "history": {"loss": [1.0, 0.5], "lr_top": [float("nan"), 0.1]},
               "stages": [{"name": "head", "epochs": [0]}, {"name": "fine_tune", "epochs": [1]}]}
    run.write_history(history)
    assert json.loads((run / "history.json").read_text())["history"]["lr_top"] == [None, 0.1]
    rows = list(csv.reader((run / "history.csv").open()))
    assert rows == [["epoch", "stage", "loss", "lr_top"], ["0", "head", "1.0", ""], ["1", "fine_tune", "0.5", "0.1"]]


def test_a_damaged_status_file_is_rewritten_not_fatal(tmp_path):
    run = RunFolder.create(tmp_path, "x", run_dir=tmp_path / "run")
    (run / "status.json").write_text("{not json")
    with pytest.warns(UserWarning, match="unreadable"):
        status = run.write_status("failed", error="the original error")
    assert status["state"] == "failed" and json.loads((run / "status.json").read_text())["error"] == "the original error"
