"""Bad inputs through the Python API: each one gets an error of our hierarchy (or ValueError / TypeError) that
says what was received and how to fix it, raised before any training or writing work is lost."""

import errno
import io
import json
import os
import urllib.error
import wave

import keras
import numpy as np
import pytest
from PIL import Image

import keras_transfer as kt
from keras_transfer import errors
from keras_transfer.testing import register_tiny_backbone

# How the fix is worded: an instruction, the required form, or the names to choose from.
FIX_WORDS = ("Use ", "Pass ", "pass ", "Fix ", "Add ", "Remove ", "Map ", "Delete ", "Choose ", "Call ", "Free ",
             "Save ", "Drop ", "raise ", "Load ", "replace ", "Make ", "Convert ", "must ", "expected ", "Did you mean",
             "Available ")


def assert_helpful(error):
    """Our hierarchy (or a plain ValueError / TypeError), naming what was received and a fix."""
    assert isinstance(error, (errors.KerasTransferError, ValueError, TypeError)), type(error)
    message = str(error)
    assert "Received" in message, message
    assert any(word in message for word in FIX_WORDS), message


def raises_helpful(kind, fn, match=None):
    with pytest.raises(kind, match=match) as info:
        fn()
    assert_helpful(info.value)
    return info.value


# ----------------------------------------------------------------------------------------------- fixtures
def _png(size=(8, 8), mode="RGB"):
    buffer = io.BytesIO()
    Image.new(mode, size, 128).save(buffer, "PNG")
    return buffer.getvalue()


def _folder(root, spec):
    for cls, files in spec.items():
        (root / cls).mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            (root / cls / name).write_bytes(content)
    return root


@pytest.fixture
def model16():
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(16, 16))
    return kt.TransferModel(backbone, kt.ClassificationHead(3, dropout=0.0))


@pytest.fixture
def data16():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (6, 16, 16, 3), dtype=np.uint8), np.arange(6) % 3


# ----------------------------------------------------------------------------------------------- image folders
def test_corrupt_image_in_a_folder_is_named(tmp_path):
    root = _folder(tmp_path, {"a": {"1.png": _png(), "2.png": b"not an image"}, "b": {"1.png": _png()}})
    error = raises_helpful(errors.InvalidInputError, lambda: kt.data.image_folder(root, image_size=(8, 8),
                                                                                   on_error="raise"))
    assert "2.png" in str(error) and "on_error='skip'" in str(error)


def test_truncated_image_in_a_folder_is_named(tmp_path):
    root = _folder(tmp_path, {"a": {"1.png": _png(), "cut.png": _png()[:40]}, "b": {"1.png": _png()}})
    error = raises_helpful(errors.InvalidInputError, lambda: kt.data.image_folder(root, image_size=(8, 8),
                                                                                   on_error="raise"))
    assert "cut.png" in str(error)


def test_corrupt_images_are_skipped_and_counted_by_default(tmp_path, caplog):
    root = _folder(tmp_path, {"a": {"1.png": _png(), "2.png": b"xx"}, "b": {"1.png": _png()}})
    splits = kt.data.image_folder(root, image_size=(8, 8))
    assert len(splits.train[0]) == 2 and len(splits.skipped) == 1
    assert "skipped 1 unreadable" in caplog.text


def test_mixed_sizes_and_channel_counts_load_to_one_shape(tmp_path):
    root = _folder(tmp_path, {"a": {"1.png": _png((5, 9)), "2.png": _png((8, 8), "L")},
                              "b": {"1.png": _png((12, 8), "RGBA")}})
    x, _ = kt.data.image_folder(root, image_size=(8, 8)).train
    assert x.shape == (3, 8, 8, 3)


def test_empty_folder(tmp_path):
    raises_helpful(errors.InvalidInputError, lambda: kt.data.image_folder(tmp_path, image_size=(8, 8)),
                   match="no class sub-folders")


def test_class_folders_without_images(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    raises_helpful(errors.InvalidInputError, lambda: kt.data.image_folder(tmp_path, image_size=(8, 8)),
                   match="hold no image files")


def test_a_single_class(tmp_path):
    root = _folder(tmp_path, {"only": {"1.png": _png()}})
    raises_helpful(errors.InvalidInputError, lambda: kt.data.image_folder(root, image_size=(8, 8)),
                   match="at least 2 classes")


# ----------------------------------------------------------------------------------------------- arrays into fine_tune
@pytest.mark.parametrize("case", [
    "labels_out_of_range", "nan_images", "inf_images", "string_images", "rank_1_images", "float_labels",
    "string_labels", "length_mismatch", "validation_channels",
])
def test_bad_training_arrays_fail_before_training(case, model16, data16):
    x, y = data16
    bad = {
        "labels_out_of_range": lambda: kt.fine_tune(model16, (x, y + 5), verbose=0),
        "nan_images": lambda: kt.fine_tune(model16, (np.full(x.shape, np.nan, "float32"), y), verbose=0),
        "inf_images": lambda: kt.fine_tune(model16, (np.where(x > 200, np.inf, x).astype("float32"), y), verbose=0),
        "string_images": lambda: kt.fine_tune(model16, (x.astype(str), y), verbose=0),
        "rank_1_images": lambda: kt.fine_tune(model16, (np.array([None] * 6, dtype=object), y), verbose=0),
        "float_labels": lambda: kt.fine_tune(model16, (x, y + 0.5), verbose=0),
        "string_labels": lambda: kt.fine_tune(model16, (x, np.array(["cat", "dog", "cow"] * 2)), verbose=0),
        "length_mismatch": lambda: kt.fine_tune(model16, (x, y[:4]), verbose=0),
        "validation_channels": lambda: kt.fine_tune(model16, (x, y), validation=(x[..., :2], y), verbose=0),
    }[case]
    raises_helpful(errors.InvalidInputError, bad)
    assert getattr(model16, "optimizer", None) is None  # raised before any compile or fit


# ----------------------------------------------------------------------------------------------- unknown names
@pytest.mark.parametrize("case, kind, match", [
    ("backbone", errors.UnknownBackboneError, "Did you mean 'mobilenet_v2'"),
    ("optimizer", errors.InvalidConfigError, "Unknown optimizer"),
    ("augmentation", errors.InvalidConfigError, "Unknown augmentation preset"),
    ("dataset", errors.InvalidConfigError, "Did you mean 'animal_mnist'"),
    ("unfreeze", errors.InvalidConfigError, "Unknown unfreeze policy"),
    ("lr_policy", errors.InvalidConfigError, "Unknown learning-rate policy"),
])
def test_unknown_names(case, kind, match, model16, data16):
    bad = {
        "backbone": lambda: kt.backbones.get("mobilenet_v9"),
        "optimizer": lambda: kt.fine_tune(model16, data16, optimizer="adamx", verbose=0),
        "augmentation": lambda: kt.augmentation.get("mediumm"),
        "dataset": lambda: kt.data.load_dataset("animal_mnistt"),
        "unfreeze": lambda: kt.fine_tune(model16, data16, unfreeze="some", verbose=0),
        "lr_policy": lambda: kt.fine_tune(model16, data16, lr="fast", verbose=0),
    }[case]
    raises_helpful(kind, bad, match=match)


def test_offline_imagenet_weights_name_the_offline_alternatives(monkeypatch):
    def offline(*args, **kwargs):
        try:
            raise urllib.error.URLError("[Errno -2] Name or service not known")
        except urllib.error.URLError as cause:
            raise Exception("URL fetch failure on https://storage.googleapis.com/...: None") from cause

    import keras.src.utils.file_utils as file_utils

    monkeypatch.setattr(file_utils, "get_file", offline)
    error = raises_helpful(errors.WeightsUnavailableError,
                           lambda: kt.backbones.get("mobilenet_v3_small", input_shape=(32, 32)))
    assert "mobilenet_v2" in str(error) and "weights=None" in str(error)


# ----------------------------------------------------------------------------------------------- text and audio
def test_text_that_is_not_utf8(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_bytes("text,label\ncafé was good,1\nbad,0\n".encode("latin-1"))
    raises_helpful(errors.InvalidInputError, lambda: kt.data.csv_text(path), match="encoding='latin-1'")


def _wav(path, samples):
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(16000)
        f.writeframes(np.asarray(samples, "<i2").tobytes())


def test_empty_audio_file(tmp_path):
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        _wav(tmp_path / cls / "clip.wav", [])
    raises_helpful(errors.InvalidInputError, lambda: kt.data.wav_folder(tmp_path), match="no samples")


def test_empty_waveform_arrays():
    raises_helpful(errors.InvalidInputError, lambda: kt.data.validate_waveforms(np.zeros((2, 0), "float32")),
                   match="zero-length")


# ----------------------------------------------------------------------------------------------- more training
def test_num_classes_mismatch_when_loading_a_model_for_more_training(tmp_path, model16, data16):
    model16.compile("adam")
    model16.predict(data16[0], verbose=0)
    model16.save(tmp_path / "m.keras")
    error = raises_helpful(errors.InvalidConfigError, lambda: kt.load_model(tmp_path / "m.keras", num_classes=5))
    assert "ClassificationHead(5)" in str(error)
    loaded = kt.load_model(tmp_path / "m.keras", num_classes=3)
    # Without num_classes=, the labels check names the mismatch before training.
    raises_helpful(errors.InvalidInputError, lambda: kt.fine_tune(loaded, (data16[0], np.arange(6) % 5), verbose=0),
                   match="raise num_classes to 5")


def test_num_classes_mismatch_when_resuming_from_a_checkpoint(tmp_path, model16, data16):
    kt.fine_tune(model16, data16, head_epochs=1, fine_tune_epochs=0, checkpoint_dir=tmp_path, verbose=0)
    five = kt.TransferModel(kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(16, 16)),
                            kt.ClassificationHead(5))
    error = raises_helpful(errors.InvalidConfigError, lambda: kt.fine_tune(
        five, data16, head_epochs=1, fine_tune_epochs=0, checkpoint_dir=tmp_path, verbose=0))
    assert "num_classes=5 (checkpoint: 3)" in str(error)


def test_truncated_keras_file(tmp_path, model16, data16):
    model16.predict(data16[0], verbose=0)
    model16.save(tmp_path / "m.keras")
    (tmp_path / "cut.keras").write_bytes((tmp_path / "m.keras").read_bytes()[:700])
    raises_helpful(errors.CorruptWeightsError, lambda: kt.load_model(tmp_path / "cut.keras"), match="truncated")
    raises_helpful(errors.InvalidInputError, lambda: kt.load_model(tmp_path / "missing.keras"))


# ----------------------------------------------------------------------------------------------- output directories
def test_unwritable_checkpoint_directory_fails_before_training(tmp_path, model16, data16):
    blocker = tmp_path / "a_file"
    blocker.write_text("in the way")
    error = raises_helpful(errors.CheckpointError, lambda: kt.fine_tune(
        model16, data16, checkpoint_dir=blocker / "run", verbose=0))
    assert isinstance(error, OSError)
    assert getattr(model16, "optimizer", None) is None  # raised before any compile or fit


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_checkpoint_directory(tmp_path, model16, data16):
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o500)
    try:
        raises_helpful(errors.CheckpointError, lambda: kt.fine_tune(model16, data16, checkpoint_dir=read_only,
                                                                     verbose=0))
    finally:
        read_only.chmod(0o700)


def test_disk_full_during_export_leaves_nothing_behind(tmp_path, model16, data16, monkeypatch):
    model16.predict(data16[0], verbose=0)

    def disk_full(self, filepath, *args, **kwargs):
        with open(os.path.join(os.path.dirname(filepath), "partial.bin"), "wb") as f:
            f.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device", filepath)

    monkeypatch.setattr(keras.Model, "export", disk_full)
    with pytest.raises(errors.ExportError) as info:  # an OSError too, with the errno kept
        kt.export_model(model16, tmp_path / "out" / "model.tflite", format="tflite", parity_data=data16[0],
                        verbose=False)
    assert info.value.errno == errno.ENOSPC and "No space left on device" in str(info.value)
    assert "Received: path=" in str(info.value) and "free disk space" in str(info.value)
    assert not (tmp_path / "out" / "model.tflite").exists()
    assert list((tmp_path / "out").iterdir()) == []  # the staging directory and its partial file are gone


def test_disk_full_during_a_checkpoint_keeps_the_previous_one_and_resumes(tmp_path, model16, data16, monkeypatch):
    from keras_transfer.training import checkpoint

    real_write, calls = checkpoint._write_npz, []

    def fills_up(path, arrays):
        calls.append(path)
        if len(calls) == 3:  # epoch 2's weights: epoch 1's checkpoint (2 files) is complete
            with open(path, "wb") as f:
                f.write(b"PK\x03\x04 half a file")
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real_write(path, arrays)

    monkeypatch.setattr(checkpoint, "_write_npz", fills_up)
    error = raises_helpful(errors.CheckpointError, lambda: kt.fine_tune(
        model16, data16, head_epochs=3, fine_tune_epochs=0, checkpoint_dir=tmp_path, seed=0, verbose=0))
    assert "Free disk space" in str(error) and "epoch-0001" in str(error)
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["next_epoch"] == 1 and not list(tmp_path.glob("*.tmp"))
    monkeypatch.setattr(checkpoint, "_write_npz", real_write)
    history = kt.fine_tune(model16, data16, head_epochs=3, fine_tune_epochs=0, checkpoint_dir=tmp_path, seed=0,
                           verbose=0)
    assert history.epoch == [0, 1, 2]


def test_corrupt_checkpoint_state(tmp_path, model16, data16):
    (tmp_path / "state.json").write_text("{ not json")
    raises_helpful(errors.CheckpointError, lambda: kt.fine_tune(model16, data16, checkpoint_dir=tmp_path, verbose=0))
