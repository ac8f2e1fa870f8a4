"""Discriminative learning rates: one sub-optimizer per backbone layer group, over `keras.optimizers.MultiOptimizer`."""

import re
from typing import List, Sequence

import keras

from keras_transfer.errors import InvalidConfigError
from keras_transfer.optimizers.factory import copy_optimizer, make_optimizer
from keras_transfer.optimizers.learning_rates import check_learning_rate

__all__ = ["HEAD_GROUP", "discriminative", "group_learning_rates", "group_optimizer"]

HEAD_GROUP = "head"
"""Name of the sub-optimizer for every variable outside the backbone's layer groups (head, shift bias, ...)."""


def group_learning_rates(n_groups: int, lr=1e-3, factor: float = 2.6) -> List[float]:
    """Per-group learning rates, input → output, with the head last (a pure function).

    With a float ``lr`` the head gets ``lr`` and each group below gets the rate of the group above divided by
    ``factor`` (ULMFiT's geometric spread). With ``lr=(low, high)`` the rates are spaced geometrically from
    ``low`` (first group) to ``high`` (head) and ``factor`` is not used.

    Args:
        n_groups: int ≥ 0. Number of backbone layer groups.
        lr: float, or ``(low, high)`` with ``0 < low <= high``.
        factor: float > 1. Ratio between neighbouring groups.

    Returns:
        list of ``n_groups + 1`` floats: the groups input → output, then the head.

    Raises:
        InvalidConfigError: a rate ≤ 0, ``low > high`` or ``factor <= 1``.

    Examples:
    >>> [round(v, 6) for v in keras_transfer.optimizers.group_learning_rates(2, 1e-3, factor=10)]
    [1e-05, 0.0001, 0.001]
    >>> [round(v, 6) for v in keras_transfer.optimizers.group_learning_rates(2, (1e-5, 1e-3))]
    [1e-05, 0.0001, 0.001]
    """
    if isinstance(n_groups, bool) or not isinstance(n_groups, int) or n_groups < 0:
        raise InvalidConfigError(f"n_groups must be an int ≥ 0. Received: n_groups={n_groups!r}.")
    if isinstance(lr, (tuple, list)):
        if len(lr) != 2:
            raise InvalidConfigError(f"lr must be a float or a (low, high) pair. Received: lr={lr!r}.")
        low, high = check_learning_rate(lr[0], "lr[0] (low)"), check_learning_rate(lr[1], "lr[1] (high)")
        if low > high:
            raise InvalidConfigError(
                f"lr=(low, high) needs low <= high: low is the first group's rate, high the head's. Received: lr={lr!r}."
            )
        if n_groups == 0:
            return [high]
        return [low * (high / low) ** (i / n_groups) for i in range(n_groups + 1)]
    lr = check_learning_rate(lr, "lr")
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not factor > 1:
        raise InvalidConfigError(
            f"factor must be a float > 1 (each group below the head trains factor times slower). "
            f"Received: factor={factor!r}. Use 2.6 (ULMFiT) or pass lr=(low, high)."
        )
    return [lr / float(factor) ** (n_groups - i) for i in range(n_groups + 1)]


def _backbone_groups(model):
    backbone = getattr(model, "backbone", None)
    groups = getattr(backbone, "layer_groups", None)
    if groups is None:
        raise InvalidConfigError(
            "Discriminative learning rates need a model with a keras_transfer backbone (its layer_groups set the "
            f"groups). Received: model of type {type(model).__name__} without .backbone.layer_groups. Build it with "
            "keras_transfer.TransferModel(keras_transfer.backbones.get(name), head)."
        )
    return groups


def _sub_optimizer(optimizer, learning_rate: float, name: str):
    if isinstance(optimizer, keras.optimizers.Optimizer) and not isinstance(optimizer, keras.optimizers.MultiOptimizer):
        template = optimizer  # check the given instance: its config copy would silently drop a schedule
    else:
        template = make_optimizer(optimizer, learning_rate)
    if isinstance(template, keras.optimizers.MultiOptimizer):
        raise InvalidConfigError(
            "optimizer must be a single optimizer kind; discriminative learning rates build the MultiOptimizer. "
            "Received: a MultiOptimizer. Pass optimizer='adam' (or an Adam instance)."
        )
    if isinstance(getattr(template, "_learning_rate", None), keras.optimizers.schedules.LearningRateSchedule):
        raise InvalidConfigError(
            "Discriminative learning rates cannot use a LearningRateSchedule: every sub-optimizer of the "
            "MultiOptimizer gets its own float rate, and keras_transfer's callbacks (warmup, LR finder, ramps, "
            "plateau reduction) set those floats each step, which Keras refuses for a schedule. Received: "
            f"learning_rate={type(template._learning_rate).__name__}. Pass a float-rate optimizer and use "
            "keras_transfer.callbacks.Warmup(then='cosine') for the schedule."
        )
    return copy_optimizer(template, learning_rate, name)


def group_optimizer(model, optimizer="adam", group_lrs: Sequence[float] = (), head_lr: float = 1e-3):
    """A ``MultiOptimizer`` with one sub-optimizer per backbone layer group at explicit rates.

    Sub-optimizers are named after the groups (``"stage4"``) and ``"head"`` (every variable outside the
    backbone's groups: the head, a shift-bias layer, ...); frozen groups get a sub-optimizer too, so the
    structure stays the same when groups are unfrozen later.

    Args:
        model: a model with ``.backbone.layer_groups`` (``keras_transfer.TransferModel``).
        optimizer: optimizer name, instance (config copied) or callable ``learning_rate -> Optimizer``.
        group_lrs: sequence of floats, one per layer group, input → output.
        head_lr: float. Rate of the head sub-optimizer.

    Returns:
        keras.optimizers.MultiOptimizer.

    Raises:
        InvalidConfigError: wrong number of rates, a rate ≤ 0, a schedule, or a model without layer groups.

    Examples:
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> model = keras_transfer.TransferModel(keras_transfer.backbones.get(name, weights=None),
    ...                                      keras_transfer.ClassificationHead(2))
    >>> opt = keras_transfer.optimizers.group_optimizer(model, "sgd", [1e-4, 1e-4, 1e-3], head_lr=1e-2)
    >>> [o.name for o in opt.optimizers]
    ['block1', 'block2', 'block3', 'head']
    """
    groups = _backbone_groups(model)
    group_lrs = list(group_lrs)
    if len(group_lrs) != len(groups):
        raise InvalidConfigError(
            f"group_lrs needs one rate per layer group ({[g.name for g in groups]}). Received: {len(group_lrs)} "
            f"rates: {group_lrs!r}."
        )
    head = _sub_optimizer(optimizer, check_learning_rate(head_lr, "head_lr"), HEAD_GROUP)
    optimizer_map = keras.optimizers.OptimizerMap(head)
    for group, rate in zip(groups, group_lrs):
        paths = [re.escape(w.path) for w in group.weights]
        if not paths:
            continue
        optimizer_map["|".join(paths)] = _sub_optimizer(
            optimizer, check_learning_rate(rate, f"learning rate of group {group.name!r}"), group.name
        )
    return keras.optimizers.MultiOptimizer(optimizer_map, name="discriminative")


def discriminative(model, optimizer="adam", lr=1e-3, factor: float = 2.6):
    """A ``MultiOptimizer`` giving each backbone layer group its own, lower learning rate.

    The head (and any variable outside the backbone, such as a shift-bias layer) trains at ``lr``; the top
    backbone group at ``lr / factor``, the one below at ``lr / factor**2``, and so on (ULMFiT's default factor
    is 2.6), or spaced geometrically over an explicit ``(low, high)`` range. The result survives a ``.keras``
    save / load, and keras_transfer's LR callbacks and Keras' ``ReduceLROnPlateau`` / ``TensorBoard`` act on
    every sub-optimizer.

    Args:
        model: ``keras_transfer.TransferModel`` (anything with ``.backbone.layer_groups``).
        optimizer: optimizer name (``"adam"``, ``"sgd"``, ...), instance (its config is copied per group) or a
            callable ``learning_rate -> Optimizer``. Must use a float learning rate.
        lr: float (the head's rate), or ``(low, high)``: first group at ``low``, head at ``high``.
        factor: float > 1. Ratio between neighbouring groups.

    Returns:
        keras.optimizers.MultiOptimizer with sub-optimizers named after the groups and ``"head"``.

    Raises:
        InvalidConfigError: ``lr <= 0``, ``factor <= 1``, a ``LearningRateSchedule``, or a model without a
            keras_transfer backbone.

    Examples:
    >>> backbone = keras_transfer.backbones.get("mobilenet_v2", weights=None, input_shape=(32, 32), trainable="full")
    >>> model = keras_transfer.TransferModel(backbone, keras_transfer.ClassificationHead(3))
    >>> model.compile(optimizer=keras_transfer.optimizers.discriminative(model, "adam", lr=1e-3))
    >>> keras_transfer.optimizers.get_learning_rates(model.optimizer)["top"]
    0.0003846...
    """
    groups = _backbone_groups(model)
    rates = group_learning_rates(len(groups), lr, factor)
    return group_optimizer(model, optimizer, rates[:-1], head_lr=rates[-1])
