"""Augmentation on a model whose inputs are not images is refused with a clear message."""

import keras
import pytest

import keras_transfer as kt
from keras_transfer.augmentation import RandomTokenMask, SpecAugment, check_augmentation_target, get
from keras_transfer.backbones.backbone import Backbone
from keras_transfer.errors import InvalidConfigError


class _TextKind(Backbone):
    input_kind = "text"


class _AudioKind(Backbone):
    input_kind = "audio"


def _backbone(cls=Backbone):
    from keras_transfer.testing import register_tiny_backbone

    return cls(register_tiny_backbone(), weights=None, input_shape=(32, 32))


def test_augmentation_on_a_text_model_is_refused():
    with pytest.raises(InvalidConfigError, match="text model.*RandomTokenMask"):
        kt.TransferModel(_backbone(_TextKind), kt.ClassificationHead(2), augmentation=get("light"))
    with pytest.raises(InvalidConfigError, match="input_kind='text'"):
        check_augmentation_target(_backbone(_TextKind), RandomTokenMask(mask_token_id=1))


def test_audio_models_take_spec_augment_after_the_front_end_only():
    with pytest.raises(InvalidConfigError, match="SpecAugment after the spectrogram front end"):
        check_augmentation_target(_backbone(_AudioKind), SpecAugment())
    with pytest.raises(InvalidConfigError, match="waveforms"):
        check_augmentation_target(_backbone(_AudioKind), get("light"))
    check_augmentation_target(_backbone(_AudioKind), keras.layers.GaussianNoise(0.1))  # a waveform layer is fine


def test_spectrogram_and_token_layers_are_refused_on_images():
    with pytest.raises(InvalidConfigError, match="SpecAugment does not apply to images"):
        kt.TransferModel(_backbone(), kt.ClassificationHead(2), augmentation=SpecAugment())
    check_augmentation_target(_backbone(), get("strong"))
