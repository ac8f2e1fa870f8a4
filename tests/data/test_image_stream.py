"""image_stream / file_dataset: streamed folders equal the in-memory loader, skip bad files, cache, train."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

import keras_transfer as kt
from keras_transfer.data import image_folder
from keras_transfer.data.image_stream import file_dataset, image_stream
from keras_transfer.errors import InvalidConfigError, InvalidInputError


def _photo(path, size, mode="RGB", seed=0):
    """A random-noise image of ``size`` (width, height) with a class-dependent tint."""
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    channels = 1 if mode == "L" else 3
    pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    Image.fromarray(pixels[..., 0] if mode == "L" else pixels, mode).save(path)
    return path


def _mixed_folder(root, per_class=6):
    """3 classes; files of three sizes, PNG and JPEG, grey and RGB."""
    sizes = [(40, 30), (64, 48), (50, 70)]
    for c, name in enumerate(("cat", "dog", "owl")):
        for i in range(per_class):
            ext = ".png" if i % 2 else ".jpg"
            mode = "L" if i % 3 == 0 else "RGB"
            _photo(str(root / name / f"{i}{ext}"), sizes[i % 3], mode, seed=10 * c + i)
    return root


@pytest.mark.parametrize("channels", [3, 1])
def test_streamed_splits_equal_the_in_memory_loader(tmp_path, channels):
    _mixed_folder(tmp_path)
    kwargs = dict(image_size=(24, 32), channels=channels, validation_size=3, test_size=3, n_per_class=3, seed=5)
    splits = image_folder(tmp_path, **kwargs)
    stream = image_stream(tmp_path, batch_size=4, **kwargs)
    assert stream.class_names == splits.class_names and stream.num_classes == 3
    for split in ("train", "validation", "test"):
        x, y = stream.load(split)
        assert x.shape == getattr(splits, split)[0].shape and x.dtype == np.uint8
        np.testing.assert_array_equal(x, getattr(splits, split)[0])
        np.testing.assert_array_equal(y, getattr(splits, split)[1])
    batches = list(stream.test.as_numpy_iterator())
    assert [b[0].shape[0] for b in batches] == [3]  # file order, one short batch
    assert stream.skipped == []


def test_training_split_is_reshuffled_each_pass_and_complete(tmp_path):
    _mixed_folder(tmp_path, per_class=8)
    stream = image_stream(tmp_path, image_size=(16, 16), batch_size=5, seed=1)
    passes = [np.concatenate([y for _, y in stream.train.as_numpy_iterator()]) for _ in range(2)]
    order = [np.concatenate([x[:, 0, 0, 0] for x, _ in stream.train.as_numpy_iterator()]) for _ in range(2)]
    assert sorted(passes[0].tolist()) == sorted(stream.labels("train").tolist()) == [0] * 8 + [1] * 8 + [2] * 8
    assert not np.array_equal(order[0], order[1])


def test_grey_folder_keeps_one_channel_with_channels_none(tmp_path):
    for c in ("a", "b"):
        for i in range(2):
            _photo(str(tmp_path / c / f"{i}.png"), (30 + 5 * i, 20), "L", seed=i)
    stream = image_stream(tmp_path, image_size=(8, 8), channels=None)
    assert stream.channels == 1 and stream.load()[0].shape == (4, 8, 8, 1)
    _photo(str(tmp_path / "b" / "rgb.png"), (20, 20), "RGB")
    assert image_stream(tmp_path, image_size=(8, 8), channels=None).channels == 3


def test_unreadable_files_are_skipped_and_counted_or_raise(tmp_path, caplog):
    _mixed_folder(tmp_path, per_class=3)
    (tmp_path / "cat" / "notes.png").write_text("not an image")
    good = _photo(str(tmp_path / "dog" / "big.jpg"), (80, 80), seed=3)
    truncated = str(tmp_path / "dog" / "truncated.jpg")
    with open(good, "rb") as src, open(truncated, "wb") as dst:
        dst.write(src.read()[:200])
    stream = image_stream(tmp_path, image_size=(16, 16), batch_size=4)
    x, y = stream.load()
    assert len(x) == len(y) == len(stream.labels()) - 2 == 10
    assert sorted(os.path.basename(p) for p, _ in stream.skipped) == ["notes.png", "truncated.jpg"]
    assert "skipped unreadable file" in caplog.text
    stream.load()  # a second pass counts nothing twice
    assert len(stream.skipped) == 2
    with pytest.raises(Exception, match="notes.png"):
        image_stream(tmp_path, image_size=(16, 16), on_error="raise").load()


def test_cache_is_written_on_the_first_pass_and_read_back(tmp_path):
    folder = _mixed_folder(tmp_path / "data", per_class=4)
    cache_dir = tmp_path / "cache"
    first = image_stream(folder, image_size=(20, 20), cache_dir=cache_dir, shuffle=False)
    x1, y1 = first.load()
    entry = first.dataset("train").image_cache
    assert entry.complete and os.path.isfile(os.path.join(entry.path, "manifest.json"))
    # A new stream of the same files reads the cache: the bytes on disk are what it returns.
    raw = np.fromfile(os.path.join(entry.path, "images.u8"), np.uint8).reshape((-1, 20, 20, 3))
    raw[:] = 7
    raw.tofile(os.path.join(entry.path, "images.u8"))
    second = image_stream(folder, image_size=(20, 20), cache_dir=cache_dir, shuffle=False)
    assert second.dataset("train").image_cache.complete
    x2, y2 = second.load()
    assert (x2 == 7).all() and np.array_equal(y1, y2)
    # Another size, or a touched file, is another entry: decoded again from the files.
    other = image_stream(folder, image_size=(12, 12), cache_dir=cache_dir, shuffle=False)
    assert not other.dataset("train").image_cache.complete
    touched = first.files()[0]
    os.utime(touched, ns=(os.stat(touched).st_atime_ns, os.stat(touched).st_mtime_ns + 10**9))
    third = image_stream(folder, image_size=(20, 20), cache_dir=cache_dir, shuffle=False)
    np.testing.assert_array_equal(third.load()[0], x1)


def test_cache_remembers_unreadable_files(tmp_path):
    _mixed_folder(tmp_path / "data", per_class=2)
    (tmp_path / "data" / "cat" / "bad.jpg").write_bytes(b"\xff\xd8broken")
    stream = image_stream(tmp_path / "data", image_size=(8, 8), cache_dir=tmp_path / "c", shuffle=False)
    stream.load()
    manifest = os.path.join(stream.dataset("train").image_cache.path, "manifest.json")
    with open(manifest) as handle:
        assert len(json.load(handle)["unreadable"]) == 1
    again = image_stream(tmp_path / "data", image_size=(8, 8), cache_dir=tmp_path / "c", shuffle=False)
    assert len(again.load()[0]) == 6 and [os.path.basename(p) for p, _ in again.skipped] == ["bad.jpg"]


def test_fine_tune_and_feature_extraction_take_the_streams(tmp_path):
    _mixed_folder(tmp_path / "data", per_class=6)
    stream = image_stream(tmp_path / "data", image_size=(32, 32), validation_size=3, batch_size=4, seed=0)
    name = kt.testing.register_tiny_backbone()
    backbone = kt.backbones.get(name, weights=None, input_shape=(32, 32), train_bn=False)
    model = kt.TransferModel(backbone, kt.ClassificationHead(3))
    history = kt.fine_tune(model, stream.train, validation=stream.validation, head_epochs=1, fine_tune_epochs=1,
                           verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["val_loss"]).all()
    assert model.predict(stream.validation, verbose=0).shape == (3, 3)
    ordered = stream.dataset("train", shuffle=False)
    cache = kt.features.extract(backbone, ordered, tmp_path / "features")
    assert not cache.hit and cache.load()[0].shape[0] == len(stream.labels("train"))
    assert kt.features.extract(backbone, ordered, tmp_path / "features").hit


def test_bad_arguments(tmp_path):
    _mixed_folder(tmp_path, per_class=2)
    with pytest.raises(InvalidConfigError, match="image_size=None"):
        image_stream(tmp_path, image_size=None)
    with pytest.raises(InvalidConfigError, match="channels"):
        image_stream(tmp_path, channels=2)
    with pytest.raises(InvalidInputError, match="does not exist"):
        image_stream(tmp_path / "missing")
    with pytest.raises(InvalidConfigError, match="batch_size"):
        file_dataset(["a.png"], batch_size=0)
    with pytest.raises(InvalidConfigError, match="split"):
        image_stream(tmp_path, image_size=(8, 8)).files("holdout")


_MEMORY_SCRIPT = textwrap.dedent("""
    import resource, sys
    import numpy as np
    from keras_transfer.data.image_stream import image_stream

    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    stream = image_stream(sys.argv[1], image_size=(160, 160), batch_size=16, shuffle=False)
    batches = iter(stream.train)
    for _ in range(3):  # warm up: TensorFlow's pools and the pipeline's buffers
        next(batches)
    start = peak_mb()
    count = 48 + sum(int(x.shape[0]) for x, _ in batches)
    print(count, peak_mb() - start)
""")


def test_peak_memory_stays_flat_while_streaming_a_folder_larger_than_the_budget(tmp_path):
    n, budget_mb = 400, 12.0
    for i in range(n):
        _photo(str(tmp_path / ("a" if i % 2 else "b") / f"{i}.jpg"), (200, 180), seed=i)
    decoded_mb = n * 160 * 160 * 3 / 2**20  # 29 MB decoded: more than twice the budget
    assert decoded_mb > 2 * budget_mb
    done = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, str(tmp_path)], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert done.returncode == 0, done.stderr[-2000:]
    count, growth = done.stdout.split()[-2:]
    assert int(count) == n
    assert float(growth) < budget_mb, f"peak RSS grew {growth} MB streaming {decoded_mb:.0f} MB of images"
