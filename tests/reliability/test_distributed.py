"""tf.distribute.MirroredStrategy over two logical CPU devices gives the one-device losses.

The devices must be configured before TensorFlow initialises, so the comparison runs in a fresh process
(``workers.py distributed``): ``fine_tune`` on a TransferModel (both stages), a MultiTaskModel with missing
labels (per-task means over the global batch), and feature extraction (``keras_transfer.features.extract``).
Models are built inside ``strategy.scope()``; ``fine_tune`` enters it again by itself.
"""

import json

import numpy as np


def test_mirrored_strategy_on_two_cpus_matches_one_device(tmp_path, workers):
    out = tmp_path / "distributed.json"
    workers.finish(workers.start("distributed", out), timeout=400)
    result = json.loads(out.read_text())
    assert result["replicas"] == 2
    for name in ("transfer", "multitask"):
        one, mirrored = result[f"{name}_one"], result[f"{name}_mirrored"]
        assert len(one) == len(mirrored) >= 2, name
        np.testing.assert_allclose(mirrored, one, rtol=1e-5, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(result["features_mirrored"], result["features_one"], atol=1e-6)
