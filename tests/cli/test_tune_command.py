"""``keras-transfer tune``: a search-space file with a bad key fails at once, naming the key."""

import yaml

from keras_transfer.cli.main import main
from keras_transfer.testing import tiny_recipe_config, write_tiny_arrays


def test_tune_command_names_a_bad_space_key(tmp_path, capsys):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny_recipe_config(write_tiny_arrays(tmp_path / "tiny.npz"), tmp_path / "runs")))
    space = tmp_path / "space.yaml"
    space.write_text("optimizer.head_lr: [0.01, 0.001]\nlabel_smothing: [null, 0.1]\n")
    code = main(["tune", str(config), "--space", str(space), "--trials", "2", "--study-dir", str(tmp_path / "s")])
    assert code == 1
    err = capsys.readouterr().err
    assert "keras-transfer tune: error: Search space" in err
    assert "key 'label_smothing'" in err and "Did you mean 'label_smoothing'?" in err
    assert not (tmp_path / "s").exists()
