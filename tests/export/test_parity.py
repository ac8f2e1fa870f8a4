"""keras_transfer.export.check_parity: the numbers it reports."""

import numpy as np
import pytest

from keras_transfer.export import ExportedModel, check_parity


def test_parity_numbers(tiny_model, tiny_images):
    x, y = tiny_images
    reference = tiny_model(x).numpy()

    def runner(batch):  # a fake "exported" model: the reference with row 0 nudged and row 1's classes rotated
        out = tiny_model(batch).numpy()
        out[0] += [0.25, -0.25, 0.0]
        out[1] = np.roll(out[1], 1)
        return out

    exported = ExportedModel("fake", "tflite", runner, None, None)
    result = check_parity(tiny_model, exported, x, y, batch_size=len(x))
    fake = runner(x)
    assert result["max_abs_diff"] == pytest.approx(float(np.abs(fake - reference).max()))
    assert result["mean_abs_diff"] == pytest.approx(float(np.abs(fake - reference).mean()))
    agreement = float(np.mean(fake.argmax(1) == reference.argmax(1)))
    assert result["argmax_agreement"] == pytest.approx(agreement) and agreement <= 17 / 18
    assert result["keras_accuracy"] == pytest.approx(float(np.mean(reference.argmax(1) == y)))
    assert result["exported_accuracy"] == pytest.approx(float(np.mean(fake.argmax(1) == y)))
    assert result["n_examples"] == 18


def test_single_output_has_no_argmax():
    class Model:
        def __call__(self, x, training=False):
            return np.ones((len(x), 1), "float32") * 0.7

    exported = ExportedModel("fake", "onnx", lambda b: np.ones((len(b), 1)) * 0.6, None, None)
    result = check_parity(Model(), exported, np.zeros((4, 2)), labels=np.array([1, 1, 0, 0]))
    assert result["argmax_agreement"] is None and result["max_abs_diff"] == pytest.approx(0.1, abs=1e-6)
    assert result["keras_accuracy"] == 0.5 and result["exported_accuracy"] == 0.5  # 0.5 threshold (sigmoid)
