"""``keras-transfer rank`` end to end on an arrays file and the tiny backbone."""

import json

from keras_transfer.cli.main import main
from keras_transfer.testing import register_tiny_backbone, write_tiny_arrays


def test_rank_command_prints_the_table_and_writes_json(tmp_path, capsys):
    name = register_tiny_backbone()
    data = write_tiny_arrays(tmp_path / "tiny.npz")
    output = tmp_path / "ranking.json"
    code = main(["rank", "--data", data, "--backbones", f"{name},{name}:random", "--weights", "none",
                 "--image-size", "16", "--method", "knn", "--cache", str(tmp_path / "cache"),
                 "--size-budget-mb", "1", "--output", str(output), "--quiet"])
    assert code == 0
    out = capsys.readouterr().out
    assert "| rank | candidate | knn | seconds | features | parameters | MB | ms/image |" in out
    assert "Recommendation:" in out and "within the budget (≤ 1 MB)" in out
    ranking = json.loads(output.read_text())
    assert sorted(row["candidate"] for row in ranking["rows"]) == [name, f"{name}:random"]


def test_rank_command_refuses_an_unknown_method(capsys):
    try:
        main(["rank", "--data", "digits", "--backbones", "mobilenet_v2", "--method", "leep"])
    except SystemExit as exit_:
        assert exit_.code == 2
    assert "invalid choice: 'leep'" in capsys.readouterr().err
