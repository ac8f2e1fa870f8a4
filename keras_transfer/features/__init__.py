"""Sequential training: extract backbone features once, cache them on disk, train the head on the cache.

- ``extract(backbone, data, cache_dir, views=0)`` → ``FeatureCache`` (hit, miss, rebuild by fingerprint);
  ``runner="beam"`` runs it as an Apache Beam pipeline (``beam_extract``), same cache format.
- ``train_head(model, train, validation, cache_dir=...)``: stage 1 on cached features, then ``stitch``.
- ``keras_transfer.fine_tune(..., cache_dir=...)`` uses both for its head stage.
"""

from keras_transfer.features.cache import default_view_augmentation, prepare_cache_dir
from keras_transfer.features.feature_cache import FeatureCache
from keras_transfer.features.fingerprint import data_hash, fingerprint, fingerprint_key, weights_hash
from keras_transfer.features.rebuild_warning import CacheRebuildWarning
from keras_transfer.features.runners import extract
from keras_transfer.features.sequential import (
    DEFAULT_VIEWS_WITH_AUGMENTATION,
    check_cached_training,
    head_model,
    stitch,
    train_head,
)

# Public names; the fingerprint helpers, default_view_augmentation, prepare_cache_dir, head_model,
# check_cached_training and DEFAULT_VIEWS_WITH_AUGMENTATION stay importable from here too.
__all__ = [
    "CacheRebuildWarning",
    "FeatureCache",
    "extract",
    "stitch",
    "train_head",
]
