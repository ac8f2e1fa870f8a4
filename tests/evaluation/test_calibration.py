"""Temperature scaling: the fitted temperature, lower ECE on an over-confident model, and the layer surviving
``.keras`` save / load (safe mode) and exports."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.errors import InvalidConfigError
from keras_transfer.evaluation import expected_calibration_error, fit_temperature


def test_fit_temperature_recovers_the_temperature_the_labels_were_drawn_with():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (4000, 5))
    true = np.exp(logits / 2.5)
    true /= true.sum(1, keepdims=True)
    labels = np.array([rng.choice(5, p=row) for row in true])
    model_p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)  # over-confident by a factor 2.5
    assert fit_temperature(model_p, labels) == pytest.approx(2.5, rel=0.1)


@pytest.mark.parametrize("spread", [1.0, 5.0, 10.0])
def test_fit_temperature_is_the_nll_minimum_on_the_logits(spread):
    """From float32 softmax outputs, the same temperature as a dense search of the NLL on the float64 logits (while
    the logit gaps stay within float32's range: past ~87 the softmax output has lost them)."""
    rng = np.random.default_rng(1)
    logits = rng.normal(0, spread, (2000, 10))
    labels = rng.integers(0, 10, 2000)
    logits[np.arange(1500), labels[:1500]] += 2 * spread  # 75 % right; over-confident for large spreads
    shifted = logits - logits.max(1, keepdims=True)
    probabilities = (np.exp(shifted) / np.exp(shifted).sum(1, keepdims=True)).astype("float32")

    def nll(temperature):
        scaled = logits / temperature
        scaled -= scaled.max(1, keepdims=True)
        return np.mean(np.log(np.exp(scaled).sum(1)) - scaled[np.arange(2000), labels])

    grid = np.exp(np.linspace(np.log(0.05), np.log(20.0), 4001))
    best = grid[np.argmin([nll(t) for t in grid])]
    assert fit_temperature(probabilities, labels) == pytest.approx(best, rel=2e-3)


@pytest.fixture(scope="module")
def overconfident(square_images):
    """A tiny model on noisy labels whose logits are then multiplied by 6: right 80 % of the time, sure always."""
    from keras_transfer.testing import register_tiny_backbone

    keras.utils.set_random_seed(1)
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32), train_bn=False,
                                trainable="full")
    model = kt.TransferModel(backbone, kt.ClassificationHead(2, dropout=0.0))
    x, y, _ = square_images(240, 3)
    noisy = np.where(np.random.default_rng(0).random(len(y)) < 0.2, 1 - y, y)  # 20 % wrong labels
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(x[:160], noisy[:160], epochs=8, batch_size=32, verbose=0)
    kernel, bias = model.head.output_layer.get_weights()
    model.head.output_layer.set_weights([kernel * 6.0, bias * 6.0])
    return model, (x[160:200], noisy[160:200]), (x[200:], noisy[200:])


def test_calibrate_lowers_test_ece_and_keeps_every_prediction(overconfident):
    model, validation, (tx, ty) = overconfident
    before = model.predict(tx, verbose=0)
    result = kt.calibrate(model, validation)
    after = model.predict(tx, verbose=0)  # the model's own predict: the layer is in the model
    assert result.temperature > 2.0
    assert result.ece_after < result.ece_before and result.nll_after < result.nll_before
    assert expected_calibration_error(after, ty) < 0.75 * expected_calibration_error(before, ty)
    np.testing.assert_array_equal(after.argmax(1), before.argmax(1))
    again = kt.calibrate(model, validation)  # fitted on the raw outputs again, not on calibrated ones
    assert again.temperature == pytest.approx(result.temperature, rel=1e-6)


def test_the_temperature_survives_keras_files_in_safe_mode_and_exports(overconfident, tmp_path):
    model, validation, (tx, ty) = overconfident
    kt.calibrate(model, validation)
    expected = model.predict(tx, verbose=0)
    path = tmp_path / "calibrated.keras"
    model.save(path)
    reloaded = kt.load_model(path, safe_mode=True)
    assert reloaded.calibration.temperature == model.calibration.temperature
    np.testing.assert_allclose(reloaded.predict(tx, verbose=0), expected, atol=1e-5)
    fitted = np.repeat(tx, 3, axis=-1)  # exported models take (batch, 32, 32, 3) uint8
    kt.export(model, tmp_path / "model.tflite", format="tflite")  # converted through a SavedModel
    exported = kt.export.load_exported(tmp_path / "model.tflite").predict(fitted)
    np.testing.assert_allclose(exported, expected, atol=1e-4)
    card = kt.export.read_model_card(tmp_path / "model.tflite")
    assert card["calibration"]["temperature"] == pytest.approx(model.calibration.temperature)


def test_calibrate_refuses_models_without_a_softmax_head(tmp_path):
    from keras_transfer.testing import register_tiny_backbone

    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32))
    model = kt.TransferModel(backbone, kt.ClassificationHead(3, multi_label=True))
    with pytest.raises(InvalidConfigError, match="single-label"):
        kt.calibrate(model, (np.zeros((4, 32, 32, 1), "uint8"), np.zeros((4, 3))))
    with pytest.raises(InvalidConfigError, match="Received: temperature=2.0"):
        kt.TransferModel(backbone, kt.RegressionHead(1), temperature=2.0)
