"""Growing a TransferModel's head: a new model sharing nothing with the old one, trainable with fine_tune."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.errors import InvalidConfigError
from keras_transfer.growth import net2deeper, net2wider
from keras_transfer.growth.adapters import GraphAdapter, TransferModelAdapter, adapter_for
from keras_transfer.testing import register_tiny_backbone


@pytest.fixture
def regression_model(kit, tiny_images):
    """tiny_cnn + a linear-output head (differences are not squashed by a softmax), BN statistics randomised."""
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32))
    model = kt.TransferModel(backbone, kt.RegressionHead(3, hidden_units=(6, 4), dropout=0.1))
    model(tiny_images[0][:2])
    kit.randomise_batchnorm(model.backbone.network)
    return model


def test_adapter_dispatch(tiny_model, kit):
    assert isinstance(adapter_for(tiny_model), TransferModelAdapter)
    assert isinstance(adapter_for(kit.build("dense_sequential")), GraphAdapter)
    with pytest.raises(InvalidConfigError, match="Received: str"):
        adapter_for("model")


@pytest.mark.parametrize("grow", ["wide", "deep"])
def test_grown_transfer_model_is_independent_and_equal(regression_model, tiny_images, grow):
    x = tiny_images[0][:6]
    model = regression_model
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    before = np.asarray(model(x))
    old_weights = [np.array(w) for w in model.get_weights()]
    if grow == "wide":
        grown = net2wider(model, "hidden_1", 9, noise=0.1, seed=0)
        assert grown.head.hidden_units == (6, 9)
    else:
        grown = net2deeper(model, f"{model.head.name}/hidden_0")
        assert grown.head.hidden_units == (6, 6, 4)
    assert isinstance(grown, kt.TransferModel) and grown is not model
    np.testing.assert_allclose(np.asarray(grown(x)), before, atol=1e-5)
    assert grown.count_params() > model.count_params()
    assert not {id(v) for v in grown.weights} & {id(v) for v in model.weights}
    assert grown.backbone is not model.backbone and grown.backbone.mode == model.backbone.mode == "frozen"
    assert grown.compiled and isinstance(grown.loss, keras.losses.MeanSquaredError)
    assert float(grown.optimizer.learning_rate.numpy()) == pytest.approx(2e-3)
    # Changing the grown model's backbone does not reach the old one.
    grown.backbone.network.get_layer("block1_conv").kernel.assign(
        np.zeros(grown.backbone.network.get_layer("block1_conv").kernel.shape, "float32")
    )
    for old, now in zip(old_weights, model.get_weights()):
        np.testing.assert_array_equal(old, now)


def test_grown_classifier_fine_tunes_and_reloads(tiny_images, tmp_path):
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32))
    model = kt.TransferModel(backbone, kt.ClassificationHead(3, hidden_units=(4,), dropout=0.0))
    x, y = tiny_images
    model(x[:1])
    model.head.output_layer.bias.assign(np.array([0.5, -0.2, 0.1], "float32"))  # a "trained" small model
    probs = np.asarray(model(x))
    grown = net2deeper(net2wider(model, "hidden_0", 8, noise=0.1, seed=1), "hidden_0")
    np.testing.assert_allclose(np.asarray(grown(x)), probs, atol=1e-5)
    history = kt.fine_tune(grown, (x, y), head_epochs=0, fine_tune_epochs=1, batch_size=6, verbose=0)
    assert [stage["name"] for stage in history.stages] == ["fine_tune"] and grown.backbone.mode == "full"
    assert np.all(np.isfinite(history.history["loss"]))
    np.testing.assert_allclose(np.asarray(model(x)), probs)  # the small model did not move
    path = tmp_path / "grown.keras"
    grown.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert loaded.head.hidden_units == (8, 8)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(grown(x)), atol=1e-6)


def test_transfer_model_errors(tiny_model, regression_model):
    with pytest.raises(InvalidConfigError, match=r"No layer named 'block3_conv' in head.*\['output'\].*hidden_units"):
        net2wider(tiny_model, "block3_conv", 64)
    with pytest.raises(InvalidConfigError, match="cannot be widened"):
        net2wider(regression_model, "output", 8)
    with pytest.raises(InvalidConfigError, match="has no hidden layer"):
        TransferModelAdapter().default_layer(tiny_model)
    assert TransferModelAdapter().default_layer(regression_model) == "hidden_1"
