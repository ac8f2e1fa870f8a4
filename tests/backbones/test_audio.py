"""AudioFrontEnd parity with a numpy MFCC, and an audio backbone that trains, saves, reloads and transfers."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
import keras_transfer.data  # noqa: F401  (kt.data)
from keras_transfer.backbones import AudioFrontEnd
from keras_transfer.errors import InvalidConfigError, InvalidInputError, WeightsUnavailableError


def _numpy_mfcc(x, sr, frame_length, frame_step, fft_length, num_mel_bins, num_mfcc, low, high, offset):
    """Reference: centred STFT (reflect pad), periodic Hann, power, HTK mel triangles, log, orthonormal DCT-II."""
    pad = fft_length // 2
    x = np.pad(x.astype(np.float64), ((0, 0), (pad, pad)), mode="reflect")
    n_frames = 1 + (x.shape[1] - fft_length) // frame_step
    window = np.zeros(fft_length)
    left = (fft_length - frame_length) // 2
    window[left:left + frame_length] = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(frame_length) / frame_length)
    frames = np.stack([x[:, i * frame_step:i * frame_step + fft_length] for i in range(n_frames)], axis=1)
    power = np.abs(np.fft.rfft(frames * window, axis=-1)) ** 2
    mel = lambda f: 1127.0 * np.log(1.0 + f / 700.0)  # noqa: E731
    bins = mel(np.linspace(0, sr / 2, fft_length // 2 + 1))
    edges = np.linspace(mel(low), mel(high), num_mel_bins + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins[:, None] - lower) / (center - lower)
    falling = (upper - bins[:, None]) / (upper - center)
    weights = np.maximum(0, np.minimum(rising, falling))
    weights[0] = 0.0  # HTK: no DC bin
    log_mel = np.log(power @ weights + offset)
    if num_mfcc is None:
        return log_mel
    n = np.arange(num_mel_bins)
    dct = np.array([np.cos(np.pi * k * (2 * n + 1) / (2 * num_mel_bins)) for k in range(num_mfcc)]).T
    scale = np.full(num_mfcc, np.sqrt(2.0 / num_mel_bins))
    scale[0] = np.sqrt(1.0 / num_mel_bins)
    return (log_mel @ dct) * scale


@pytest.mark.parametrize(
    "config",
    [
        dict(sample_rate=16000, frame_length=400, frame_step=160, num_mel_bins=40, num_mfcc=13),
        dict(sample_rate=8000, frame_length=256, frame_step=128, fft_length=256, num_mel_bins=24, num_mfcc=None,
             lower_edge_hz=100.0, upper_edge_hz=3500.0),
    ],
)
def test_front_end_matches_numpy_reference(config):
    splits = kt.data.synthetic_audio("chirps", n_per_class=1, sample_rate=config["sample_rate"], duration=0.3,
                                     test_size=0)
    x = splits.train[0]
    layer = AudioFrontEnd(**config)
    ours = keras.ops.convert_to_numpy(layer(x))
    reference = _numpy_mfcc(
        x, config["sample_rate"], config["frame_length"], config["frame_step"], layer.fft_length,
        config["num_mel_bins"], config["num_mfcc"], layer.lower_edge_hz, layer.upper_edge_hz, layer.log_offset,
    )
    assert ours.shape == reference.shape == (len(x), layer.num_frames(x.shape[1]), layer.num_features)
    relative = np.linalg.norm(ours - reference) / np.linalg.norm(reference)
    assert relative <= 1e-3, relative
    restored = AudioFrontEnd.from_config(layer.get_config())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(restored(x)), ours, rtol=1e-6, atol=1e-6)


def test_front_end_config_errors():
    with pytest.raises(InvalidConfigError, match="num_mfcc cannot exceed"):
        AudioFrontEnd(num_mel_bins=10, num_mfcc=20)
    with pytest.raises(InvalidConfigError, match="fft_length must be >= frame_length"):
        AudioFrontEnd(frame_length=400, fft_length=256)
    with pytest.raises(InvalidConfigError, match="upper_edge_hz"):
        AudioFrontEnd(sample_rate=8000, upper_edge_hz=6000.0)


def test_waveform_model_trains_saves_reloads_and_transfers(tmp_path):
    source = kt.data.synthetic_audio("tones", n_per_class=6, duration=0.25, test_size=0, seed=1)
    backbone = kt.backbones.get("audio_cnn", weights=None, trainable="full", train_bn=True)
    assert backbone.input_kind == "audio" and [g.name for g in backbone.layer_groups] == ["block1", "block2", "block3"]
    model = kt.TransferModel(backbone, kt.ClassificationHead(4, dropout=0.0))
    history = kt.fine_tune(model, source.train, head_epochs=0, fine_tune_epochs=2, fine_tune_lr=1e-2,
                           batch_size=8, train_bn=True, verbose=0)
    assert len(history.epoch) == 2 and np.isfinite(history.history["loss"]).all()
    x = source.train[0]
    before = keras.ops.convert_to_numpy(model(x))
    model.save(tmp_path / "audio.keras")
    loaded = keras.saving.load_model(tmp_path / "audio.keras", safe_mode=True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)), before, atol=1e-5)
    assert loaded.backbone.mode == "full" and loaded.backbone.train_bn
    # Transfer: the trained network's weights seed a backbone for another task (frozen features equal).
    path = tmp_path / "tones.weights.h5"
    backbone.network.save_weights(path)
    target = kt.backbones.get("audio_cnn", weights=str(path))
    assert target.weights_source == f"file {path}" and target.mode == "frozen"
    np.testing.assert_allclose(keras.ops.convert_to_numpy(target(x)), keras.ops.convert_to_numpy(backbone(x)),
                               atol=1e-5)


def test_bad_audio_is_refused_with_clear_errors():
    backbone = kt.backbones.get("audio_cnn", weights=None)
    with pytest.raises(InvalidInputError, match="mono waveforms"):
        backbone(np.zeros((2, 4000, 2), "float32"))
    with pytest.raises(InvalidInputError, match="at least 257 samples"):
        backbone(np.zeros((2, 100), "float32"))
    model = kt.TransferModel(backbone, kt.ClassificationHead(2))
    y = np.array([0, 1])
    for bad, message in [
        (np.zeros((2, 4000, 2), "float32"), "2 channel.*mono"),
        (np.zeros((2, 0), "float32"), "zero-length"),
        (np.zeros((2, 4000), "int16"), "Convert integer PCM"),
        (np.full((2, 4000), np.nan, "float32"), "NaN"),
    ]:
        with pytest.raises(InvalidInputError, match=message):
            kt.fine_tune(model, (bad, y), head_epochs=1, fine_tune_epochs=0, verbose=0)
    with pytest.raises(WeightsUnavailableError, match="No pretrained weights"):
        kt.backbones.get("audio_cnn")
    fixed = kt.backbones.get("audio_cnn", weights=None, input_shape=(4000,))
    with pytest.raises(InvalidInputError, match="clips of 4000 samples"):
        fixed(np.zeros((1, 3000), "float32"))
