"""Pretrained feature extractors as Keras layers, and their registry."""

from keras_transfer.backbones.backbone import Backbone, ImageBackbone, parse_trainable_mode
from keras_transfer.backbones.audio import AudioBackbone, AudioFrontEnd
from keras_transfer.backbones.base import (
    INPUT_KINDS,
    SCRATCH_BN_MOMENTUM,
    BaseBackbone,
    batch_norm_settings,
    resolve_train_bn,
)
from keras_transfer.backbones.layer_groups import LayerGroup, split_into_groups
from keras_transfer.backbones.registry import get, get_spec, list_backbones, register
from keras_transfer.backbones.spec import PREPROCESSING_MODES, BackboneSpec
from keras_transfer.backbones.text import TextBackbone
from keras_transfer.backbones.word_vectors import WordVectorBackbone

__all__ = [
    "AudioBackbone",
    "AudioFrontEnd",
    "Backbone",
    "ImageBackbone",
    "BackboneSpec",
    "BaseBackbone",
    "SCRATCH_BN_MOMENTUM",
    "batch_norm_settings",
    "INPUT_KINDS",
    "LayerGroup",
    "PREPROCESSING_MODES",
    "get",
    "get_spec",
    "list_backbones",
    "parse_trainable_mode",
    "register",
    "resolve_train_bn",
    "split_into_groups",
    "TextBackbone",
    "WordVectorBackbone",
]
