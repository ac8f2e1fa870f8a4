"""The GPU path: a transfer model trains, predicts float32 and round-trips under a mixed-precision policy.

Mixed precision is slower on this CPU (docs/architecture.md), so nothing turns it on by default; on a GPU users set
``keras.mixed_precision.set_global_policy(...)`` before building the model (README, "On a GPU"). These tests
prove that path works end to end on CPU, with tiny shapes.
"""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.testing import register_tiny_backbone


@pytest.fixture(params=["mixed_float16", "mixed_bfloat16"])
def policy(request):
    keras.mixed_precision.set_global_policy(request.param)
    yield request.param
    keras.mixed_precision.set_global_policy("float32")


def test_fine_tune_under_mixed_precision_keeps_float32_outputs_and_round_trips(policy, tiny_images, tmp_path):
    x, y = tiny_images
    name = register_tiny_backbone()
    # train_bn=False: the tiny backbone stands in for a pretrained one (BatchNorm frozen, as the test was written)
    backbone = kt.backbones.get(name, weights=None, input_shape=(32, 32), train_bn=False)
    model = kt.TransferModel(backbone, kt.ClassificationHead(3))
    assert model.backbone.dtype_policy.name == policy

    history = kt.fine_tune(model, (x, y), head_epochs=1, fine_tune_epochs=1, batch_size=6, verbose=0)

    assert np.all(np.isfinite(history.history["loss"]))
    probabilities = model.predict(x[:4], verbose=0)
    assert probabilities.dtype == np.float32  # the head's softmax runs in float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    if policy == "mixed_float16":  # Keras wraps the optimizer so float16 gradients do not underflow
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)

    path = tmp_path / "mixed.keras"
    model.save(path)
    keras.mixed_precision.set_global_policy("float32")
    reloaded = keras.saving.load_model(path)  # safe mode; the saved per-layer policies come back
    np.testing.assert_allclose(reloaded.predict(x[:4], verbose=0), probabilities, atol=1e-6)
