"""`head_loss`: the loss one head trains with under ``fine_tune``'s ``loss``, ``class_weight`` and ``label_smoothing``.

The models' ``training_loss`` hooks call it per head (once for a TransferModel, per task for a MultiTaskModel),
so the options mean the same everywhere:

- ``loss=None``: the head's cross-entropy; ``loss="focal"``: Keras' ``CategoricalFocalCrossentropy`` (softmax
  heads) or ``BinaryFocalCrossentropy`` (multi-label heads); any other value: a Keras loss (name, instance or
  function) used as given;
- ``label_smoothing``: the categorical losses' own ``label_smoothing`` (integer labels become one-hot rows);
- class weights (``keras_transfer.models.class_weights``): per example inside the loss
  (``keras_transfer.models.losses.ClassWeightedLoss``).
"""

import keras

from keras_transfer.errors import InvalidConfigError
from keras_transfer.models.losses import ClassWeightedLoss

__all__ = ["FOCAL", "check_head_loss_options", "head_kind", "head_loss"]

FOCAL = "focal"


def head_kind(head) -> str:
    """``"softmax"``, ``"sigmoid"`` (multi-label) or ``"other"`` (regression and the rest)."""
    if getattr(head, "num_classes", None) is None:
        return "other"
    return "sigmoid" if getattr(head, "multi_label", False) else "softmax"


def check_head_loss_options(head, name: str, loss=None, class_weight=None, label_smoothing=None) -> None:
    """Refuse options a head cannot use (before any work); ``name`` names the head in messages.

    Raises:
        InvalidConfigError: class weights on a multi-label or regression head, focal loss on a regression head,
            label smoothing with a loss of the user's own (set it on that loss).
    """
    kind = head_kind(head)
    if isinstance(loss, str) and loss != FOCAL:
        try:
            keras.losses.get(loss)
        except (ValueError, TypeError):
            raise InvalidConfigError(
                f"Unknown loss. Received: loss={loss!r} for {name}. Use 'focal', a Keras loss name (e.g. "
                "'categorical_crossentropy', 'huber'), a keras.losses.Loss or a function (y_true, y_pred) -> values."
            ) from None
    if isinstance(class_weight, dict) and not all(isinstance(key, int) for key in class_weight):
        raise InvalidConfigError(
            f"class_weight for {name} must be 'auto' or {{class id: weight}}. Received: class_weight="
            f"{class_weight!r}. A dict per task ({{task: 'auto' | {{class id: weight}}}}) needs a MultiTaskModel."
        )
    if class_weight is not None and kind != "softmax":
        raise InvalidConfigError(
            f"class_weight needs a single-label classification head (softmax). Received: class_weight="
            f"{class_weight!r} for {name}, a {type(head).__name__}"
            f"{' (multi_label=True)' if kind == 'sigmoid' else ''}. Leave it unset, or weigh examples with sample "
            "weights in a tf.data dataset."
        )
    if loss == FOCAL and kind == "other":
        raise InvalidConfigError(
            f"loss='focal' needs a classification head. Received: loss='focal' for {name}, a "
            f"{type(head).__name__}. Pass a regression loss (e.g. loss='huber') or leave it unset."
        )
    if label_smoothing is not None and loss not in (None, FOCAL):
        raise InvalidConfigError(
            "label_smoothing applies to the built-in losses (the default cross-entropy and 'focal'). Received: "
            f"label_smoothing={label_smoothing!r} with loss={loss!r}. Set the smoothing on your loss instead, e.g. "
            "keras.losses.CategoricalCrossentropy(label_smoothing=0.1)."
        )


def _categorical(loss, label_smoothing):
    smoothing = float(label_smoothing or 0.0)
    if loss == FOCAL:
        return keras.losses.CategoricalFocalCrossentropy(label_smoothing=smoothing)
    return keras.losses.CategoricalCrossentropy(label_smoothing=smoothing)


def head_loss(head, dense_labels: bool, *, loss=None, class_weights=None, label_smoothing=None, multi_task=False):
    """The loss for one head, or None for the head's (or ``compile``'s) default.

    Args:
        head: the head layer.
        dense_labels: bool. Labels are one-hot / soft rows (MixUp, CutMix) rather than integer ids.
        loss: None, ``"focal"``, or a Keras loss (name, instance, function).
        class_weights: list of floats (one per class) or None.
        label_smoothing: float in (0, 1) or None.
        multi_task: bool. The loss of a MultiTaskModel task (it takes integer ids or rows, whichever a batch has).

    Returns:
        a loss (a ``keras.losses.Loss`` or function) or None.

    Examples:
    >>> from keras_transfer.models.head_loss import head_loss
    >>> head = keras_transfer.ClassificationHead(3)
    >>> type(head_loss(head, False, loss="focal")).__name__, head_loss(head, False) is None
    ('ClassWeightedLoss', True)
    """
    kind = head_kind(head)
    if kind == "softmax":
        if loss in (None, FOCAL):
            if loss is None and class_weights is None and not multi_task:
                return None  # the caller's plain cross-entropy (sparse, dense or smoothed)
            return ClassWeightedLoss(_categorical(loss, label_smoothing), head.num_classes, class_weights,
                                     one_hot=True)
        given = keras.losses.get(loss) if isinstance(loss, str) else loss
        if class_weights is None:
            return given
        return ClassWeightedLoss(given, head.num_classes, class_weights, one_hot=False)
    if loss == FOCAL:  # multi-label: one focal term per sigmoid output
        return keras.losses.BinaryFocalCrossentropy()
    return keras.losses.get(loss) if isinstance(loss, str) else loss
