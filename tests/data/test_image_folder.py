import io
import logging
import os

import numpy as np
import pytest
from PIL import Image

import keras_transfer
from keras_transfer.data import image_folder
from keras_transfer.errors import InvalidConfigError, InvalidInputError

RED, GREEN, BLUE = (200, 10, 10), (10, 200, 10), (10, 10, 200)


def _save(path, color=RED, size=(12, 10), mode="RGB", fmt=None, **kwargs):
    """Write a solid-colour image of `size` (width, height)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if mode == "L":
        color = color[0] if isinstance(color, tuple) else color
    Image.new(mode, size, color).save(path, format=fmt, **kwargs)
    return path


def _png_bytes(size=(16, 16)):
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _two_classes(root, n=3, size=(12, 10)):
    for i in range(n):
        _save(root / "red" / f"r{i}.png", RED, size)
        _save(root / "blue" / f"b{i}.jpg", BLUE, size)
    return root


def test_loads_classes_sorted_with_matching_labels(tmp_path):
    _two_classes(tmp_path)
    splits = keras_transfer.data.image_folder(tmp_path, image_size=(8, 6))
    assert splits.class_names == ["blue", "red"]
    x, y = splits.train
    assert x.shape == (6, 8, 6, 3) and x.dtype == np.uint8 and y.dtype == np.int64
    # Each image's dominant colour matches its label.
    dominant = x.reshape(len(x), -1, 3).mean(axis=1).argmax(axis=1)  # 0 = red, 2 = blue
    np.testing.assert_array_equal(dominant, np.where(y == 1, 0, 2))
    assert splits.skipped == []
    assert "image folder" in splits.summary()


def test_mixed_sizes_resized(tmp_path):
    _save(tmp_path / "a" / "1.png", RED, (30, 20))
    _save(tmp_path / "a" / "2.png", RED, (7, 9))
    _save(tmp_path / "b" / "3.png", BLUE, (64, 64))
    splits = image_folder(tmp_path, image_size=(16, 24))
    assert splits.train[0].shape == (3, 16, 24, 3)


def test_mixed_sizes_without_image_size_names_both_files(tmp_path):
    _save(tmp_path / "a" / "1.png", RED, (30, 20))
    _save(tmp_path / "b" / "2.png", BLUE, (7, 9))
    with pytest.raises(InvalidInputError) as e:
        image_folder(tmp_path, image_size=None)
    msg = str(e.value)
    assert "1.png" in msg and "2.png" in msg
    assert "20x30" in msg and "9x7" in msg and "image_size=(height, width)" in msg


def test_same_sizes_without_image_size_keep_size(tmp_path):
    _two_classes(tmp_path, size=(12, 10))
    splits = image_folder(tmp_path, image_size=None)
    assert splits.train[0].shape == (6, 10, 12, 3)


def _bad_files(root):
    _two_classes(root)
    (root / "red" / "garbage.jpg").write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(200))
    good_jpg = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(good_jpg, "JPEG")
    (root / "red" / "cut.jpg").write_bytes(good_jpg.getvalue()[: len(good_jpg.getvalue()) // 2])
    png = _png_bytes()
    (root / "blue" / "truncated.png").write_bytes(png[: len(png) // 2])
    (root / "blue" / "notes.jpg").write_text("this is not an image\n")
    return {"garbage.jpg", "cut.jpg", "truncated.png", "notes.jpg"}


def test_bad_files_skipped_counted_and_logged(tmp_path, caplog):
    bad = _bad_files(tmp_path)
    with caplog.at_level(logging.WARNING, logger="keras_transfer.data.image_folder"):
        splits = image_folder(tmp_path, image_size=(8, 8))
    assert {os.path.basename(p) for p, _ in splits.skipped} == bad
    reasons = dict((os.path.basename(p), r) for p, r in splits.skipped)
    assert "UnidentifiedImageError" in reasons["notes.jpg"]
    assert "truncated" in reasons["truncated.png"].lower()
    assert len(splits.train[1]) == 6
    assert "skipped 4 unreadable file(s)" in caplog.text


def test_bad_file_raises_with_on_error_raise(tmp_path):
    _two_classes(tmp_path)
    (tmp_path / "blue" / "notes.jpg").write_text("this is not an image\n")
    with pytest.raises(InvalidInputError) as e:
        image_folder(tmp_path, on_error="raise")
    assert "notes.jpg" in str(e.value) and "on_error='skip'" in str(e.value)


def test_class_with_only_unreadable_files(tmp_path):
    _save(tmp_path / "a" / "1.png", RED)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x.png").write_bytes(b"not a png")
    with pytest.raises(InvalidInputError, match=r"no readable image: \['b'\]"):
        image_folder(tmp_path)


def test_grey_and_rgb_channels(tmp_path):
    _save(tmp_path / "grey" / "g.png", 77, mode="L")
    _save(tmp_path / "grey" / "g2.bmp", 77, mode="L")
    _save(tmp_path / "rgb" / "c.png", GREEN)
    rgb = image_folder(tmp_path, image_size=(4, 4), channels=3)
    x, y = rgb.train
    assert x.shape[-1] == 3
    grey = x[y == 0]
    assert (grey == 77).all()  # grey replicated to three equal channels
    one = image_folder(tmp_path, image_size=(4, 4), channels=1)
    assert one.train[0].shape == (3, 4, 4, 1)
    assert (one.train[0][one.train[1] == 0] == 77).all()
    auto = image_folder(tmp_path, image_size=(4, 4), channels=None)
    assert auto.train[0].shape[-1] == 3  # mixed: grey converted to RGB
    np.testing.assert_array_equal(auto.train[0], x)


def test_all_grey_with_channels_none_keeps_one_channel(tmp_path):
    _save(tmp_path / "a" / "1.png", 10, mode="L")
    _save(tmp_path / "b" / "2.png", 250, mode="L")
    splits = image_folder(tmp_path, image_size=(5, 5), channels=None)
    assert splits.train[0].shape == (2, 5, 5, 1)


def test_formats_gif_first_frame_webp_bmp_rgba(tmp_path):
    frames = [Image.new("RGB", (8, 8), RED), Image.new("RGB", (8, 8), BLUE)]
    (tmp_path / "anim").mkdir()
    frames[0].save(tmp_path / "anim" / "a.gif", save_all=True, append_images=frames[1:])
    _save(tmp_path / "anim" / "b.webp", RED, (8, 8), lossless=True)
    _save(tmp_path / "other" / "c.BMP", BLUE, (8, 8), fmt="BMP")
    _save(tmp_path / "other" / "d.png", (10, 10, 200, 128), (8, 8), mode="RGBA")
    splits = image_folder(tmp_path, image_size=None)
    x, y = splits.train
    assert x.shape == (4, 8, 8, 3)
    anim = x[y == 0].reshape(2, -1, 3).mean(axis=1)
    assert (anim.argmax(axis=1) == 0).all()  # both red: the GIF's first frame


def test_ignores_hidden_and_non_image_files_and_recurses(tmp_path):
    _two_classes(tmp_path, n=1)
    (tmp_path / "red" / "readme.txt").write_text("hello")
    (tmp_path / "red" / ".hidden.png").write_bytes(b"junk")
    _save(tmp_path / "red" / "nested" / "deep.png", RED)
    (tmp_path / ".ipynb_checkpoints").mkdir()
    splits = image_folder(tmp_path)
    assert splits.class_names == ["blue", "red"]
    assert np.bincount(splits.train[1]).tolist() == [1, 2]
    assert splits.skipped == []


def test_stratified_splits_and_n_per_class(tmp_path):
    _two_classes(tmp_path, n=10, size=(4, 4))
    splits = image_folder(tmp_path, image_size=None, validation_size=0.2, test_size=4,
                          n_per_class=3, seed=5)
    assert np.bincount(splits.validation[1]).tolist() == [2, 2]
    assert np.bincount(splits.test[1]).tolist() == [2, 2]
    assert np.bincount(splits.train[1]).tolist() == [3, 3]


def test_path_errors(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist.*Received: path="):
        image_folder(tmp_path / "nope")
    f = tmp_path / "data.zip"
    f.write_bytes(b"PK")
    with pytest.raises(InvalidInputError, match="it is a file.*extract it first"):
        image_folder(f)
    empty = tmp_path / "empty"
    empty.mkdir()
    _save(empty / "loose.png")
    with pytest.raises(InvalidInputError, match=r"no class sub-folders.*1 image file\(s\) directly"):
        image_folder(empty)
    with pytest.raises(TypeError, match="Received: path=3"):
        image_folder(3)


def test_empty_class_folders_named(tmp_path):
    _two_classes(tmp_path)
    (tmp_path / "cow").mkdir()
    (tmp_path / "zebra").mkdir()
    (tmp_path / "zebra" / "notes.txt").write_text("x")
    with pytest.raises(InvalidInputError, match=r"2 class folder\(s\) hold no image files.*\['cow', 'zebra'\]"):
        image_folder(tmp_path)


def test_single_class(tmp_path):
    _save(tmp_path / "only" / "1.png")
    with pytest.raises(InvalidInputError, match=r"at least 2 classes.*\['only'\]"):
        image_folder(tmp_path)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(on_error="ignore"), r"must be one of \['skip', 'raise'\]. Received: on_error='ignore'"),
        (dict(channels=4), r"must be one of \[1, 3, None\].*Received: channels=4"),
        (dict(image_size=224), r"Received: image_size=224"),
        (dict(image_size=(0, 5)), r"Received: image_size=\(0, 5\)"),
        (dict(test_size=2.0), r"Received: test_size=2.0"),
    ],
)
def test_invalid_config(tmp_path, kwargs, pattern):
    _two_classes(tmp_path, n=1)
    with pytest.raises(InvalidConfigError, match=pattern):
        image_folder(tmp_path, **kwargs)
