"""A TransferModel with augmentation and a DistributionShiftBias layer exports to every format with parity."""

import keras
import numpy as np
import pytest

from keras_transfer.export import export, load_exported

CASES = [
    # format, quantization, file name, max |diff| allowed, min argmax agreement
    ("saved_model", None, "saved", 1e-5, 1.0),
    ("tflite", None, "model.tflite", 1e-5, 1.0),
    ("tflite", "int8", "model_int8.tflite", 0.15, 0.8),
    ("onnx", None, "model.onnx", 1e-5, 1.0),
]


@pytest.fixture(scope="module")
def shifted():
    """A tiny trained model whose shift and scale are far from the identity (so parity proves they are exported)."""
    import keras_transfer as kt
    from keras_transfer.layers import DistributionShiftBias
    from keras_transfer.testing import register_tiny_backbone

    keras.utils.set_random_seed(11)
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32), trainable="full")
    augmentation = keras.Sequential([keras.layers.RandomFlip("horizontal"), keras.layers.RandomRotation(0.05)])
    model = kt.TransferModel(backbone, kt.ClassificationHead(3, dropout=0.1), augmentation=augmentation,
                             shift_bias={"scale": True, "lr_multiplier": 10.0})
    rng = np.random.default_rng(1)  # grey images whose class is their brightness (as in conftest.brightness_task)
    y = rng.permutation(np.repeat(np.arange(3), 16))
    x = np.clip(np.array([40, 128, 215])[y][:, None, None, None] + rng.normal(0, 20, (48, 28, 28, 1)), 0, 255)
    x = x.astype("uint8")
    model.compile(keras.optimizers.Adam(2e-2))
    model.fit(x[:36], y[:36], epochs=3, batch_size=12, verbose=0)
    assert isinstance(model.shift, DistributionShiftBias)
    dim = model.shift.shift.shape[0]
    model.shift.shift.assign(rng.normal(0.0, 0.5, dim).astype("float32"))
    model.shift.scale.assign(rng.uniform(0.5, 1.5, dim).astype("float32"))
    return model, (x[:36], y[:36]), (x[36:], y[36:])


@pytest.mark.parametrize("fmt, quantization, name, max_diff, min_agreement", CASES)
def test_shift_bias_model_exports_with_parity(shifted, tmp_path, fmt, quantization, name, max_diff, min_agreement):
    model, (x, _), (tx, ty) = shifted
    report = export(model, tmp_path / name, format=fmt, quantization=quantization, representative_data=x,
                    parity_data=(tx, ty), verbose=False)
    assert report.max_abs_diff <= max_diff and report.argmax_agreement >= min_agreement
    outputs = load_exported(tmp_path / name).predict(tx)
    assert np.abs(outputs - model(tx).numpy()).max() == pytest.approx(report.max_abs_diff, abs=1e-6)
    if quantization is None:
        # The shift is in the graph: the file differs from the same model with the shift reset to the identity.
        saved = [v.numpy() for v in (model.shift.shift, model.shift.scale)]
        try:
            model.shift.shift.assign(np.zeros_like(saved[0]))
            model.shift.scale.assign(np.ones_like(saved[1]))
            unshifted = model(tx).numpy()
        finally:
            model.shift.shift.assign(saved[0])
            model.shift.scale.assign(saved[1])
        assert np.abs(outputs - unshifted).max() > 100 * max(report.max_abs_diff, 1e-6)
