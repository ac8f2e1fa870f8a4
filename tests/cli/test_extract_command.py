"""``keras-transfer extract`` (a Beam pipeline into a feature cache) and ``keras-transfer fit --strategy``."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from keras_transfer.cli.main import main
from keras_transfer.testing import register_tiny_backbone

pytest.importorskip("apache_beam")


def test_extract_writes_a_cache_with_the_runner_and_options_recorded(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (tmp_path / "photos" / name).mkdir(parents=True)
        for i in range(3):
            image = Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8))
            image.save(tmp_path / "photos" / name / f"{i}.png")
    register_tiny_backbone()
    code = main(["extract", "--data", str(tmp_path / "photos"), "--backbone", "tiny_cnn", "--weights", "none",
                 "--input-size", "16x16", "--image-size", "16x16", "--cache", str(tmp_path / "cache"), "--quiet",
                 "--runner", "DirectRunner", "--direct_num_workers=2"])
    assert code == 0
    entry = capsys.readouterr().out.strip().splitlines()[-1]
    manifest = json.loads(open(os.path.join(entry, "manifest.json")).read())
    assert manifest["num_examples"] == 6 and manifest["feature_shape"] == [32]
    assert manifest["provenance"]["pipeline_options"] == {"runner": "DirectRunner", "direct_num_workers": 2}


@pytest.mark.parametrize("arguments, message", [
    (["--runner", "SparkRuner"], "Unknown Beam runner 'SparkRuner'"),
    (["--direct_num_worker=2"], "Unknown Beam pipeline option(s): --direct_num_worker=2"),
    (["--runner", "DataflowRunner"], "DataflowRunner needs --project, --region, --temp_location"),
])
def test_extract_refuses_bad_runner_or_options_before_any_work(tmp_path, capsys, arguments, message):
    code = main(["extract", "--data", str(tmp_path), "--backbone", "mobilenet_v2", "--cache", str(tmp_path / "c")]
                + arguments)
    assert code == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_fit_strategy_multi_worker_needs_tf_config(monkeypatch, capsys):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert main(["fit", "--backbone", "tiny_cnn", "--data", "digits", "--strategy", "multi_worker"]) == 1
    assert "reads the cluster from TF_CONFIG, which is not set" in capsys.readouterr().err
    monkeypatch.setenv("TF_CONFIG", "{not json")
    assert main(["fit", "--backbone", "tiny_cnn", "--data", "digits", "--strategy", "multi_worker"]) == 1
    assert "TF_CONFIG is not JSON" in capsys.readouterr().err


def test_other_commands_still_refuse_unknown_flags():
    with pytest.raises(SystemExit):
        main(["backbones", "--bogus"])
