"""`extract`: hits, misses on every fingerprint part, rebuilds of corrupt entries, views, bad input, memory."""

import dataclasses
import glob
import json
import os
import shutil
import tracemalloc
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_transfer as kt
from keras_transfer import errors
from keras_transfer.features import CacheRebuildWarning, extract
from keras_transfer.features import cache as cache_module


def _entries(cache_dir):
    return sorted(name for name in os.listdir(cache_dir) if not name.startswith("."))


def _forbid_backbone_runs(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the backbone ran on a cache hit")

    monkeypatch.setattr(cache_module, "_feature_step", fail)


def test_miss_then_hit_returns_the_backbones_features_without_running_it(
    tiny_backbone, labelled_images, tmp_path, monkeypatch
):
    x, y = labelled_images
    first = extract(tiny_backbone, (x, y), tmp_path, shard_size=16)
    assert not first.hit and first.num_examples == 40 and len(first.shards) == 3
    features, labels = first.load()
    expected = keras.ops.convert_to_numpy(tiny_backbone(x, training=False))
    np.testing.assert_allclose(features, expected, atol=1e-5)
    np.testing.assert_array_equal(labels, y)

    _forbid_backbone_runs(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = extract(tiny_backbone, (x, y), tmp_path, shard_size=16)
    assert second.hit and second.path == first.path
    np.testing.assert_array_equal(second.load()[0], features)
    assert _entries(tmp_path) == [os.path.basename(first.path)]


def _other_weights(backbone, x):
    kernel = backbone.network.get_layer("block3_conv").kernel
    kernel.assign(kernel.numpy() * 1.5)
    return backbone, x


def _moving_mean(backbone, x):
    bn = backbone.network.get_layer("block1_bn")
    bn.moving_mean.assign(bn.moving_mean.numpy() + 0.5)  # a non-trainable variable counts too
    return backbone, x


def _preprocessing(backbone, x):
    backbone.spec = dataclasses.replace(backbone.spec, preprocessing="torch")
    return backbone, x


def _resolution(backbone, x):
    return kt.backbones.get(backbone.backbone_name, weights=None, input_shape=(40, 40)), x


def _pooling(backbone, x):
    rebuilt = kt.backbones.get(backbone.backbone_name, weights=None, input_shape=(32, 32), pooling="max")
    rebuilt.network.set_weights(backbone.network.get_weights())
    return rebuilt, x


def _input_size(backbone, x):
    return backbone, np.ascontiguousarray(np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))))


def _input_dtype(backbone, x):
    return backbone, x.astype("float32")


def _one_pixel(backbone, x):
    x = x.copy()
    x[5, 3, 3, 0] ^= 0xFF
    return backbone, x


def _backbone_name(backbone, x):
    # Same network, registered under another name: the name alone must change the key.
    backbone.spec = dataclasses.replace(backbone.spec, name="tiny_cnn_renamed")
    backbone.backbone_name = "tiny_cnn_renamed"
    return backbone, x


CHANGES = [
    _backbone_name, _other_weights, _moving_mean, _preprocessing, _resolution, _pooling, _input_size, _input_dtype,
    _one_pixel,
]


def test_each_fingerprint_part_invalidates(labelled_images, tmp_path):
    from keras_transfer.testing import register_tiny_backbone

    x, y = labelled_images
    base_weights = None
    keys = set()
    for change in CHANGES:
        backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32))
        if base_weights is None:
            base_weights = backbone.network.get_weights()
        backbone.network.set_weights(base_weights)
        before = extract(backbone, (x, y), tmp_path)
        assert before.hit == bool(keys)  # a new backbone object with the same weights hits
        keys.add(before.key)
        changed, x2 = change(backbone, x)
        after = extract(changed, (x2, y), tmp_path)
        assert not after.hit and after.key not in keys, change.__name__
        keys.add(after.key)
        expected = keras.ops.convert_to_numpy(changed(x2, training=False))
        np.testing.assert_allclose(after.load()[0], expected, atol=1e-5, err_msg=change.__name__)
    assert len(_entries(tmp_path)) == len(keys) == len(CHANGES) + 1


def test_changed_labels_miss(tiny_backbone, labelled_images, tmp_path):
    x, y = labelled_images
    first = extract(tiny_backbone, (x, y), tmp_path)
    relabelled = extract(tiny_backbone, (x, y[::-1]), tmp_path)
    assert not relabelled.hit and relabelled.key != first.key
    np.testing.assert_array_equal(relabelled.load()[1], y[::-1])


def test_data_changed_in_place_between_calls_is_never_served_stale(tiny_backbone, labelled_images, tmp_path):
    x, y = labelled_images
    x = x.copy()
    first = extract(tiny_backbone, (x, y), tmp_path)
    x[0] = 255 - x[0]
    second = extract(tiny_backbone, (x, y), tmp_path)
    assert not second.hit
    expected = keras.ops.convert_to_numpy(tiny_backbone(x[:1], training=False))
    np.testing.assert_allclose(second.load()[0][:1], expected, atol=1e-5)
    assert not np.allclose(first.load()[0][0], second.load()[0][0])


def _truncate(entry):
    path = os.path.join(entry, "features-00001.npy")
    with open(path, "r+b") as handle:
        handle.truncate(os.path.getsize(path) - 40)


def _flip_byte(entry):
    path = os.path.join(entry, "features-00000.npy")
    with open(path, "r+b") as handle:
        handle.seek(-3, os.SEEK_END)
        byte = handle.read(1)
        handle.seek(-3, os.SEEK_END)
        handle.write(bytes([byte[0] ^ 0x5A]))


def _delete_labels(entry):
    os.remove(os.path.join(entry, "labels-00002.npy"))


def _no_manifest(entry):  # an extraction interrupted before publishing
    os.remove(os.path.join(entry, "manifest.json"))


def _garbled_manifest(entry):
    with open(os.path.join(entry, "manifest.json"), "w") as handle:
        handle.write('{"shards": [')


def test_corrupt_or_partial_entry_is_reported_and_rebuilt(tiny_backbone, labelled_images, tmp_path):
    x, y = labelled_images
    good = extract(tiny_backbone, (x, y), tmp_path, shard_size=16)
    reference = good.load()
    for damage in (_truncate, _flip_byte, _delete_labels, _no_manifest, _garbled_manifest):
        damage(good.path)
        with pytest.warns(CacheRebuildWarning, match="unusable"):
            rebuilt = extract(tiny_backbone, (x, y), tmp_path, shard_size=16)
        assert not rebuilt.hit and rebuilt.path == good.path and rebuilt.check() is None, damage.__name__
        np.testing.assert_allclose(rebuilt.load()[0], reference[0], atol=1e-6)
        np.testing.assert_array_equal(rebuilt.load()[1], reference[1])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert extract(tiny_backbone, (x, y), tmp_path, shard_size=16).hit


def test_entry_holding_another_backbones_features_is_detected(tiny_backbone, labelled_images, tmp_path):
    x, y = labelled_images
    mine = extract(tiny_backbone, (x, y), tmp_path)
    other_backbone = kt.backbones.get(tiny_backbone.backbone_name, weights=None, input_shape=(32, 32))
    other = extract(other_backbone, (x, y), tmp_path)
    assert other.key != mine.key
    # Someone copies the other backbone's entry over this one (same directory name).
    shutil.rmtree(mine.path)
    shutil.copytree(other.path, mine.path)
    with pytest.warns(CacheRebuildWarning, match="holds other features.*weights"):
        again = extract(tiny_backbone, (x, y), tmp_path)
    expected = keras.ops.convert_to_numpy(tiny_backbone(x, training=False))
    np.testing.assert_allclose(again.load()[0], expected, atol=1e-5)


def test_views_store_k_augmented_copies(tiny_backbone, labelled_images, tmp_path):
    x, y = labelled_images
    clean = extract(tiny_backbone, (x, y), tmp_path)
    cache = extract(tiny_backbone, (x, y), tmp_path, views=3)
    assert cache.views == 3 and cache.key != clean.key
    every = cache.load(view=None)[0]
    assert every.shape == (40, 4, 32)
    np.testing.assert_allclose(every[:, 0], clean.load()[0], atol=1e-5)
    for view in (1, 2, 3):
        assert np.abs(every[:, view] - every[:, 0]).max() > 1e-3
    assert np.abs(every[:, 1] - every[:, 2]).max() > 1e-3
    # Training batches draw one augmented view (never the clean one) per example.
    for batch, labels in cache.as_dataset(8, seed=0):
        rows = every[labels.numpy()]
        distance = np.abs(rows - batch.numpy()[:, None]).max(axis=-1)
        assert np.all(distance.min(axis=1) < 1e-6) and np.all(distance.argmin(axis=1) >= 1)


def test_views_use_the_given_augmentation_and_it_is_fingerprinted(tiny_backbone, labelled_images, tmp_path):
    x, y = labelled_images
    flip = keras.Sequential([keras.layers.RandomFlip("horizontal")])
    shift = keras.Sequential([keras.layers.RandomTranslation(0.2, 0.2)])
    a = extract(tiny_backbone, (x, y), tmp_path, views=1, augmentation=flip)
    b = extract(tiny_backbone, (x, y), tmp_path, views=1, augmentation=shift)
    assert a.key != b.key and "RandomFlip" in a.fingerprint["augmentation"]


@pytest.mark.parametrize("views", [-1, 1.5, True, "2"])
def test_bad_views_are_refused_before_any_work(tiny_backbone, labelled_images, tmp_path, views):
    with pytest.raises(errors.InvalidConfigError, match=r"views must be an int ≥ 0\. Received: views="):
        extract(tiny_backbone, labelled_images, tmp_path / "cache", views=views)
    assert not (tmp_path / "cache").exists()


def test_unwritable_cache_dir_is_a_clear_error(tiny_backbone, labelled_images, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    with pytest.raises(errors.CacheDirectoryError, match="cannot be created.*Received: cache_dir="):
        extract(tiny_backbone, labelled_images, blocker / "cache")
    with pytest.raises(errors.CacheDirectoryError, match="cannot be created"):
        extract(tiny_backbone, labelled_images, blocker)
    with pytest.raises(OSError):  # the built-in family still catches it
        extract(tiny_backbone, labelled_images, blocker / "cache")
    with pytest.raises(errors.InvalidConfigError, match="cache_dir must be a directory path"):
        extract(tiny_backbone, labelled_images, 3)


def test_bad_data_is_refused(tiny_backbone, tmp_path):
    with pytest.raises(errors.InvalidInputError, match="differ in length"):
        extract(tiny_backbone, (np.zeros((4, 28, 28, 1), "uint8"), np.arange(3)), tmp_path)
    with pytest.raises(errors.InvalidInputError, match="rank-3"):
        extract(tiny_backbone, (np.zeros((4, 28, 28), "uint8"), np.arange(4)), tmp_path)
    unbatched = tf.data.Dataset.from_tensor_slices((np.zeros((4, 28, 28, 1), "uint8"), np.arange(4)))
    with pytest.raises(errors.InvalidInputError, match="Batch it first"):
        extract(tiny_backbone, unbatched, tmp_path)


def test_tf_data_input_matches_arrays_and_hits(tiny_backbone, labelled_images, tmp_path, monkeypatch):
    x, y = labelled_images
    from_arrays = extract(tiny_backbone, (x, y), tmp_path)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(7)
    from_dataset = extract(tiny_backbone, ds, tmp_path)
    assert not from_dataset.hit
    np.testing.assert_allclose(from_dataset.load()[0], from_arrays.load()[0], atol=1e-5)
    np.testing.assert_array_equal(from_dataset.load()[1], y)
    _forbid_backbone_runs(monkeypatch)
    assert extract(tiny_backbone, ds, tmp_path).hit


def test_reshuffling_dataset_is_keyed_by_what_was_extracted(tiny_backbone, labelled_images, tmp_path):
    x, y = labelled_images
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(40, seed=1, reshuffle_each_iteration=True).batch(8)
    with pytest.warns(CacheRebuildWarning, match="different elements on two passes"):
        cache = extract(tiny_backbone, ds, tmp_path)
    features, labels = cache.load()
    expected = keras.ops.convert_to_numpy(tiny_backbone(x[labels], training=False))
    np.testing.assert_allclose(features, expected, atol=1e-5)  # features and labels still belong together


def test_images_without_labels(tiny_backbone, labelled_images, tmp_path):
    x, _ = labelled_images
    cache = extract(tiny_backbone, x, tmp_path)
    features, labels = cache.load()
    assert labels is None and features.shape == (40, 32) and not cache.has_labels
    assert next(iter(cache.as_dataset(16))).shape == (16, 32)


def test_memory_stays_bounded_by_one_shard(tmp_path):
    from keras_transfer.testing import register_tiny_backbone

    # Feature maps (4x4x32 floats = 2 kB per example): 3,000 memory-mapped images give 6 MB of features,
    # written in shards of 100 rows (200 kB). Holding them all at once would need at least 6 MB.
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32), pooling=None)
    images = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype="uint8", shape=(3000, 16, 16, 1))
    images[:] = np.random.default_rng(0).integers(0, 256, images.shape, dtype=np.uint8)
    images.flush()
    images = np.load(tmp_path / "x.npy", mmap_mode="r")
    labels = np.arange(3000) % 5
    extract(backbone, (images[:10], labels[:10]), tmp_path / "cache", shard_size=100, batch_size=100)  # trace
    tracemalloc.start()
    try:
        cache = extract(backbone, (images, labels), tmp_path / "cache", shard_size=100, batch_size=100)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    features_bytes = 3000 * 4 * 4 * 32 * 4
    assert cache.num_examples == 3000 and len(cache.shards) == 30 and cache.feature_shape == (4, 4, 32)
    assert all(shard["rows"] == 100 for shard in cache.shards)
    assert peak < features_bytes / 4, f"peak {peak} B while extracting {features_bytes} B of features"
    on_disk = sum(os.path.getsize(p) for p in glob.glob(os.path.join(cache.path, "features-*.npy")))
    assert on_disk >= features_bytes
    # Reading back for training streams too: one shard at a time.
    tracemalloc.start()
    try:
        n_batches = sum(1 for _ in cache.as_dataset(64, max_memory_bytes=features_bytes // 4, view=0))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n_batches == 47 and peak < features_bytes / 4


def test_streamed_training_dataset_matches_in_memory_one(tiny_backbone, labelled_images, tmp_path):
    x, y = labelled_images
    cache = extract(tiny_backbone, (x, y), tmp_path, shard_size=16)
    features, labels = cache.load()
    streamed = cache.as_dataset(6, shuffle=False, view=0, max_memory_bytes=0)
    assert int(streamed.cardinality()) == 7
    batches = list(streamed)
    assert [len(b[1]) for b in batches] == [6] * 6 + [4]  # batches span shard boundaries
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), features)
    shuffled = list(cache.as_dataset(6, shuffle=True, seed=0, view=0, max_memory_bytes=0))
    order = np.concatenate([b[1] for b in shuffled])
    assert sorted(order.tolist()) == labels.tolist() and order.tolist() != labels.tolist()
    np.testing.assert_array_equal(np.concatenate([b[0] for b in shuffled]), features[order])


def test_manifest_is_plain_json_and_shards_are_plain_npy(tiny_backbone, labelled_images, tmp_path):
    cache = extract(tiny_backbone, labelled_images, tmp_path)
    with open(os.path.join(cache.path, "manifest.json")) as handle:
        manifest = json.load(handle)
    assert set(manifest["fingerprint"]) == {
        "format", "backbone", "weights", "preprocessing", "input", "data", "views", "augmentation"
    }
    assert manifest["fingerprint"]["input"] == {"shape": [28, 28, 1], "dtype": "uint8"}
    for path in glob.glob(os.path.join(cache.path, "*.npy")):
        np.load(path, allow_pickle=False)
