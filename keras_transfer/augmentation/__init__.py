"""In-model augmentation: image presets and ops, MixUp / CutMix, SpecAugment, token masking, previews.

Every layer here is active only in training and returns its input unchanged at inference, so saved and
exported models contain no random ops.

- ``get(preset_or_config, seed=None)``: an ``AugmentationPipeline`` from ``"none" | "light" | "medium" |
  "strong"`` or a list / dict of ops (``list_ops()``).
- ``RandomResizedCrop``: Inception-style crop + resize in core Keras ops.
- ``MixUpCutMix``: label mixing as a batch / dataset transform (``fine_tune(..., mixup=0.2, cutmix=1.0)``).
- ``SpecAugment``: time / frequency masks for spectrograms; ``RandomTokenMask``: token-id masking for text.
- ``preview(augmentation, images, path)``: a PNG grid of augmented samples.
"""

from keras_transfer.augmentation.compatibility import check_augmentation_target
from keras_transfer.augmentation.gaussian_noise import RandomGaussianNoise
from keras_transfer.augmentation.keras_cv_resized_crop import KerasCVRandomResizedCrop
from keras_transfer.augmentation.mixing import MixUpCutMix
from keras_transfer.augmentation.pipeline import AugmentationPipeline
from keras_transfer.augmentation.presets import OPS, PRESETS, get, list_ops, list_presets
from keras_transfer.augmentation.preview import preview
from keras_transfer.augmentation.random_resized_crop import RandomResizedCrop
from keras_transfer.augmentation.spec_augment import SpecAugment
from keras_transfer.augmentation.token_masking import RandomTokenMask

__all__ = [
    "OPS",
    "PRESETS",
    "AugmentationPipeline",
    "KerasCVRandomResizedCrop",
    "MixUpCutMix",
    "RandomGaussianNoise",
    "RandomResizedCrop",
    "RandomTokenMask",
    "SpecAugment",
    "check_augmentation_target",
    "get",
    "list_ops",
    "list_presets",
    "preview",
]
