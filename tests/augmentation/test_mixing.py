"""MixUp / CutMix: targets sum to 1, the right pairs are mixed, label forms, datasets, fine_tune, errors."""

import math

import numpy as np
import pytest
import tensorflow as tf

import keras_transfer as kt
from keras_transfer.augmentation import MixUpCutMix
from keras_transfer.errors import InvalidConfigError, InvalidInputError


def _batch(n=8, size=12):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, size, size, 1)).astype("uint8"), np.arange(n) % 3


def test_mixup_targets_sum_to_one_and_mix_the_drawn_pairs():
    images, labels = _batch()
    mixer = MixUpCutMix(mixup=0.4, num_classes=3, seed=0)
    params = mixer.sample(8, 12, 12, (1, 2))
    out_images, out_labels = (np.asarray(t) for t in mixer.apply(images, labels, params))
    perm, lam = np.asarray(params["permutation"]), np.asarray(params["lam"])
    assert sorted(perm.tolist()) == list(range(8)) and not bool(params["use_cutmix"])
    assert np.all((lam >= 0) & (lam <= 1)) and lam.std() > 0  # one weight per example
    one_hot = np.eye(3)[labels]
    x = images.astype("float32")
    np.testing.assert_allclose(out_images, lam[:, None, None, None] * x + (1 - lam[:, None, None, None]) * x[perm], rtol=1e-5)
    np.testing.assert_allclose(out_labels, lam[:, None] * one_hot + (1 - lam[:, None]) * one_hot[perm], rtol=1e-6)
    np.testing.assert_allclose(out_labels.sum(axis=1), 1.0, rtol=1e-6)


def test_cutmix_pastes_the_partner_box_and_weights_labels_by_its_area():
    images, labels = _batch(16)
    mixer = MixUpCutMix(cutmix=1.0, num_classes=3, seed=0)
    params = mixer.sample(16, 12, 12, (3, 4))
    out_images, out_labels = (np.asarray(t) for t in mixer.apply(images, labels, params))
    perm, lam, box = np.asarray(params["permutation"]), np.asarray(params["lam"]), np.asarray(params["box"])
    assert bool(params["use_cutmix"])
    for i in range(16):
        top, left, bottom, right = box[i]
        inside = np.zeros((12, 12), bool)
        inside[top:bottom, left:right] = True
        np.testing.assert_array_equal(out_images[i][inside], images[perm[i]][inside])
        np.testing.assert_array_equal(out_images[i][~inside], images[i][~inside])
        assert lam[i] == pytest.approx(1 - inside.mean())
        expected = lam[i] * np.eye(3)[labels[i]] + (1 - lam[i]) * np.eye(3)[labels[perm[i]]]
        np.testing.assert_allclose(out_labels[i], expected, rtol=1e-6)
    np.testing.assert_allclose(out_labels.sum(axis=1), 1.0, rtol=1e-6)
    assert (box[:, 2] > box[:, 0]).any()


def test_both_on_switches_per_batch_and_seed_repeats():
    images, labels = _batch()
    mixer = MixUpCutMix(mixup=0.2, cutmix=1.0, num_classes=3, seed=5)
    kinds = {bool(mixer.sample(8, 12, 12, (5, step))["use_cutmix"]) for step in range(20)}
    assert kinds == {True, False}
    first = MixUpCutMix(mixup=0.2, cutmix=1.0, num_classes=3, seed=9)(images, labels)
    again = MixUpCutMix(mixup=0.2, cutmix=1.0, num_classes=3, seed=9)(images, labels)
    np.testing.assert_array_equal(np.asarray(first[0]), np.asarray(again[0]))


def test_one_hot_and_multi_hot_labels_keep_their_form():
    images, labels = _batch()
    one_hot = np.eye(3, dtype="float32")[labels]
    _, mixed = MixUpCutMix(mixup=0.2, seed=0)(images, one_hot)  # no num_classes needed
    np.testing.assert_allclose(np.asarray(mixed).sum(axis=1), 1.0, rtol=1e-6)
    multi_hot = (np.random.default_rng(1).uniform(size=(8, 5)) > 0.5).astype("float32")
    _, mixed = MixUpCutMix(cutmix=1.0, seed=0)(images, multi_hot)
    mixed = np.asarray(mixed)
    assert mixed.shape == (8, 5) and mixed.min() >= 0 and mixed.max() <= 1


def test_dataset_transform_mixes_every_batch_with_new_draws_per_epoch():
    images, labels = _batch(16)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8)
    mixed = MixUpCutMix(mixup=0.2, num_classes=3, seed=0).apply_to_dataset(dataset)
    epoch1 = [np.asarray(x) for x, _ in mixed]
    epoch2 = [np.asarray(x) for x, _ in mixed]
    assert len(epoch1) == 2 and epoch1[0].dtype == np.float32
    assert not np.allclose(epoch1[0], epoch2[0])
    for _, y in mixed:
        np.testing.assert_allclose(np.asarray(y).sum(axis=1), 1.0, rtol=1e-6)


def test_integer_labels_without_num_classes_are_refused():
    images, labels = _batch()
    with pytest.raises(InvalidInputError, match="num_classes=None"):
        MixUpCutMix(mixup=0.2)(images, labels)


@pytest.mark.parametrize("kwargs", [{"mixup": 0}, {"cutmix": -1.0}, {"mixup": True}, {}])
def test_bad_alphas_are_refused(kwargs):
    with pytest.raises(InvalidConfigError):
        MixUpCutMix(**kwargs)


def test_fine_tune_with_mixup_and_cutmix_trains_on_sparse_labels(tiny_model, tiny_images):
    x, y = tiny_images
    history = kt.fine_tune(
        tiny_model, (x, y), validation=(x[:6], y[:6]), head_epochs=1, fine_tune_epochs=0,
        batch_size=6, mixup=0.2, cutmix=1.0, verbose=0,
    )
    assert history.epoch == [0]
    assert all(math.isfinite(v) for v in history.history["loss"] + history.history["val_loss"])
    assert type(tiny_model.loss).__name__ == "CategoricalCrossentropy"


def test_fine_tune_with_cutmix_on_multi_label_targets(tiny_images):
    from keras_transfer.testing import register_tiny_backbone

    x, _ = tiny_images
    y = (np.random.default_rng(0).uniform(size=(len(x), 4)) > 0.5).astype("float32")
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32))
    model = kt.TransferModel(backbone, kt.ClassificationHead(4, multi_label=True, dropout=0.0))
    history = kt.fine_tune(model, (x, y), head_epochs=1, fine_tune_epochs=0, batch_size=6, cutmix=1.0, verbose=0)
    assert math.isfinite(history.history["loss"][0])
    assert type(model.loss).__name__ == "BinaryCrossentropy"


def test_fine_tune_refuses_mixup_on_a_regression_head(tiny_images):
    from keras_transfer.testing import register_tiny_backbone

    x, _ = tiny_images
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32))
    model = kt.TransferModel(backbone, kt.RegressionHead())
    with pytest.raises(InvalidConfigError, match="classification head"):
        kt.fine_tune(model, (x, np.zeros(len(x), "float32")), head_epochs=1, fine_tune_epochs=0, mixup=0.2)
    with pytest.raises(InvalidConfigError, match="mixup=-0.5"):
        kt.fine_tune(model, (x, np.zeros(len(x), "float32")), head_epochs=1, fine_tune_epochs=0, mixup=-0.5)
