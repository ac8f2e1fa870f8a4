"""label_smoothing: the first option plugged in through the model's loss hook (declared once in FineTuneOptions)."""

import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer import errors
from keras_transfer.testing import register_tiny_backbone


def _data():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(24, 28, 28, 1), dtype=np.uint8)
    return x, np.arange(24) % 3


def _fit(y_form="sparse", **options):
    x, y = _data()
    kt.set_seed(0)
    model = kt.TransferModel(kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32)),
                             kt.ClassificationHead(3, dropout=0.0))
    labels = np.eye(3)[y] if y_form == "one_hot" else y
    history = kt.fine_tune(model, (x, labels), head_epochs=8, fine_tune_epochs=0, head_lr=0.05, batch_size=8,
                           seed=0, verbose=0, **options)
    return history, model.predict(x, verbose=0)


@pytest.mark.parametrize("y_form", ["sparse", "one_hot"])
def test_smoothing_changes_the_loss_and_makes_predictions_less_confident(y_form):
    plain_history, plain = _fit(y_form)
    smooth_history, smooth = _fit(y_form, label_smoothing=0.3)
    assert smooth_history.history["loss"][0] != plain_history.history["loss"][0]
    assert "accuracy" in smooth_history.history
    # The smoothed targets cap the optimum at 1 - 0.3 + 0.3 / 3 = 0.8 for the true class.
    assert smooth.max(axis=1).mean() < plain.max(axis=1).mean()
    assert smooth.max(axis=1).max() < 0.9


def test_sparse_and_one_hot_labels_give_the_same_smoothed_run():
    sparse_history, sparse = _fit("sparse", label_smoothing=0.1)
    one_hot_history, one_hot = _fit("one_hot", label_smoothing=0.1)
    np.testing.assert_allclose(sparse_history.history["loss"], one_hot_history.history["loss"], rtol=1e-5)
    np.testing.assert_allclose(sparse, one_hot, atol=1e-5)


def test_smoothing_is_checked_before_any_work():
    x, y = _data()
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32))
    with pytest.raises(errors.InvalidConfigError, match=r"label_smoothing must be .*Received: label_smoothing=1\.5"):
        kt.fine_tune(kt.TransferModel(backbone, kt.ClassificationHead(3)), (x, y), label_smoothing=1.5)
    with pytest.raises(errors.InvalidConfigError, match="mixup"):
        kt.fine_tune(kt.TransferModel(backbone, kt.ClassificationHead(3)), (x, y), label_smoothing=0.1, mixup=0.2)
    with pytest.raises(errors.InvalidConfigError, match="single-label classification head"):
        kt.fine_tune(kt.TransferModel(backbone, kt.RegressionHead()), (x, y.astype("float32")), label_smoothing=0.1)
    multi = kt.MultiTaskModel(backbone, {"a": kt.ClassificationHead(3)})
    with pytest.raises(errors.InvalidConfigError, match="does not support label_smoothing"):
        kt.fine_tune(multi, (x, {"a": y}), label_smoothing=0.1)


def test_the_recipe_key_is_the_same_option(tmp_path):
    from keras_transfer.recipe.validation import validate_config
    from keras_transfer.testing.tiny_recipe import tiny_recipe_config
    from keras_transfer.training.options import FineTuneOptions

    raw = tiny_recipe_config(tmp_path / "data.npz", tmp_path / "runs", label_smoothing=0.1)
    assert FineTuneOptions.from_recipe(validate_config(raw)).label_smoothing == 0.1
    raw["label_smoothing"] = 2
    with pytest.raises(errors.InvalidConfigError, match=r"'label_smoothing': label_smoothing must be"):
        validate_config(raw)
