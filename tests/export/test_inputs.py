"""keras_transfer.export.inputs: image / WAV / text readers and labelled data sources."""

import wave

import numpy as np
import pytest
from PIL import Image

from keras_transfer.errors import InvalidInputError
from keras_transfer.export import fit_images, load_labelled_data, read_images, read_text_lines, read_wav


def test_read_images_converts_channels_and_checks_size(tmp_path):
    Image.fromarray(np.full((10, 12, 3), 200, "uint8")).save(tmp_path / "rgb.png")
    grey, = read_images([tmp_path / "rgb.png"], (10, 12, 1))
    assert grey.shape == (10, 12, 1) and grey.dtype == np.uint8 and grey[0, 0, 0] == 200
    with pytest.raises(InvalidInputError, match=r"takes 28x28 images.*size 10x12.*--resize"):
        read_images([tmp_path / "rgb.png"], (28, 28, 3))
    assert read_images([tmp_path / "rgb.png"], (28, 28, 3), resize=True)[0].shape == (28, 28, 3)
    assert read_images([tmp_path / "rgb.png"])[0].shape == (10, 12, 3)  # any size
    (tmp_path / "bad.png").write_text("not an image")
    with pytest.raises(InvalidInputError, match="Cannot read this image"):
        read_images([tmp_path / "bad.png"])


def test_fit_images():
    x = np.zeros((2, 8, 8, 1), "uint8")
    assert fit_images(x, (8, 8, 3)).shape == (2, 8, 8, 3)
    assert fit_images(np.zeros((2, 8, 8, 3), "uint8"), (8, 8, 1)).shape == (2, 8, 8, 1)
    with pytest.raises(InvalidInputError, match="--resize"):
        fit_images(x, (16, 16, 1))
    assert fit_images(x, (16, 16, 1), resize=True).shape == (2, 16, 16, 1)
    assert fit_images(x, None) is x


def test_read_wav_and_text(tmp_path):
    samples = (np.sin(np.linspace(0, 20, 800)) * 16000).astype("<i2")
    with wave.open(str(tmp_path / "a.wav"), "wb") as handle:
        handle.setnchannels(2)
        handle.setsampwidth(2)
        handle.setframerate(8000)
        handle.writeframes(np.repeat(samples, 2).tobytes())
    audio, rate = read_wav(tmp_path / "a.wav")
    assert rate == 8000 and audio.shape == (800,) and np.allclose(audio, samples / 32768.0)
    (tmp_path / "b.wav").write_text("nope")
    with pytest.raises(InvalidInputError, match="Cannot read this WAV"):
        read_wav(tmp_path / "b.wav")
    (tmp_path / "t.txt").write_text("first line\n\nsecond\n")
    assert read_text_lines(tmp_path / "t.txt") == ["first line", "second"]


def test_labelled_sources(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((5, 4, 4, 1), "uint8"), y=np.arange(5) % 2, class_names=["a", "b"])
    x, y, names = load_labelled_data(str(tmp_path / "d.npz"), limit=3)
    assert x.shape == (3, 4, 4, 1) and list(y) == [0, 1, 0] and names == ["a", "b"]
    for name, value in (("cat", 30), ("dog", 220)):
        (tmp_path / "folder" / name).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(np.full((6, 6), value, "uint8")).save(tmp_path / "folder" / name / f"{i}.png")
    x, y, names = load_labelled_data(str(tmp_path / "folder"))
    assert x.shape == (4, 6, 6, 1) and sorted(y.tolist()) == [0, 0, 1, 1] and names == ["cat", "dog"]
    x, y, names = load_labelled_data("digits", "test", limit=7)
    assert x.shape == (7, 8, 8, 1) and len(names) == 10
    with pytest.raises(InvalidInputError, match="Unknown data source"):
        load_labelled_data("no_such_data")
