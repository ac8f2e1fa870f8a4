"""Audio data: checks for raw waveforms, a WAV-folder loader and synthetic signals (tones, chirps, noise)."""

from __future__ import annotations

import os
from typing import Optional

import numpy as np

from keras_transfer.checks import check_int, check_positive_number, is_number
from keras_transfer.data.arrays import _build_splits
from keras_transfer.errors import DatasetUnavailableError, InvalidConfigError, InvalidInputError

__all__ = ["validate_waveforms", "wav_folder", "resample", "synthetic_audio", "SYNTHETIC_TASKS"]

#: Synthetic tasks: "tones" (4 classes: pure tones at 4 pitches), "chirps" (3 classes: rising sweep,
#: falling sweep, band noise).
SYNTHETIC_TASKS = {
    "tones": ["220 Hz", "440 Hz", "880 Hz", "1760 Hz"],
    "chirps": ["rising", "falling", "noise"],
}


def validate_waveforms(x, *, what: str = "x", channels: int = 1, min_samples: int = 1,
                       num_samples: Optional[int] = None) -> np.ndarray:
    """Check raw float waveforms before an audio backbone sees them.

    Args:
        x: `np.ndarray` of floats, `(N, samples)` (mono) or `(N, samples, C)` channels last.
        what: `str`, the argument name used in error messages.
        channels: `int`, channels the model takes (1 = mono).
        min_samples: `int`, shortest clip accepted.
        num_samples: `int or None`, exact clip length required, if any.

    Returns:
        np.ndarray float32: ``(N, samples)`` when ``channels == 1``, else ``(N, samples, channels)``.

    Raises:
        TypeError: ``x`` is None, a string or a dict.
        keras_transfer.errors.InvalidInputError: no clips, zero-length or too short clips, a channel
            count other than ``channels`` (mono/stereo mismatch), integer PCM or non-numbers, NaN / inf.

    Examples:
    >>> keras_transfer.data.validate_waveforms(np.zeros((2, 16000), "float32")).shape
    (2, 16000)
    """
    arr = _float_waveforms(x, what)
    _check_waveform_layout(arr, channels, what)
    _check_clip_lengths(arr, min_samples, num_samples, what)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise InvalidInputError(
            f"`{what}` holds {int(bad.sum())} NaN / inf sample(s), e.g. in clip {int(np.argwhere(bad)[0][0])}. "
            f"Received: shape {arr.shape}. Repair or drop those clips."
        )
    arr = arr.astype(np.float32, copy=False)
    return arr[..., 0] if arr.ndim == 3 and channels == 1 else arr




def _float_waveforms(x, what):
    """`x` as one float array; ragged clips, integer PCM and non-numbers are refused."""
    if x is None or isinstance(x, (str, bytes, dict)):
        raise TypeError(
            f"`{what}` must be an array of waveforms (N, samples). Received: {what} of type {type(x).__name__}."
        )
    try:
        arr = np.asarray(x)
    except ValueError:
        raise InvalidInputError(
            f"`{what}` could not be made one array: the clips differ in length. Received: {what} of type "
            f"{type(x).__name__}. Pad or crop them to one length (keras_transfer.data.wav_folder(..., "
            "duration=1.0) does this)."
        ) from None
    if arr.dtype == object:
        raise InvalidInputError(
            f"`{what}` holds clips of different lengths or non-numbers. Received: {what} with dtype=object. "
            "Pad or crop the clips to one length and pass float arrays."
        )
    if arr.dtype.kind in "iu":
        raise InvalidInputError(
            f"`{what}` must be float waveforms in [-1, 1]. Received: dtype={arr.dtype}. Convert integer PCM "
            "first, e.g. x.astype('float32') / 32768 for int16."
        )
    if arr.dtype.kind != "f":
        raise InvalidInputError(f"`{what}` must be float waveforms. Received: dtype={arr.dtype}.")
    return arr


def _check_waveform_layout(arr, channels, what):
    """(N, samples) or (N, samples, channels), channels last, with the model's channel count."""
    if arr.ndim == 1:
        raise InvalidInputError(
            f"`{what}` must be a batch of waveforms (N, samples). Received: shape {arr.shape}. For one clip, "
            "add the batch axis: x[None]."
        )
    if arr.ndim == 3 and arr.shape[1] in (1, 2) and arr.shape[2] > 2:
        raise InvalidInputError(
            f"`{what}` looks channels-first. Received: shape {arr.shape}. Audio is channels last "
            "(N, samples, channels): use np.transpose(x, (0, 2, 1))."
        )
    if arr.ndim not in (2, 3):
        raise InvalidInputError(
            f"`{what}` must be waveforms (N, samples) or (N, samples, channels). Received: shape {arr.shape}."
        )
    found = 1 if arr.ndim == 2 else arr.shape[2]
    if found != channels:
        fix = ("average the channels: x.mean(axis=-1), or load with wav_folder(..., downmix=True)"
               if channels == 1 else f"the model takes {channels} channels")
        raise InvalidInputError(
            f"`{what}` has {found} channel(s) but the model takes {channels} "
            f"({'mono' if channels == 1 else 'stereo' if channels == 2 else f'{channels} channels'}). "
            f"Received: shape {arr.shape}. Convert it: {fix}."
        )


def _check_clip_lengths(arr, min_samples, num_samples, what):
    """At least one clip, none empty or shorter than min_samples, all num_samples long when it is set."""
    if len(arr) == 0:
        raise InvalidInputError(f"`{what}` holds no clips. Received: shape {arr.shape}.")
    if arr.shape[1] == 0:
        raise InvalidInputError(
            f"`{what}` holds zero-length clips. Received: shape {arr.shape}. Drop empty recordings."
        )
    if arr.shape[1] < min_samples:
        raise InvalidInputError(
            f"`{what}` clips are too short: {arr.shape[1]} samples, the front end needs at least {min_samples}. "
            f"Received: shape {arr.shape}. Pad them with zeros."
        )
    if num_samples is not None and arr.shape[1] != num_samples:
        raise InvalidInputError(
            f"`{what}` clips have {arr.shape[1]} samples but the model takes {num_samples}. Received: shape "
            f"{arr.shape}. Pad or crop them."
        )


def resample(waveform: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Band-limited (Fourier) resampling along axis 0, as ``scipy.signal.resample``.

    Args:
        waveform: `np.ndarray`, `(samples,)` or `(samples, channels)`.
        source_rate: `int`, in Hz.
        target_rate: `int`, in Hz.

    Returns:
        np.ndarray float32 with ``round(samples * target_rate / source_rate)`` samples.

    Raises:
        keras_transfer.errors.InvalidConfigError: a rate that is not a positive number.

    Examples:
    >>> keras_transfer.data.resample(np.zeros(8000, "float32"), 8000, 16000).shape
    (16000,)
    """
    for name, rate in (("source_rate", source_rate), ("target_rate", target_rate)):
        check_positive_number(name, rate, expected="a positive number of Hz")
    n = waveform.shape[0]
    m = int(round(n * target_rate / source_rate))
    if m == n:
        return waveform.astype(np.float32)
    spectrum = np.fft.rfft(waveform, axis=0)
    keep = min(spectrum.shape[0], m // 2 + 1)
    out = np.zeros((m // 2 + 1,) + spectrum.shape[1:], dtype=spectrum.dtype)
    out[:keep] = spectrum[:keep]
    return (np.fft.irfft(out, n=m, axis=0) * (m / n)).astype(np.float32)


def _decode(path: str):
    import tensorflow as tf

    try:
        audio, rate = tf.audio.decode_wav(tf.io.read_file(path))
    except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as error:
        raise InvalidInputError(
            f"Could not decode {path} as a WAV file ({error.message.splitlines()[0][:200]}). Received: {path}. "
            "tf.audio.decode_wav reads 16-bit PCM WAV; convert other formats first (e.g. ffmpeg -i in.mp3 out.wav)."
        ) from None
    return audio.numpy(), int(rate.numpy())


def wav_folder(directory, *, sample_rate: int = 16000, resample_to_rate: bool = False, channels: int = 1,
               downmix: bool = False, duration: Optional[float] = None, validation_size=0.1, test_size=0.2,
               n_per_class=None, seed=0):
    """Load ``directory/<class name>/*.wav`` into stratified splits of float waveforms.

    Files are decoded with ``tf.audio.decode_wav`` (floats in [-1, 1]). A file at another sample rate is
    refused unless ``resample_to_rate=True``; a stereo file for a mono dataset is refused unless
    ``downmix=True`` (channel average); empty files are refused. Clips are padded with zeros / cropped
    to ``duration`` seconds, or to the longest clip when ``duration`` is None.

    Args:
        directory: `str or path`, one sub-folder per class.
        sample_rate: `int`, the rate every clip must have (or is resampled to).
        resample_to_rate: `bool`, resample other rates instead of refusing them.
        channels: `int`, 1 (mono) or 2 (stereo).
        downmix: `bool`, average the channels of multi-channel files when ``channels=1``.
        duration: `float or None`, clip length in seconds.
        validation_size: `float` fraction or `int` count.
        test_size: `float` fraction or `int` count.
        n_per_class: `int or None`, training clips kept per class.
        seed: `int`, seed of the split.

    Returns:
        keras_transfer.data.Splits: x float32 ``(N, samples)`` (mono) or ``(N, samples, 2)``, y int64 ids.

    Raises:
        DatasetUnavailableError: the directory does not exist or holds no WAV files.
        InvalidInputError: an undecodable file, a wrong sample rate, a channel mismatch, an empty file.
        InvalidConfigError: bad arguments.

    Examples:
    >>> splits = keras_transfer.data.wav_folder("speech_commands/", duration=1.0)  # doctest: +SKIP
    """
    directory = os.fspath(directory)
    if channels not in (1, 2):
        raise InvalidConfigError(f"channels must be 1 (mono) or 2 (stereo). Received: channels={channels!r}.")
    if duration is not None and not (is_number(duration) and duration > 0):
        raise InvalidConfigError(f"duration must be a positive number of seconds or None. Received: {duration!r}.")
    if not os.path.isdir(directory):
        raise DatasetUnavailableError(f"No such directory. Received: directory={directory!r}.")
    class_names = sorted(d for d in os.listdir(directory) if os.path.isdir(os.path.join(directory, d)))
    clips, labels = [], []
    for class_id, name in enumerate(class_names):
        folder = os.path.join(directory, name)
        for file in sorted(f for f in os.listdir(folder) if f.lower().endswith(".wav")):
            clips.append(_read_clip(os.path.join(folder, file), sample_rate, resample_to_rate, channels, downmix))
            labels.append(class_id)
    if not clips:
        raise DatasetUnavailableError(
            f"No .wav files found under {directory}/<class name>/. Received: directory={directory!r} with "
            f"sub-folders {class_names[:10]}. Put each class's WAV files in its own sub-folder."
        )
    length = int(round(duration * sample_rate)) if duration is not None else max(len(c) for c in clips)
    return _build_splits(_pad_or_crop(clips, length, channels), np.asarray(labels, np.int64), class_names,
                         validation_size=validation_size, test_size=test_size, n_per_class=n_per_class, seed=seed,
                         source=os.path.basename(directory))


def _read_clip(path, sample_rate, resample_to_rate, channels, downmix):
    """One WAV file as float32 ``(samples, channels)`` at ``sample_rate``; empty files and mismatches refused."""
    audio, rate = _decode(path)
    if audio.shape[0] == 0:
        raise InvalidInputError(
            f"{path} holds no samples (zero-length audio). Received: an empty recording. Delete it or "
            "replace it with a real clip."
        )
    if rate != sample_rate:
        if not resample_to_rate:
            raise InvalidInputError(
                f"{path} has sample rate {rate} Hz but the dataset is {sample_rate} Hz. Received: "
                f"sample_rate={sample_rate}. Pass resample_to_rate=True to resample, or "
                f"sample_rate={rate} if all files use it."
            )
        audio = resample(audio, rate, sample_rate)
    if audio.shape[1] != channels:
        if channels == 1 and downmix:
            audio = audio.mean(axis=1, keepdims=True)
        else:
            fix = "Pass downmix=True to average the channels" if channels == 1 else "Use channels=1"
            raise InvalidInputError(
                f"{path} has {audio.shape[1]} channel(s) but the dataset is "
                f"{'mono' if channels == 1 else 'stereo'}. Received: channels={channels}. {fix}."
            )
    return audio


def _pad_or_crop(clips, length, channels):
    """Clips ``(samples, channels)`` into one zero-padded / cropped array ``(N, length[, channels])``."""
    x = np.zeros((len(clips), length, channels), np.float32)
    for i, clip in enumerate(clips):
        n = min(length, len(clip))
        x[i, :n] = clip[:n]
    return x[..., 0] if channels == 1 else x


def _synthetic_clip(task: str, label: int, rng, sample_rate: int, num_samples: int) -> np.ndarray:
    t = np.arange(num_samples) / sample_rate
    duration = num_samples / sample_rate
    if task == "tones":
        freq = 220.0 * 2 ** label * rng.uniform(0.97, 1.03)
        signal = np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))
        signal += 0.3 * np.sin(4 * np.pi * freq * t)  # a harmonic
    elif label == 2:  # band noise
        noise = rng.normal(size=num_samples)
        spectrum = np.fft.rfft(noise)
        freqs = np.fft.rfftfreq(num_samples, 1 / sample_rate)
        spectrum[(freqs < 300) | (freqs > 3000)] = 0
        signal = np.fft.irfft(spectrum, n=num_samples)
        signal /= np.abs(signal).max() + 1e-9
    else:  # linear sweeps between ~300 Hz and ~3 kHz
        low, high = rng.uniform(250, 400), rng.uniform(2500, 3500)
        f0, f1 = (low, high) if label == 0 else (high, low)
        phase = 2 * np.pi * (f0 * t + (f1 - f0) * t ** 2 / (2 * duration))
        signal = np.sin(phase)
    envelope = np.minimum(1.0, np.minimum(t, duration - t) / 0.01)  # 10 ms fades
    signal = signal * envelope * rng.uniform(0.3, 0.9)
    signal += rng.normal(scale=0.02, size=num_samples)
    return signal.astype(np.float32)


def synthetic_audio(task: str = "tones", *, n_per_class: int = 20, sample_rate: int = 16000,
                    duration: float = 0.5, validation_size=0.0, test_size=0.25, seed: int = 0):
    """Synthesised labelled clips for audio tests and examples (no labelled audio installs offline).

    Args:
        task: `str`, ``"tones"`` (4 pitches, with a harmonic and ±3 % detuning) or ``"chirps"`` (rising sweep,
            falling sweep, band-limited noise). Each clip has a random level, phase and faint white noise.
        n_per_class: `int`, clips per class (before splitting).
        sample_rate: `int`, in Hz.
        duration: `float`, seconds per clip.
        validation_size: `float` fraction or `int` count.
        test_size: `float` fraction or `int` count.
        seed: `int`, seed of the split.

    Returns:
        keras_transfer.data.Splits of float32 waveforms ``(N, samples)`` and int64 labels.

    Raises:
        InvalidConfigError: an unknown task or bad sizes.

    Examples:
    >>> splits = keras_transfer.data.synthetic_audio("chirps", n_per_class=4, duration=0.25)
    >>> splits.train[0].shape, splits.class_names
    ((9, 4000), ['rising', 'falling', 'noise'])
    """
    if task not in SYNTHETIC_TASKS:
        raise InvalidConfigError(
            f"Unknown synthetic task. Received: task={task!r}. Use one of {sorted(SYNTHETIC_TASKS)}."
        )
    check_int("n_per_class", n_per_class, minimum=1, expected="a positive int")
    num_samples = int(round(duration * sample_rate))
    if num_samples < 2:
        raise InvalidConfigError(f"duration is too short. Received: duration={duration!r}.")
    rng = np.random.default_rng(seed)
    names = SYNTHETIC_TASKS[task]
    labels = np.repeat(np.arange(len(names)), n_per_class)
    x = np.stack([_synthetic_clip(task, int(label), rng, sample_rate, num_samples) for label in labels])
    return _build_splits(x, labels.astype(np.int64), names, validation_size=validation_size, test_size=test_size,
                         n_per_class=None, seed=seed, source=f"synthetic {task}")
