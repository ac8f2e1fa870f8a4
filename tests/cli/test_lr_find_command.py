"""``keras-transfer lr-find`` end to end on a small offline dataset."""

import json

from keras_transfer.cli.main import main
from keras_transfer.testing import register_tiny_backbone


def test_lr_find_command_writes_plot_and_sweep(tmp_path, capsys):
    plot, output = tmp_path / "lr.png", tmp_path / "sweep.json"
    code = main(["lr-find", "--backbone", register_tiny_backbone(), "--weights", "none", "--dataset", "digits",
                 "--n-per-class", "3", "--image-size", "32", "--steps", "8", "--batch-size", "8",
                 "--plot", str(plot), "--output", str(output)])
    assert code == 0
    assert plot.read_bytes()[:4] == b"\x89PNG"
    sweep = json.loads(output.read_text())
    assert len(sweep["lrs"]) == len(sweep["losses"]) <= 8
    assert "suggestion (valley)" in capsys.readouterr().out
