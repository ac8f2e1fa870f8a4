"""Sequential training: the head trained on cached features, stitched back, then joint training as before."""

import os

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer import errors
from keras_transfer.features import cache as cache_module
from keras_transfer.features import stitch, train_head
from keras_transfer.testing import register_tiny_backbone


def _model(seed_weights=None, augmentation=None):
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32))
    model = kt.TransferModel(backbone, kt.ClassificationHead(3, dropout=0.0), augmentation=augmentation)
    model(np.zeros((1, 28, 28, 1), "uint8"))
    if seed_weights is not None:
        model.set_weights(seed_weights)
    return model


def test_fine_tune_with_cache_dir_stitches_the_head_then_fine_tunes(tiny_images, tmp_path):
    x, y = tiny_images
    model = _model()
    backbone_before = [w.copy() for w in model.backbone.network.get_weights()]
    history = kt.fine_tune(
        model, (x, y), (x[:6], y[:6]), head_epochs=2, fine_tune_epochs=1, batch_size=6, verbose=0,
        cache_dir=tmp_path,
    )
    assert [s["name"] for s in history.stages] == ["head", "fine_tune"] and history.epoch == [0, 1, 2]
    assert len(history.history["val_loss"]) == 3 and len(history.history["accuracy"]) == 3
    assert history.stages[0]["mode"] == "frozen" and history.stages[1]["mode"] == "full"
    after = model.backbone.network.get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(backbone_before, after))  # stage 2 ran jointly
    assert len([n for n in os.listdir(tmp_path) if not n.startswith(".")]) == 2  # train + validation entries


def test_training_on_the_cache_equals_training_through_the_frozen_backbone(tiny_images, tmp_path):
    x, y = tiny_images
    cached_model = _model()
    plain_model = _model(cached_model.get_weights())
    history = train_head(
        cached_model, (x, y), cache_dir=tmp_path, epochs=2, batch_size=6, shuffle=False, verbose=0,
        optimizer=keras.optimizers.SGD(0.1),
    )
    plain_model.compile(optimizer=keras.optimizers.SGD(0.1))
    plain_model.fit(x, y, batch_size=6, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(cached_model.head.get_weights(), plain_model.head.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert not np.allclose(cached_model.head.get_weights()[0], _model().head.get_weights()[0])

    # Stitched: the whole model on raw images equals the head on the cached features.
    cached, _ = history.feature_cache.load()
    stitched = keras.ops.convert_to_numpy(cached_model(x, training=False))
    direct = keras.ops.convert_to_numpy(cached_model.head(cached, training=False))
    assert np.abs(stitched - direct).max() < 1e-5
    assert stitch(cached_model, history.feature_cache) < 1e-5
    assert history.model is cached_model and cached_model.compiled
    assert np.isfinite(cached_model.evaluate(x, y, verbose=0)[0])  # it keeps working as a whole model

    # A backbone that no longer computes the cached features is refused, never stitched silently.
    kernel = cached_model.backbone.network.get_layer("block3_conv").kernel
    kernel.assign(kernel.numpy() * 3.0)
    with pytest.raises(errors.KerasTransferError, match="does not reproduce the head on cached features"):
        stitch(cached_model, history.feature_cache, tolerance=1e-6)


def test_second_run_reuses_the_cache_without_running_the_backbone(tiny_images, tmp_path, monkeypatch):
    x, y = tiny_images
    model = _model()
    kt.features.extract(model.backbone, (x, y), tmp_path)

    def fail(*args, **kwargs):
        raise AssertionError("the backbone ran although the cache was valid")

    monkeypatch.setattr(cache_module, "_feature_step", fail)
    again = _model(model.get_weights())
    history = kt.fine_tune(again, (x, y), head_epochs=2, fine_tune_epochs=0, verbose=0, cache_dir=tmp_path)
    assert history.epoch == [0, 1]


def test_augmentation_is_seen_through_cached_views(tiny_images, tmp_path):
    x, y = tiny_images
    augmentation = keras.Sequential([keras.layers.RandomTranslation(0.2, 0.2)])
    model = _model(augmentation=augmentation)
    history = train_head(model, (x, y), cache_dir=tmp_path, epochs=1, views=2, verbose=0)
    assert history.feature_cache.views == 2
    assert "RandomTranslation" in history.feature_cache.fingerprint["augmentation"]


def test_bad_cache_dir_and_pydataset_fail_before_any_training(tiny_images, tmp_path):
    x, y = tiny_images
    model = _model()
    before = model.get_weights()
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(errors.CacheDirectoryError, match="Received: cache_dir="):
        kt.fine_tune(model, (x, y), head_epochs=1, fine_tune_epochs=1, verbose=0, cache_dir=blocker / "c")

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 1

        def __getitem__(self, index):
            return x, y

    with pytest.raises(errors.InvalidConfigError, match="PyDataset"):
        kt.fine_tune(model, Batches(), head_epochs=1, fine_tune_epochs=1, verbose=0, cache_dir=tmp_path)
    with pytest.raises(errors.InvalidConfigError, match="views"):
        train_head(model, (x, y), cache_dir=tmp_path, epochs=1, views=-2, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
