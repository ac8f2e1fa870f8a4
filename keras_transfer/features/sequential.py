"""Sequential training: train the head on cached features, then stitch it back onto the backbone."""

from typing import Optional, Sequence

import keras
import numpy as np

from keras_transfer.errors import InvalidConfigError, KerasTransferError
from keras_transfer.features.cache import extract, prepare_cache_dir
from keras_transfer.optimizers.factory import make_optimizer

__all__ = ["DEFAULT_VIEWS_WITH_AUGMENTATION", "check_cached_training", "head_model", "stitch", "train_head"]

#: Augmented views cached per example when the model has an augmentation layer and no ``views`` is given.
DEFAULT_VIEWS_WITH_AUGMENTATION = 4
#: Largest |stitched(x) - head(cached features)| accepted after stitching (float32 arithmetic noise is ~1e-7).
STITCH_TOLERANCE = 1e-4


def check_cached_training(model, train, cache_dir) -> str:
    """Fail early, before any work, when cached head training cannot run.

    Args:
        model: TransferModel.
        train: the training data given to ``fine_tune``.
        cache_dir: str or os.PathLike.

    Returns:
        str: the usable cache directory.

    Raises:
        InvalidConfigError: ``train`` is a ``keras.utils.PyDataset`` (not cacheable), or the model's backbone
            returns feature maps the head cannot take.
        CacheDirectoryError: ``cache_dir`` is not writable.
    """
    if isinstance(train, keras.utils.PyDataset):
        raise InvalidConfigError(
            "cache_dir needs arrays or a tf.data.Dataset to extract features from. Received: train of type "
            f"{type(train).__name__} (a keras.utils.PyDataset). Pass (x, y) arrays or a tf.data.Dataset, or "
            "drop cache_dir."
        )
    return prepare_cache_dir(cache_dir)


def head_model(head, feature_shape) -> keras.Model:
    """A functional model ``features -> head(features)`` sharing the head's layer (and weights).

    Args:
        head: the head layer of a TransferModel.
        feature_shape: tuple. Shape of one example's features.

    Returns:
        keras.Model. Training it trains the TransferModel's head in place.

    Examples:
    >>> head = keras_transfer.heads.ClassificationHead(3)
    >>> keras_transfer.features.head_model(head, (1280,)).output_shape
    (None, 3)
    """
    inputs = keras.Input(tuple(feature_shape), name="cached_features")
    return keras.Model(inputs, head(inputs), name=f"{head.name}_on_features")


def stitch(model, cache, tolerance: float = STITCH_TOLERANCE) -> float:
    """Put the trained head back behind the backbone and prove the result computes the same function.

    The head trained on cached features is the TransferModel's own head layer (shared weights), so
    stitching builds the model end to end and compares ``model(raw probe images)`` with
    ``head(cached features of those images)``.

    Args:
        model: TransferModel whose head was trained on ``cache``.
        cache: FeatureCache of the training data.
        tolerance: float. Largest accepted absolute difference.

    Returns:
        float: the largest absolute difference found.

    Raises:
        KerasTransferError: the stitched model disagrees with the head on cached features by more than
            ``tolerance`` (the cache was not made by this backbone).

    Examples:
    >>> # after keras_transfer.features.train_head(model, (x, y), cache_dir="/tmp/cache", epochs=1)
    >>> # keras_transfer.features.stitch(model, cache) -> 1.2e-07
    """
    images, features = cache.probe()
    stitched = keras.ops.convert_to_numpy(model(images, training=False))
    direct = keras.ops.convert_to_numpy(model.head(features, training=False))
    diff = float(np.max(np.abs(stitched.astype("float64") - direct.astype("float64"))))
    if not diff <= tolerance:
        raise KerasTransferError(
            f"The stitched model does not reproduce the head on cached features: max |diff| = {diff:.3g} > "
            f"{tolerance:g}. Received: cache {cache.path} (backbone {cache.fingerprint['backbone']!r}). The "
            "backbone no longer computes the cached features; delete the entry and extract again."
        )
    return diff


def _resolve_views(model, views):
    if views is None:
        return DEFAULT_VIEWS_WITH_AUGMENTATION if getattr(model, "augmentation", None) is not None else 0
    return views


def _caches(model, train, validation, cache_dir, views, batch_size, verbose):
    """The training features' cache and the validation features as a dataset (None without validation)."""
    show = verbose not in (0, False)  # a progress bar while extracting, like fit's
    train_cache = extract(model.backbone, train, cache_dir, views, augmentation=model.augmentation, verbose=show)
    if not train_cache.has_labels:
        raise InvalidConfigError(
            "Training the head needs labels. Received: images without labels. Pass (x, y) or a dataset of "
            "(images, labels) batches."
        )
    validation_data = None
    if validation is not None:
        validation_cache = extract(model.backbone, validation, cache_dir, 0, verbose=show)
        validation_data = validation_cache.as_dataset(batch_size, shuffle=False, view=0)
    return train_cache, validation_data


def train_head(
    model, train, validation=None, *, cache_dir, epochs: int = 5, optimizer="adam", learning_rate: float = 1e-3,
    loss=None, metrics=None, batch_size: int = 32, callbacks: Optional[Sequence[keras.callbacks.Callback]] = None,
    verbose="auto", views: Optional[int] = None, initial_epoch: int = 0, shuffle: bool = True,
    seed: Optional[int] = None,
) -> keras.callbacks.History:
    """Stage 1 of sequential training: extract (or reuse) cached features, train the head on them, stitch.

    The backbone runs once per example (and once per augmented view); each head epoch then reads the
    cache only. The head is the model's own layer, so afterwards ``model`` (compiled with the same
    optimizer, loss and metrics) predicts exactly as the head did on the cached features.

    Args:
        model: TransferModel (backbone, head, optional augmentation).
        train: ``(x, y)`` arrays (numpy or memmap) or a batched ``tf.data.Dataset`` of ``(x, y)``.
        validation: same forms, or None. Its clean features are cached too.
        cache_dir: str or os.PathLike. Where entries live (see ``keras_transfer.features.extract``).
        epochs: int. Head epochs.
        optimizer: name (built at ``learning_rate``), ``keras.optimizers.Optimizer`` instance (used as is)
            or ``learning_rate -> optimizer`` callable.
        learning_rate: float. Learning rate when ``optimizer`` is not an instance.
        loss: loss or None (the head's default).
        metrics: list or None (the head's defaults).
        batch_size: int. Training batch size (the same as uncached training).
        callbacks: Keras callbacks; they see a model ``features -> head`` during this stage.
        verbose: passed to ``fit``.
        views: int or None. Augmented views cached per example; None means 0 without augmentation and
            ``DEFAULT_VIEWS_WITH_AUGMENTATION`` (4) when ``model.augmentation`` is set (views made by it).
            Each epoch draws one augmented view per example.
        initial_epoch: int. Epoch to start counting from.
        shuffle: bool. Reshuffle each epoch.
        seed: int or None. Shuffling / view-choice seed.

    Returns:
        keras.callbacks.History whose ``model`` is ``model``; ``history.feature_cache`` is the FeatureCache.

    Raises:
        InvalidConfigError, InvalidInputError, CacheDirectoryError: see ``extract``.
        KerasTransferError: the stitch check failed (see ``stitch``).

    Examples:
    >>> import numpy as np
    >>> name = keras_transfer.testing.register_tiny_backbone()  # or "mobilenet_v2", ...
    >>> backbone = keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32))
    >>> model = keras_transfer.TransferModel(backbone, keras_transfer.ClassificationHead(2))
    >>> x, y = np.random.randint(0, 255, (16, 28, 28, 1), "uint8"), np.arange(16) % 2
    >>> history = keras_transfer.features.train_head(model, (x, y), cache_dir="/tmp/kt-cache", epochs=2, verbose=0)
    >>> history.epoch
    [0, 1]
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise InvalidConfigError(f"epochs must be an int ≥ 1. Received: epochs={epochs!r}.")
    check_cached_training(model, train, cache_dir)
    head = model.head
    train_cache, validation_data = _caches(model, train, validation, cache_dir, _resolve_views(model, views),
                                           batch_size, verbose)
    if isinstance(optimizer, str) or not isinstance(optimizer, keras.optimizers.Optimizer):
        optimizer = make_optimizer(optimizer, learning_rate)
    if loss is None:
        loss = head.default_loss()
    if metrics is None:
        metrics = head.default_metrics()
    on_features = head_model(head, train_cache.feature_shape)
    on_features.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    history = on_features.fit(  # shuffle=False: the cache's dataset reshuffles itself every epoch
        train_cache.as_dataset(batch_size, shuffle=shuffle, seed=seed, view="random"), epochs=initial_epoch + epochs,
        initial_epoch=initial_epoch, validation_data=validation_data, callbacks=list(callbacks or []),
        verbose=verbose, shuffle=False,
    )
    stitch(model, train_cache)
    # The TransferModel continues from here exactly as after an uncached stage 1: same optimizer state.
    model.compile(optimizer=optimizer, loss=loss, metrics=[_fresh(m) for m in metrics])
    history.set_model(model)
    history.feature_cache = train_cache
    return history


def _fresh(metric):
    """A new metric of the same kind (a metric object belongs to the model it was compiled with)."""
    if isinstance(metric, keras.metrics.Metric):
        return type(metric).from_config(metric.get_config())
    return metric
