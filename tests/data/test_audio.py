"""Audio data: validate_waveforms, the WAV-folder loader (rates, channels, empty files), synthetic signals."""

import numpy as np
import pytest
import tensorflow as tf

import keras_transfer.data as data
from keras_transfer.errors import DatasetUnavailableError, InvalidInputError


def _write_wav(path, samples, rate):
    path.parent.mkdir(parents=True, exist_ok=True)
    samples = np.asarray(samples, np.float32)
    audio = tf.constant(samples if samples.ndim == 2 else samples[:, None])
    path.write_bytes(tf.audio.encode_wav(audio, rate).numpy())


def _folder(tmp_path, rate=8000, n=3):
    t = np.arange(rate // 4) / rate
    for i in range(n):
        _write_wav(tmp_path / "low" / f"{i}.wav", 0.5 * np.sin(2 * np.pi * 300 * t), rate)
        _write_wav(tmp_path / "high" / f"{i}.wav", 0.5 * np.sin(2 * np.pi * 2000 * t[: rate // 8]), rate)
    (tmp_path / "low" / "notes.txt").write_text("not audio")
    return tmp_path


def test_wav_folder_loads_pads_and_splits(tmp_path):
    splits = data.wav_folder(_folder(tmp_path), sample_rate=8000, validation_size=0, test_size=2)
    x, y = splits.train
    assert splits.class_names == ["high", "low"] and x.shape == (4, 2000) and x.dtype == np.float32
    high = x[y == 0][0]
    assert np.abs(high[:1000]).max() > 0.4 and np.all(high[1000:] == 0)  # short clips padded with zeros
    fixed = data.wav_folder(tmp_path, sample_rate=8000, duration=0.1, validation_size=0, test_size=0)
    assert fixed.train[0].shape == (6, 800)


def test_wrong_rate_refused_unless_resampling(tmp_path):
    _folder(tmp_path, rate=8000)
    with pytest.raises(InvalidInputError, match=r"sample rate 8000 Hz but the dataset is 16000 Hz.*resample_to_rate"):
        data.wav_folder(tmp_path, sample_rate=16000)
    splits = data.wav_folder(tmp_path, sample_rate=16000, resample_to_rate=True, validation_size=0, test_size=0)
    x = splits.train[0][splits.train[1] == 1][0]
    assert x.shape == (4000,)
    spectrum = np.abs(np.fft.rfft(x))
    assert abs(np.argmax(spectrum) * 16000 / 4000 - 300) <= 4  # the 300 Hz tone survives resampling


def test_channel_mismatch_and_empty_files(tmp_path):
    stereo = np.stack([np.sin(np.arange(800) / 5), np.zeros(800)], axis=1) * 0.5
    _write_wav(tmp_path / "a" / "stereo.wav", stereo, 8000)
    with pytest.raises(InvalidInputError, match="2 channel.*mono.*downmix=True"):
        data.wav_folder(tmp_path, sample_rate=8000)
    mixed = data.wav_folder(tmp_path, sample_rate=8000, downmix=True, validation_size=0, test_size=0)
    np.testing.assert_allclose(mixed.train[0][0], stereo.mean(axis=1), atol=1e-4)
    _write_wav(tmp_path / "a" / "empty.wav", np.zeros((0, 2)), 8000)
    with pytest.raises(InvalidInputError, match="zero-length"):
        data.wav_folder(tmp_path, sample_rate=8000, downmix=True)
    broken = tmp_path / "broken"
    _write_wav(broken / "a" / "ok.wav", np.zeros(800), 8000)
    (broken / "a" / "broken.wav").write_bytes(b"RIFF0000WAVEjunk")
    with pytest.raises(InvalidInputError, match="Could not decode .*broken.wav as a WAV file"):
        data.wav_folder(broken, sample_rate=8000)
    (tmp_path / "nothing" / "class_a").mkdir(parents=True)
    with pytest.raises(DatasetUnavailableError, match="No .wav files"):
        data.wav_folder(tmp_path / "nothing", sample_rate=8000)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((2, 100, 2), "float32"), "2 channel.*mono"),
        (np.zeros((2, 2, 100), "float32"), "channels-first"),
        (np.zeros((2, 0), "float32"), "zero-length"),
        (np.zeros((2, 10), "float32"), "too short"),
        (np.zeros((2, 100), "int16"), "32768"),
        (np.zeros(100, "float32"), "x\\[None\\]"),
    ],
)
def test_validate_waveforms_refuses(bad, message):
    with pytest.raises(InvalidInputError, match=message):
        data.validate_waveforms(bad, min_samples=50)


def test_synthetic_tasks_are_separable_signals():
    tones = data.synthetic_audio("tones", n_per_class=3, duration=0.25, test_size=0)
    x, y = tones.train
    assert x.shape == (12, 4000) and tones.class_names == ["220 Hz", "440 Hz", "880 Hz", "1760 Hz"]
    peaks = [np.argmax(np.abs(np.fft.rfft(clip))) * 4 for clip in x]  # 4 Hz per bin at 16 kHz / 4000
    for clip_peak, label in zip(peaks, y):
        assert abs(clip_peak / (220 * 2 ** label) - 1) < 0.05
    chirps = data.synthetic_audio("chirps", n_per_class=2, duration=0.25, seed=3, test_size=0)
    assert chirps.class_names == ["rising", "falling", "noise"] and np.isfinite(chirps.train[0]).all()
    again = data.synthetic_audio("chirps", n_per_class=2, duration=0.25, seed=3, test_size=0)
    np.testing.assert_array_equal(again.train[0], chirps.train[0])
