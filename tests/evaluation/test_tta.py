"""Test-time augmentation: seeded and repeatable, from the model's own augmentation, the same on a reloaded
``.keras`` model and on an exported TFLite file."""

import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.errors import InvalidConfigError
from keras_transfer.evaluation import DEFAULT_TTA_AUGMENTATION, augmentation_of


def test_tta_is_repeatable_uses_the_models_augmentation_and_blends_with_the_plain_prediction(square_task):
    model, _, (tx, ty, _) = square_task
    plain = kt.predict(model, tx)
    np.testing.assert_allclose(plain, model.predict(tx, verbose=0), atol=1e-6)
    first = kt.predict(model, tx, tta=4, seed=3, batch_size=16)
    np.testing.assert_array_equal(kt.predict(model, tx, tta=4, seed=3, batch_size=16), first)
    assert not np.allclose(kt.predict(model, tx, tta=4, seed=4, batch_size=16), first)  # the seed picks the views
    views_only = kt.predict(model, tx, tta=4, seed=3, batch_size=16, blend=0.0)
    np.testing.assert_allclose(first, 0.5 * plain + 0.5 * views_only, atol=1e-5)
    assert np.abs(np.log(views_only + 1e-30) - np.log(plain + 1e-30)).max() > 1e-2  # the views differ
    assert augmentation_of(model) == (model.augmentation, "model")
    assert np.mean(first.argmax(1) == ty) >= 0.9


def test_tta_on_a_reloaded_keras_file_and_an_exported_tflite_file_matches_the_live_model(square_task, tmp_path):
    model, _, (tx, _, _) = square_task
    expected = kt.predict(model, tx, tta=3, seed=1)
    model.save(tmp_path / "model.keras")
    np.testing.assert_allclose(kt.predict(str(tmp_path / "model.keras"), tx, tta=3, seed=1), expected, atol=1e-5)
    reloaded = kt.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(kt.predict(reloaded, tx, tta=3, seed=1), expected, atol=1e-5)
    kt.export(model, tmp_path / "model.tflite", format="tflite", input_shape=(32, 32, 1))
    exported = kt.export.load_exported(tmp_path / "model.tflite")
    assert augmentation_of(exported)[1] == "model card"  # the model's own augmentation, from model_card.json
    np.testing.assert_allclose(kt.predict(exported, tx, tta=3, seed=1), expected, atol=1e-3)


def test_a_model_without_augmentation_gets_the_default_views_and_bad_arguments_raise(square_task):
    model, _, (tx, _, _) = square_task
    layer, source = augmentation_of(kt.TransferModel(model.backbone, model.head))
    assert source == "default" and layer.name == f"augmentation_{DEFAULT_TTA_AUGMENTATION}"
    with pytest.raises(InvalidConfigError, match="Received: tta=-1"):
        kt.predict(model, tx, tta=-1)
    with pytest.raises(InvalidConfigError, match="blend"):
        kt.predict(model, tx, tta=2, blend=1.5)
