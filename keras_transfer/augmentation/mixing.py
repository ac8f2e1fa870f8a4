"""`MixUpCutMix`: label-mixing augmentation (MixUp, CutMix) as a batch transform, and its ``fine_tune`` hook."""

from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from keras_transfer.checks import check_fraction, check_int, check_positive_number
from keras_transfer.errors import InvalidConfigError, InvalidInputError

__all__ = ["MixUpCutMix", "mixing_fit_arguments"]


def _alpha(name, value):
    if value is None:
        return None
    return check_positive_number(
        name, value, expected="the Beta(alpha, alpha) parameter of the mixing weight: a positive finite float, "
        "or None to turn it off", hint="Typical values: mixup=0.2, cutmix=1.0.")


class MixUpCutMix:
    """MixUp and / or CutMix on a batch of images and labels, as used by ``fine_tune(..., mixup=, cutmix=)``.

    Each image ``i`` is mixed with image ``perm[i]`` of a random permutation of the batch, with its own weight
    ``lam ~ Beta(alpha, alpha)``. MixUp blends whole images, ``lam * x[i] + (1 - lam) * x[perm[i]]``; CutMix
    pastes a box of ``x[perm[i]]`` covering a ``1 - lam`` share of the image into ``x[i]`` (the share is then
    recomputed from the clipped box). Labels get the same weights: ``lam * y[i] + (1 - lam) * y[perm[i]]``, so
    one-hot targets still sum to 1 and multi-hot targets stay in [0, 1]. With both on, each batch uses one of
    them, CutMix with probability ``switch_prob``.

    Labels may be integer class ids (needs ``num_classes``; they become one-hot), one-hot or multi-hot rows.
    Images come back float32. Works eagerly and inside ``tf.data`` (``apply_to_dataset``), deterministic for a
    given ``seed``.

    Args:
        mixup: float > 0 or None. MixUp's Beta alpha (0.2 is usual).
        cutmix: float > 0 or None. CutMix's Beta alpha (1.0 is usual).
        num_classes: int or None. Needed for integer labels.
        switch_prob: float in [0, 1]. Probability of CutMix per batch when both are on.
        seed: int or None. Base seed; None draws one from NumPy's global generator (seeded by
            ``keras.utils.set_random_seed``).

    Raises:
        InvalidConfigError: both off, or an alpha / probability out of range.

    Examples:
    >>> import numpy as np
    >>> mixer = keras_transfer.augmentation.MixUpCutMix(mixup=0.2, num_classes=3, seed=0)
    >>> images, labels = mixer(np.zeros((4, 8, 8, 1), "uint8"), np.array([0, 1, 2, 0]))
    >>> labels.shape, bool(np.allclose(np.sum(labels, axis=1), 1))
    (TensorShape([4, 3]), True)
    """

    def __init__(
        self,
        mixup: Optional[float] = None,
        cutmix: Optional[float] = None,
        num_classes: Optional[int] = None,
        switch_prob: float = 0.5,
        seed: Optional[int] = None,
    ):
        self.mixup = _alpha("mixup", mixup)
        self.cutmix = _alpha("cutmix", cutmix)
        if self.mixup is None and self.cutmix is None:
            raise InvalidConfigError(
                "MixUpCutMix needs mixup or cutmix. Received: mixup=None and cutmix=None. Set e.g. mixup=0.2."
            )
        self.num_classes = check_int("num_classes", num_classes, minimum=1, allow_none=True,
                                     expected="a positive int")
        self.switch_prob = check_fraction("switch_prob", switch_prob, expected="in [0, 1]")
        self.seed = int(np.random.randint(0, 2**31 - 1)) if seed is None else int(seed)
        self._calls = 0

    # ------------------------------------------------------------------ labels
    def soft_labels(self, labels):
        """Labels as float32 rows: integer ids become one-hot, one-/multi-hot rows are kept.

        Args:
            labels: array or tensor, ``(batch,)`` / ``(batch, 1)`` integer ids or ``(batch, classes)`` rows.

        Returns:
            tf.Tensor float32 ``(batch, classes)``.

        Raises:
            InvalidInputError: integer ids without ``num_classes``, or labels of another shape.
        """
        labels = tf.convert_to_tensor(labels)
        if self.num_classes == 1 and labels.shape.rank in (1, 2):  # one sigmoid output: 0/1 targets are rows
            return tf.reshape(tf.cast(labels, "float32"), [-1, 1])
        sparse = labels.shape.rank == 1 or (labels.shape.rank == 2 and labels.shape[-1] == 1 and labels.dtype.is_integer)
        if sparse:
            if self.num_classes is None:
                raise InvalidInputError(
                    "MixUp / CutMix on integer class labels need the number of classes to one-hot them. "
                    f"Received: labels of shape {tuple(labels.shape)} and dtype {labels.dtype.name} with "
                    "num_classes=None. Pass num_classes=..., or one-hot labels."
                )
            ids = tf.reshape(tf.cast(labels, "int32"), [-1])
            return tf.one_hot(ids, self.num_classes, dtype="float32")
        if labels.shape.rank != 2:
            raise InvalidInputError(
                "MixUp / CutMix labels must be class ids (batch,) or one-/multi-hot rows (batch, classes). "
                f"Received: labels of shape {tuple(labels.shape)}."
            )
        return tf.cast(labels, "float32")

    # ------------------------------------------------------------------ sampling
    def sample(self, batch_size, height, width, seed):
        """Draw the mixing parameters for one batch (stateless: the same ``seed`` gives the same draw).

        Args:
            batch_size: int or scalar tensor.
            height: int or scalar tensor.
            width: int or scalar tensor.
            seed: pair of ints (or shape-(2,) int tensor), the stateless seed.

        Returns:
            dict with ``permutation`` (int32, ``(batch,)``), ``lam`` (float32 label weight of the image itself,
            ``(batch,)``), ``use_cutmix`` (bool scalar) and ``box`` (int32 ``(batch, 4)``: top, left, bottom,
            right; empty when MixUp is used).
        """
        seeds = tf.random.experimental.stateless_split(tf.cast(seed, "int64"), 6)
        order = tf.random.stateless_uniform([batch_size], seeds[0])
        permutation = tf.cast(tf.argsort(order), "int32")
        if self.mixup is not None and self.cutmix is not None:
            use_cutmix = tf.random.stateless_uniform([], seeds[1]) < self.switch_prob
        else:
            use_cutmix = tf.constant(self.cutmix is not None)
        alpha = tf.where(use_cutmix, self.cutmix or 1.0, self.mixup or 1.0)
        g1 = tf.random.stateless_gamma([batch_size], seeds[2], alpha=alpha)
        g2 = tf.random.stateless_gamma([batch_size], seeds[3], alpha=alpha)
        lam = g1 / tf.maximum(g1 + g2, 1e-12)
        # CutMix box: side ratio sqrt(1 - lam), centre uniform, clipped to the image.
        h = tf.cast(height, "float32")
        w = tf.cast(width, "float32")
        cut = tf.sqrt(1.0 - lam)
        centre = tf.random.stateless_uniform([batch_size, 2], seeds[4]) * tf.stack([h, w])
        top = tf.cast(tf.round(tf.clip_by_value(centre[:, 0] - cut * h / 2, 0, h)), "int32")
        bottom = tf.cast(tf.round(tf.clip_by_value(centre[:, 0] + cut * h / 2, 0, h)), "int32")
        left = tf.cast(tf.round(tf.clip_by_value(centre[:, 1] - cut * w / 2, 0, w)), "int32")
        right = tf.cast(tf.round(tf.clip_by_value(centre[:, 1] + cut * w / 2, 0, w)), "int32")
        box = tf.stack([top, left, bottom, right], axis=1)
        box = tf.where(use_cutmix, box, tf.zeros_like(box))
        box_share = tf.cast((bottom - top) * (right - left), "float32") / (h * w)
        lam = tf.where(use_cutmix, 1.0 - box_share, lam)
        return {"permutation": permutation, "lam": lam, "use_cutmix": use_cutmix, "box": box}

    def apply(self, images, labels, params):
        """Mix a batch with given parameters (from ``sample``).

        Args:
            images: ``(batch, height, width, channels)`` numeric.
            labels: labels in any form ``soft_labels`` accepts.
            params: dict from ``sample``.

        Returns:
            tuple ``(images float32, labels float32 (batch, classes))``.
        """
        x = tf.cast(images, "float32")
        y = self.soft_labels(labels)
        permutation, lam = params["permutation"], params["lam"]
        x_other = tf.gather(x, permutation)
        y_other = tf.gather(y, permutation)
        shape = tf.shape(x)
        rows = tf.range(shape[1])[None, :, None]
        cols = tf.range(shape[2])[None, None, :]
        box = params["box"]
        inside = (
            (rows >= box[:, 0, None, None]) & (rows < box[:, 2, None, None])
            & (cols >= box[:, 1, None, None]) & (cols < box[:, 3, None, None])
        )
        cut_images = tf.where(inside[..., None], x_other, x)
        weight = lam[:, None, None, None]
        mixed_images = weight * x + (1.0 - weight) * x_other
        out_images = tf.where(params["use_cutmix"], cut_images, mixed_images)
        out_labels = lam[:, None] * y + (1.0 - lam[:, None]) * y_other
        return out_images, out_labels

    def __call__(self, images, labels, seed=None):
        """Mix one batch. Without ``seed`` each call uses the next seed of this mixer.

        Args:
            images: ``(batch, height, width, channels)``.
            labels: class ids, one-hot or multi-hot rows.
            seed: optional stateless seed pair.

        Returns:
            tuple ``(images, labels)`` as float32 tensors.
        """
        if seed is None:
            seed = (self.seed, self._calls)
            self._calls += 1
        x = tf.convert_to_tensor(images)
        if x.shape.rank != 4:
            raise InvalidInputError(
                "MixUp / CutMix work on image batches (batch, height, width, channels). "
                f"Received: images of shape {tuple(x.shape)}."
            )
        shape = tf.shape(x)
        params = self.sample(shape[0], shape[1], shape[2], seed)
        return self.apply(x, labels, params)

    def apply_to_dataset(self, dataset):
        """Map the mixer over a batched ``tf.data.Dataset`` of ``(images, labels)``; new draws every epoch.

        Args:
            dataset: batched ``tf.data.Dataset`` yielding ``(images, labels)``.

        Returns:
            tf.data.Dataset yielding mixed ``(images float32, labels float32)``.

        Raises:
            InvalidInputError: the dataset does not yield ``(images, labels)`` pairs.
        """
        spec = dataset.element_spec
        if not isinstance(spec, tuple) or len(spec) != 2:
            raise InvalidInputError(
                "MixUp / CutMix need a dataset of (images, labels) batches. "
                f"Received: a dataset of {spec}. Drop sample weights or mix the data yourself with MixUpCutMix."
            )
        seeds = tf.data.Dataset.random(seed=self.seed, rerandomize_each_iteration=True).batch(2)
        pairs = tf.data.Dataset.zip((dataset, seeds))

        def mix(batch, seed):
            images, labels = batch
            shape = tf.shape(images)
            return self.apply(images, labels, self.sample(shape[0], shape[1], shape[2], seed))

        return pairs.map(mix, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def mixing_fit_arguments(model, x, y, validation_data, *, mixup=None, cutmix=None, batch_size=32, cache_dir=None):
    """Turn validated ``fine_tune`` data into mixed training data, matching validation labels, loss and metrics.

    Args:
        model: a TransferModel with a classification head.
        x: training images array, or a batched ``tf.data.Dataset`` of ``(images, labels)`` (then ``y`` is None).
        y: training labels array, or None.
        validation_data: ``(x_val, y_val)``, a dataset, or None.
        mixup: float or None. MixUp alpha.
        cutmix: float or None. CutMix alpha.
        batch_size: int. Batch size for array inputs.
        cache_dir: ``fine_tune``'s feature cache folder, or None (mixing cannot combine with cached features).

    Returns:
        tuple ``(train_dataset, validation_data, loss, metrics)``: ``loss`` / ``metrics`` are None to keep
        the head's defaults (multi-label) or categorical ones (soft one-hot targets on a softmax head).

    Raises:
        InvalidConfigError: no classification head, bad alphas, or a ``keras.utils.PyDataset``.
    """
    head = getattr(model, "head", None)
    if getattr(head, "num_classes", None) is None:
        raise InvalidConfigError(
            "MixUp / CutMix mix class labels and need a classification head. "
            f"Received: mixup={mixup!r}, cutmix={cutmix!r} with a {type(head).__name__}. Use mixup=None, cutmix=None."
        )
    mixer = MixUpCutMix(mixup=mixup, cutmix=cutmix, num_classes=head.num_classes)
    if cache_dir is not None:
        raise InvalidConfigError(
            "MixUp / CutMix mix images before the backbone, so they cannot train on cached features. "
            f"Received: mixup={mixup!r}, cutmix={cutmix!r} with cache_dir={str(cache_dir)!r}. "
            "Use cache_dir=None, or drop mixup / cutmix."
        )
    multi_label = bool(getattr(head, "multi_label", False))
    if isinstance(x, tf.data.Dataset):
        train = x
    elif isinstance(x, np.ndarray):
        train = (
            tf.data.Dataset.from_tensor_slices((x, np.asarray(y)))
            .shuffle(len(x), seed=mixer.seed, reshuffle_each_iteration=True)
            .batch(batch_size)
        )
    else:
        raise InvalidConfigError(
            "MixUp / CutMix in fine_tune need (x, y) arrays or a tf.data.Dataset of (images, labels) batches. "
            f"Received: {type(x).__name__}. Convert the PyDataset, or mix batches yourself with "
            "keras_transfer.augmentation.MixUpCutMix."
        )
    train = mixer.apply_to_dataset(train).prefetch(tf.data.AUTOTUNE)
    if multi_label:
        return train, validation_data, None, None

    num_classes = head.num_classes

    def one_hot(labels):
        labels = np.asarray(labels)
        if labels.ndim == 2 and labels.shape[1] == num_classes:
            return labels.astype("float32")
        return np.eye(num_classes, dtype="float32")[labels.reshape(-1).astype("int64")]

    if isinstance(validation_data, tf.data.Dataset):
        validation_data = validation_data.map(lambda vx, vy: (vx, mixer.soft_labels(vy)))
    elif validation_data is not None:
        validation_data = (validation_data[0], one_hot(validation_data[1]))
    loss = keras.losses.CategoricalCrossentropy()
    metrics = [keras.metrics.CategoricalAccuracy(name="accuracy")]
    return train, validation_data, loss, metrics
