"""``keras-transfer fit``: config files, --set overrides, the no-file form, --resume / --overwrite refusals, errors."""

import json

import pytest
import yaml

from keras_transfer.cli.fit_command import data_section
from keras_transfer.cli.main import main
from keras_transfer.recipe import Recipe
from keras_transfer.testing import tiny_recipe_config, write_tiny_arrays


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fit-cli")
    arrays = write_tiny_arrays(folder / "tiny.npz")
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_recipe_config(arrays, folder / "runs")))
    return path


@pytest.fixture(scope="module")
def cli_run(tiny_file):
    run_dir = tiny_file.parent / "cli-run"
    assert main(["fit", str(tiny_file), "--run-dir", str(run_dir), "--quiet"]) == 0
    return run_dir


def test_cli_and_python_give_the_same_result_and_a_reproduced_run_matches(cli_run, tmp_path):
    cli = json.loads((cli_run / "results.json").read_text())
    assert json.loads((cli_run / "status.json").read_text())["state"] == "complete"
    environment = json.loads((cli_run / "environment.json").read_text())
    assert environment["command"][:2] == ["keras-transfer", "fit"] and "--quiet" in environment["command"]
    # Python, from the CLI run's resolved config: the same path, the same seed, the same numbers
    python = Recipe.from_run(cli_run).fit(run_dir=tmp_path / "python", quiet=True)
    assert python.metrics == cli["metrics"]
    cli_history = json.loads((cli_run / "history.json").read_text())
    # pytest.approx compares flat sequences and dicts only (pytest >= 9 refuses nested ones): one metric at a time
    assert python.history["history"].keys() == cli_history["history"].keys()
    for metric, values in cli_history["history"].items():
        assert python.history["history"][metric] == pytest.approx(values), metric


def test_existing_run_folder_is_refused_unless_overwrite_or_resume(cli_run, tiny_file, capsys):
    assert main(["fit", str(tiny_file), "--run-dir", str(cli_run), "--quiet"]) == 1
    assert "The run folder exists" in capsys.readouterr().err
    assert main(["fit", "--resume", str(cli_run)]) == 1
    assert "The run is complete: nothing to resume" in capsys.readouterr().err
    assert main(["fit", str(tiny_file), "--resume", str(cli_run)]) == 1
    assert "--resume continues a run exactly as it was configured" in capsys.readouterr().err
    assert main(["fit", "--resume", str(cli_run), "--check", "--name", "other"]) == 1  # never trains
    assert "Received: --resume with --name, --check." in capsys.readouterr().err


def test_common_case_without_a_file_with_overrides_and_quiet(tmp_path, capsys):
    arrays = write_tiny_arrays(tmp_path / "tiny.npz")
    tiny_recipe_config(arrays, tmp_path)  # registers tiny_cnn
    code = main(["fit", "--backbone", "tiny_cnn", "--data", arrays, "--quiet", "--run-dir", str(tmp_path / "run"),
                 "--set", "backbone.weights=null", "--set", "backbone.input_size=[16,16]",
                 "--set", "stages.head_epochs=1", "--set", "stages.fine_tune_epochs=0",
                 "--set", "deterministic_ops=false", "--set", "optimizer.batch_size=16"])
    assert code == 0
    assert capsys.readouterr().out == ""  # --quiet
    resolved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert resolved["name"] == "tiny_cnn" and resolved["data"] == {**resolved["data"], "kind": "arrays",
                                                                     "path": arrays}
    assert resolved["stages"]["head_epochs"] == 1 and resolved["stages"]["fine_tune_epochs"] == 0
    assert resolved["optimizer"]["batch_size"] == 16
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert history["epoch"] == [0]


def test_check_prints_the_resolved_config_with_overrides(tiny_file, capsys):
    assert main(["fit", str(tiny_file), "--check", "--set", "stages.unfreeze=last:2", "--set", "name=checked"]) == 0
    out = capsys.readouterr().out
    resolved = yaml.safe_load(out)
    assert resolved["stages"]["unfreeze"] == "last:2" and resolved["name"] == "checked"
    assert "valid" in out.splitlines()[0]


@pytest.mark.parametrize("arguments, message", [
    (["--set", "stages.head_epoch=1"], "unknown key 'stages.head_epoch'. Did you mean 'stages.head_epochs'?"),
    (["--set", "stages.head_epochs=many"], "'stages.head_epochs'"),
    (["--set", "backbone.name=minilm_l6", "--set", "backbone.input_size=[32]"],
     "a text backbone cannot read image data"),
    (["--set", "data.path=missing.npz"], "'data.path': no such file"),
])
def test_bad_configs_fail_before_training_with_clear_errors(tiny_file, capsys, arguments, message):
    assert main(["fit", str(tiny_file), "--check"] + arguments) == 1
    err = capsys.readouterr().err
    assert err.startswith("keras-transfer fit: error: Invalid config") and message in err


def test_fit_needs_a_config_or_backbone_and_data(capsys):
    assert main(["fit", "--backbone", "mobilenet_v2"]) == 1
    assert "needs a config file, or --backbone and --data. Received: --backbone only" in capsys.readouterr().err
    assert main(["fit", "--backbone", "mobilenet_v2", "--data", "/no/such/photos", "--check"]) == 1
    assert "'data.path': no such folder. Received: '/no/such/photos'" in capsys.readouterr().err


def test_data_sources_from_the_command_line(tmp_path):
    assert data_section("animal_mnist") == {"kind": "dataset", "name": "animal_mnist"}
    assert data_section("rotten_tomatoes") == {"kind": "dataset", "name": "rotten_tomatoes"}
    assert data_section("tfds:mnist") == {"kind": "tfds", "name": "mnist"}
    assert data_section(str(tmp_path / "reviews.csv"))["kind"] == "csv_text"
    assert data_section(str(tmp_path / "x.npz"))["kind"] == "arrays"
    (tmp_path / "clips" / "yes").mkdir(parents=True)
    (tmp_path / "clips" / "yes" / "a.wav").write_bytes(b"")
    assert data_section(str(tmp_path / "clips"))["kind"] == "wav_folder"
    (tmp_path / "photos" / "cat").mkdir(parents=True)
    assert data_section(str(tmp_path / "photos")) == {"kind": "image_folder", "path": str(tmp_path / "photos")}
