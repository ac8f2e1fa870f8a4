"""Audio transfer: `AudioFrontEnd` (waveform → log-mel → MFCC) and `AudioBackbone` (a small CNN over it).

No labelled audio installs offline, and no pretrained audio weights either: an audio backbone is
pretrained on a source task by the user (``backbone.network.save_weights(path)``) and transferred with
``keras_transfer.backbones.get("audio_cnn", weights=path)``.
"""

import dataclasses
from typing import List, Optional

import keras
import numpy as np
from keras import ops

from keras_transfer.backbones.base import BaseBackbone, batch_norm_settings, input_length
from keras_transfer.backbones.layer_groups import LayerGroup
from keras_transfer.data.audio import validate_waveforms
from keras_transfer.checks import check_int
from keras_transfer.errors import InvalidConfigError, InvalidInputError, WeightsUnavailableError
from keras_transfer.weights import load_weights_file

__all__ = ["AudioFrontEnd", "AudioBackbone", "AudioBackboneSpec", "audio_specs", "dct_matrix"]


def dct_matrix(num_inputs: int, num_outputs: int) -> np.ndarray:
    """The orthonormal DCT-II as a ``(num_inputs, num_outputs)`` matrix: ``coefficients = x @ matrix``.

    ``matrix[n, k] = s_k cos(pi k (2n + 1) / (2 N))`` with ``s_0 = sqrt(1/N)``, ``s_k = sqrt(2/N)``
    (``scipy.fft.dct(x, type=2, norm="ortho")``).

    Args:
        num_inputs: int. N, the number of mel bins.
        num_outputs: int. Coefficients kept (the first ``num_outputs``).

    Returns:
        np.ndarray float64.

    Examples:
    >>> m = keras_transfer.backbones.audio.dct_matrix(4, 4)
    >>> bool(np.allclose(m.T @ m, np.eye(4)))
    True
    """
    n = np.arange(num_inputs)[:, None]
    k = np.arange(num_outputs)[None, :]
    matrix = np.cos(np.pi * k * (2 * n + 1) / (2 * num_inputs)) * np.sqrt(2.0 / num_inputs)
    matrix[:, 0] = np.sqrt(1.0 / num_inputs)
    return matrix


def _positive_int(name, value, minimum=1):
    return check_int(name, value, minimum=minimum)


@keras.saving.register_keras_serializable(package="keras_transfer")
class AudioFrontEnd(keras.layers.Layer):
    """Waveforms → log-mel spectrogram → MFCC (DCT-II of the log-mel bands), inside the model.

    Steps: a centred STFT (reflect padding by ``fft_length // 2``, periodic Hann window of
    ``frame_length`` samples, hop ``frame_step``) → power spectrum → HTK mel filterbank of ``num_mel_bins``
    triangles between ``lower_edge_hz`` and ``upper_edge_hz`` (``keras.layers.MelSpectrogram``) →
    ``log(mel + log_offset)`` → orthonormal DCT-II, first ``num_mfcc`` coefficients (``num_mfcc=None``
    returns the log-mel spectrogram). No weights: the same numbers in every mode.

    Args:
        sample_rate: int. Samples per second of the input.
        frame_length: int. Samples per analysis window (400 = 25 ms at 16 kHz).
        frame_step: int. Hop between windows (160 = 10 ms at 16 kHz).
        fft_length: int or None. FFT size >= frame_length; None takes the next power of two.
        num_mel_bins: int. Mel bands.
        num_mfcc: int or None. Cepstral coefficients kept (<= num_mel_bins); None outputs log-mel.
        lower_edge_hz: float. Lowest mel band edge.
        upper_edge_hz: float or None. Highest edge; None is sample_rate / 2.
        log_offset: float. Added before the log (keeps silence finite).
        **kwargs: base ``keras.layers.Layer`` arguments.

    Examples:
    >>> front_end = keras_transfer.backbones.AudioFrontEnd(sample_rate=16000, num_mfcc=13)
    >>> front_end(np.zeros((2, 16000), "float32")).shape
    TensorShape([2, 101, 13])
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        frame_length: int = 400,
        frame_step: int = 160,
        fft_length: Optional[int] = None,
        num_mel_bins: int = 40,
        num_mfcc: Optional[int] = 13,
        lower_edge_hz: float = 20.0,
        upper_edge_hz: Optional[float] = None,
        log_offset: float = 1e-6,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.sample_rate = _positive_int("sample_rate", sample_rate)
        self.frame_length = _positive_int("frame_length", frame_length, 2)
        self.frame_step = _positive_int("frame_step", frame_step)
        if fft_length is None:
            fft_length = 1 << (self.frame_length - 1).bit_length()
        self.fft_length = _positive_int("fft_length", fft_length, 2)
        if self.fft_length < self.frame_length:
            raise InvalidConfigError(
                f"fft_length must be >= frame_length. Received: fft_length={fft_length}, "
                f"frame_length={frame_length}. Use fft_length=None (the next power of two)."
            )
        self.num_mel_bins = _positive_int("num_mel_bins", num_mel_bins, 2)
        if num_mfcc is not None:
            num_mfcc = _positive_int("num_mfcc", num_mfcc)
            if num_mfcc > self.num_mel_bins:
                raise InvalidConfigError(
                    f"num_mfcc cannot exceed num_mel_bins. Received: num_mfcc={num_mfcc}, "
                    f"num_mel_bins={num_mel_bins}."
                )
        self.num_mfcc = num_mfcc
        nyquist = self.sample_rate / 2
        self.lower_edge_hz = float(lower_edge_hz)
        self.upper_edge_hz = float(nyquist if upper_edge_hz is None else upper_edge_hz)
        if not 0 <= self.lower_edge_hz < self.upper_edge_hz <= nyquist:
            raise InvalidConfigError(
                f"Mel band edges must satisfy 0 <= lower_edge_hz < upper_edge_hz <= sample_rate / 2 = {nyquist}. "
                f"Received: lower_edge_hz={lower_edge_hz}, upper_edge_hz={upper_edge_hz}."
            )
        if not log_offset > 0:
            raise InvalidConfigError(f"log_offset must be > 0. Received: log_offset={log_offset!r}.")
        self.log_offset = float(log_offset)
        self.mel = keras.layers.MelSpectrogram(
            fft_length=self.fft_length, sequence_stride=self.frame_step, sequence_length=self.frame_length,
            window="hann", sampling_rate=self.sample_rate, num_mel_bins=self.num_mel_bins,
            min_freq=self.lower_edge_hz, max_freq=self.upper_edge_hz, power_to_db=False, mag_exp=2.0,
            name="mel_spectrogram",
        )
        self._dct = dct_matrix(self.num_mel_bins, self.num_mfcc) if self.num_mfcc else None

    @property
    def num_features(self) -> int:
        """Features per frame: ``num_mfcc``, or ``num_mel_bins`` for log-mel output."""
        return self.num_mfcc or self.num_mel_bins

    @property
    def min_samples(self) -> int:
        """Shortest waveform the centred STFT accepts (reflect padding needs more than fft_length // 2)."""
        return self.fft_length // 2 + 1

    def num_frames(self, num_samples: int) -> int:
        """Frames produced for a waveform of ``num_samples`` samples.

        Args:
            num_samples: int.

        Returns:
            int: ``1 + num_samples // frame_step`` rounded as the centred STFT does.
        """
        return 1 + (num_samples + 2 * (self.fft_length // 2) - self.fft_length) // self.frame_step

    def compute_output_shape(self, input_shape):
        samples = input_shape[-1]
        frames = None if samples is None else self.num_frames(samples)
        return tuple(input_shape[:-1]) + (frames, self.num_features)

    def call(self, waveforms):
        waveforms = ops.cast(waveforms, "float32")
        mel = ops.swapaxes(self.mel(waveforms), -1, -2)  # (..., frames, mel bins)
        log_mel = ops.log(mel + self.log_offset)
        if self._dct is None:
            return log_mel
        return ops.matmul(log_mel, ops.convert_to_tensor(self._dct, "float32"))

    def get_config(self):
        config = super().get_config()
        config.update(
            sample_rate=self.sample_rate, frame_length=self.frame_length, frame_step=self.frame_step,
            fft_length=self.fft_length, num_mel_bins=self.num_mel_bins, num_mfcc=self.num_mfcc,
            lower_edge_hz=self.lower_edge_hz, upper_edge_hz=self.upper_edge_hz, log_offset=self.log_offset,
        )
        return config


def _build_audio_cnn(num_features: int, filters=(16, 32, 64)) -> keras.Model:
    """Three Conv-BN-ReLU blocks (stride 2) over ``(frames, features, 1)``: one layer group each."""
    inputs = keras.Input((None, num_features, 1), name="features")
    x = inputs
    for i, width in enumerate(filters, start=1):
        x = keras.layers.Conv2D(width, 3, strides=2, padding="same", use_bias=False, name=f"block{i}_conv")(x)
        # momentum 0.9: moving statistics settle within the few hundred steps small audio sets give.
        x = keras.layers.BatchNormalization(momentum=0.9, name=f"block{i}_bn")(x)
        x = keras.layers.ReLU(name=f"block{i}_relu")(x)
    return keras.Model(inputs, x, name="audio_cnn")


@keras.saving.register_keras_serializable(package="keras_transfer")
class AudioBackbone(BaseBackbone):
    """Raw mono waveforms → ``AudioFrontEnd`` (MFCC or log-mel) → small CNN → pooled features.

    Inputs: float waveforms ``(batch, samples)`` or ``(batch, samples, 1)`` at ``sample_rate``, values
    in ``[-1, 1]`` as ``tf.audio.decode_wav`` gives them. Features are normalised per example and per
    coefficient over time (cepstral mean and variance normalisation, no weights), then go through three
    Conv-BN-ReLU blocks (layer groups ``block1``, ``block2``, ``block3``) and global pooling.

    Args:
        backbone_name: str. Registry name (``"audio_cnn"``).
        weights: None (random initialisation) or a ``.weights.h5`` / ``.npz`` file saved from another
            audio backbone's ``network`` (e.g. trained on a source task).
        num_samples: int or None. Fixed clip length the backbone insists on; None accepts any length.
        pooling: ``"avg"`` or ``"max"``.
        mode: trainable mode.
        train_bn: bool or ``"auto"``. Let BatchNorm train when unfrozen; ``"auto"`` (default): only when
            ``weights=None`` (training from scratch needs it).
        front_end: dict of ``AudioFrontEnd`` arguments (``sample_rate``, ``num_mfcc``, ...).
        filters: tuple of 3 ints. Channels of the three blocks.
        weights_source: str or None.
        bn_momentum: float in ``[0, 1)`` or None. BatchNorm momentum; None keeps the network's own, except that
            ``train_bn="auto"`` with ``weights=None`` uses ``SCRATCH_BN_MOMENTUM`` (0.9) so the running
            statistics keep up with weights trained from scratch.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Examples:
    >>> backbone = keras_transfer.backbones.get("audio_cnn", weights=None)
    >>> backbone(np.zeros((2, 8000), "float32")).shape
    TensorShape([2, 64])
    >>> [group.name for group in backbone.layer_groups]
    ['block1', 'block2', 'block3']
    """

    input_kind = "audio"

    def __init__(
        self,
        backbone_name: str = "audio_cnn",
        weights=None,
        num_samples: Optional[int] = None,
        pooling: str = "avg",
        mode="frozen",
        train_bn="auto",
        front_end: Optional[dict] = None,
        filters=(16, 32, 64),
        weights_source: Optional[str] = None,
        bn_momentum=None,
        **kwargs,
    ):
        kwargs.setdefault("name", backbone_name)
        super().__init__(**batch_norm_settings(train_bn, weights, bn_momentum), **kwargs)
        if pooling not in ("avg", "max"):
            raise InvalidConfigError(f"Unknown pooling. Received: pooling={pooling!r}. Use 'avg' or 'max'.")
        if weights in ("imagenet", "pretrained", True):
            raise WeightsUnavailableError(
                f"No pretrained weights ship for the audio backbone {backbone_name!r}. Received: weights={weights!r}. "
                "Train it on a source task, save backbone.network.save_weights('source.weights.h5'), then pass "
                "weights='source.weights.h5'; or use weights=None."
            )
        self.backbone_name = backbone_name
        self.pooling = pooling
        self.front_end_config = dict(front_end or {})
        self.front_end = AudioFrontEnd(**self.front_end_config, name="front_end")
        self.sample_rate = self.front_end.sample_rate
        self.num_samples = None if num_samples is None else _positive_int("num_samples", num_samples)
        if self.num_samples is not None and self.num_samples < self.front_end.min_samples:
            raise InvalidConfigError(
                f"num_samples must be at least {self.front_end.min_samples} for this front end. "
                f"Received: num_samples={num_samples}."
            )
        self.filters = tuple(int(f) for f in filters)
        if len(self.filters) != 3:
            raise InvalidConfigError(f"filters must be 3 ints (one per block). Received: filters={filters!r}.")
        self.network = _build_audio_cnn(self.front_end.num_features, self.filters)
        if weights is not None:
            load_weights_file(self.network, weights)
        if weights_source is None:
            weights_source = "random initialisation" if weights is None else f"file {weights}"
        self.weights_source = weights_source
        self._init_groups(self._split_groups(), mode)

    def _split_groups(self) -> List[LayerGroup]:
        groups = []
        for layer in self.network.layers:
            if isinstance(layer, keras.layers.InputLayer):
                continue
            name = layer.name.split("_")[0]
            if groups and groups[-1].name == name:
                groups[-1].layers.append(layer)
            else:
                groups.append(LayerGroup(name, [layer]))
        return groups

    @property
    def output_dim(self) -> int:
        """Channels of the last block."""
        return int(self.network.output.shape[-1])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_dim)

    def _check_call_shape(self, shape):
        shape = tuple(shape)
        if len(shape) == 3 and shape[-1] not in (1, None):
            raise InvalidInputError(
                f"Audio backbone {self.backbone_name!r} takes mono waveforms. Received: inputs of shape {shape} "
                f"({shape[-1]} channels). Average the channels first (x.mean(axis=-1)) or load the files with "
                "keras_transfer.data.wav_folder(..., downmix=True)."
            )
        if len(shape) not in (2, 3):
            raise InvalidInputError(
                f"Audio backbone {self.backbone_name!r} takes waveforms shaped (batch, samples) or "
                "(batch, samples, 1). "
                f"Received: inputs of shape {shape}. Add the batch axis with x[None] for a single clip."
            )
        samples = shape[1]
        if samples is not None and samples < self.front_end.min_samples:
            raise InvalidInputError(
                f"Audio backbone {self.backbone_name!r} needs at least {self.front_end.min_samples} samples per clip "
                f"({self.front_end.min_samples / self.sample_rate:.3f} s at {self.sample_rate} Hz). Received: inputs "
                f"of shape {shape}. Pad short clips with zeros."
            )
        if self.num_samples is not None and samples is not None and samples != self.num_samples:
            raise InvalidInputError(
                f"Audio backbone {self.backbone_name!r} was built for clips of {self.num_samples} samples. Received: "
                f"inputs of shape {shape}. Pad or crop the clips, or build it with num_samples=None."
            )

    def build(self, input_shape):
        self._check_call_shape(input_shape)
        self.built = True

    def features(self, waveforms):
        """Normalised front-end features ``(batch, frames, num_features, 1)`` for raw waveforms.

        Args:
            waveforms: float tensor ``(batch, samples)`` or ``(batch, samples, 1)``.

        Returns:
            float32 tensor.
        """
        self._check_call_shape(waveforms.shape)
        if len(waveforms.shape) == 3:
            waveforms = ops.squeeze(waveforms, axis=-1)
        x = self.front_end(ops.cast(waveforms, "float32"))
        mean = ops.mean(x, axis=1, keepdims=True)
        std = ops.sqrt(ops.mean(ops.square(x - mean), axis=(1, 2), keepdims=True) + 1e-6)
        return ops.expand_dims((x - mean) / std, -1)

    def call(self, inputs, training=None):
        maps = self.network(self.features(inputs), training=self._network_training(training))
        if self.pooling == "max":
            return ops.max(maps, axis=(1, 2))
        return ops.mean(maps, axis=(1, 2))

    def validate_inputs(self, x, what: str = "x"):
        """Check raw waveforms before training (``keras_transfer.data.validate_waveforms``).

        Args:
            x: float array ``(N, samples)`` or ``(N, samples, 1)``.
            what: str. The argument name used in error messages.

        Returns:
            np.ndarray float32 ``(N, samples)``.
        """
        return validate_waveforms(
            x, what=what, channels=1, min_samples=self.front_end.min_samples, num_samples=self.num_samples
        )

    def _check_x_spec(self, x_spec, what: str) -> None:
        dtype = getattr(x_spec, "dtype", None)
        shape = getattr(x_spec, "shape", None)
        if dtype is None or not dtype.is_floating:
            raise InvalidInputError(
                f"`{what}` must yield float waveforms for an audio backbone. Received: x spec={x_spec}. "
                "Decode WAV files with tf.audio.decode_wav (floats in [-1, 1]) or divide int16 PCM by 32768."
            )
        if shape is not None and shape.rank is not None:
            self._check_call_shape(tuple(shape))

    def get_config(self):
        config = super().get_config()
        config.update(
            backbone_name=self.backbone_name, weights=None, num_samples=self.num_samples, pooling=self.pooling,
            front_end=self.front_end_config, filters=list(self.filters), weights_source=self.weights_source,
        )
        return config


@dataclasses.dataclass(frozen=True)
class AudioBackboneSpec:
    """A registered audio backbone: a front end configuration and a CNN.

    Args:
        name: str. Registry name.
        family: str. Human-readable description.
        front_end: dict. ``AudioFrontEnd`` arguments.
        filters: tuple of 3 ints.
        imagenet_source: str. Where pretrained weights come from (none ship).

    Examples:
    >>> keras_transfer.backbones.get_spec("audio_cnn").input_kind
    'audio'
    """

    name: str
    family: str
    front_end: dict = dataclasses.field(default_factory=dict)
    filters: tuple = (16, 32, 64)
    imagenet_source: str = "none (train on a source task, then pass weights=<file>)"
    input_kind: str = "audio"
    min_size: int = 257

    @property
    def input_description(self) -> str:
        """Input and preprocessing, for registry tables."""
        rate = self.front_end.get("sample_rate", 16000)
        return f"mono waveforms at {rate} Hz | MFCC / log-mel front end"

    def create(self, weights="imagenet", input_shape=None, pooling="avg", trainable="frozen", train_bn="auto"):
        """Build the ``AudioBackbone``. ``input_shape=(num_samples,)`` fixes the clip length.

        Args:
            weights: None or a weights file (``"imagenet"`` raises: no pretrained audio weights ship).
            input_shape: None, an int or ``(num_samples,)``.
            pooling: ``"avg"`` or ``"max"``.
            trainable: trainable mode.
            train_bn: bool or ``"auto"`` (BatchNorm trains only when ``weights=None``).

        Returns:
            AudioBackbone.
        """
        num_samples = input_length(input_shape, kind="audio", name=self.name, axis="num_samples",
                                   fix="Pass e.g. input_shape=(16000,) or None (any length).")
        return AudioBackbone(
            self.name, weights=weights, num_samples=num_samples, pooling=pooling, mode=trainable,
            train_bn=train_bn, front_end=dict(self.front_end), filters=self.filters,
        )


def audio_specs() -> List[AudioBackboneSpec]:
    """The built-in registered audio backbones.

    Returns:
        list of AudioBackboneSpec.
    """
    return [
        AudioBackboneSpec(
            "audio_cnn",
            "MFCC (13 of 40 mel bands, 16 kHz, 25 ms / 10 ms) + 3-block CNN",
            front_end=dict(sample_rate=16000, frame_length=400, frame_step=160, num_mel_bins=40, num_mfcc=13),
        )
    ]
