"""`Adaptation`: the base of the adaptation methods (check, adapt, report), and `get` from a name."""

import importlib
from typing import Optional, Tuple

import keras

from keras_transfer.adaptation.names import METHOD_NAMES
from keras_transfer.adaptation.session import batched_features
from keras_transfer.adaptation.signals import (accuracy, class_outputs, reverse_validation, source_accuracy,
                                               target_scores)
from keras_transfer.errors import InvalidConfigError

__all__ = ["Adaptation", "empty_history", "get", "measure", "source_signals"]

_CLASSES = {
    "adabn": ("keras_transfer.adaptation.adabn", "AdaBN"),
    "shift_bias": ("keras_transfer.adaptation.shift_alignment", "ShiftBiasAlignment"),
    "pseudo_label": ("keras_transfer.adaptation.pseudo_label", "PseudoLabel"),
    "cluster_label": ("keras_transfer.adaptation.cluster_label", "ClusterLabel"),
    "dann": ("keras_transfer.adaptation.dann", "DANN"),
    "auto": ("keras_transfer.adaptation.auto", "AutoAdaptation"),
}


def empty_history(model=None) -> keras.callbacks.History:
    """A History with no epochs (a method that trains nothing)."""
    history = keras.callbacks.History()
    history.epoch, history.history = [], {}
    if model is not None:
        history.set_model(model)
    return history


def _probabilities(model, x, batch_size: int):
    """``(class outputs, backbone features or None)``: a TransferModel's from its backbone features (computed
    once, eagerly: source and target may differ in size or channels), a MultiTaskModel's from ``predict``."""
    if getattr(model, "heads", None) is None:
        features = batched_features(model.backbone, x, batch_size)
        head_input = model.shift(features) if model.shift is not None else features
        return class_outputs(model, keras.ops.convert_to_numpy(model.head(head_input, training=False))), features
    # Keras' relaxed retracing could reuse a predict function traced with an unknown channel axis: a new one
    model.predict_function = None
    return class_outputs(model, model.predict(x, batch_size=batch_size, verbose=0)), None


def measure(session, model=None) -> dict:
    """The label-free signals of ``model`` (default: the session's): its accuracy on labelled source data
    (``source_accuracy``, on ``source_data``: ``"validation"`` or ``"train"``), the scores of its target predictions
    (``target_entropy``, ``target_diversity``, ``target_score``: ``signals.target_scores``) and, for a
    TransferModel, the reverse-validation accuracy (``reverse_accuracy``: ``signals.reverse_validation``)."""
    model = model or session.model
    batch = session.batch_size * 4
    result = {"source_accuracy": None, "source_data": None, "target_entropy": None, "target_diversity": None,
              "target_score": None, "reverse_accuracy": None}
    outputs, target_features = _probabilities(model, session.target, batch)
    if outputs:
        scores = target_scores(outputs)
        result.update(target_entropy=scores["entropy"], target_diversity=scores["diversity"],
                      target_score=scores["score"])
    check = session.source_check_data()
    if check is None:
        return result
    result["source_data"] = check[2]
    if target_features is None:
        model.predict_function = None
        result["source_accuracy"] = source_accuracy(model, check[0], check[1], batch)
        return result
    source_outputs, source_features = _probabilities(model, check[0], batch)
    result["source_accuracy"] = accuracy(source_outputs[0], check[1])
    result["reverse_accuracy"] = reverse_validation(target_features, outputs[0], source_features, check[1])
    return result


def source_signals(method, before: dict, after: dict, info: dict) -> dict:
    """``after`` with the source accuracy the method stands for: its own measurement (``info["source_accuracy"]``,
    e.g. AdaBN's refitted head under source statistics), else the source model's for ``source_unchanged``
    methods, else ``after``'s."""
    if info.get("source_accuracy") is not None:
        return {**after, "source_accuracy": info["source_accuracy"], "source_data": before["source_data"]}
    if method.source_unchanged:
        return {**after, "source_accuracy": before["source_accuracy"], "source_data": before["source_data"]}
    return after


class Adaptation:
    """The base of adaptation methods: ``check`` the model, ``adapt`` it in place, ``run`` = both plus the report.

    A method runs as the last stage of ``fine_tune(unlabeled=..., adapt=...)`` (``AdaptationStage``) on an
    ``AdaptationSession``, and leaves the model in its plain inference form (no extra layer).

    Subclasses set ``name`` and override ``adapt`` (and ``check`` when they need more of the model).
    ``source_unchanged`` is True for methods that change only how *target* inputs are normalised (AdaBN,
    the shift bias): on source data under source statistics their classifier is the source model, so their
    source accuracy is the source model's.

    Args:
        learning_rate: float or None. The rate of a training method's head and own layers (None: the run's
            head rate). Backbone groups it trains take the session's ``backbone_learning_rate`` (in
            ``fine_tune``: the stage-2 rate).
        min_unfrozen_groups: int. Backbone layer groups a training method trains at least (more when the run's
            last stage unfroze more).
    """

    name = "adaptation"
    trains = True  #: runs epochs (AdaBN does not)
    multi_task = False  #: works with a MultiTaskModel
    source_unchanged = False
    needs_source = True  #: trains on the labelled source arrays (AdaBN does not)

    def __init__(self, learning_rate: Optional[float] = None, min_unfrozen_groups: int = 0):
        self.learning_rate = learning_rate
        self.min_unfrozen_groups = int(min_unfrozen_groups)

    def check(self, model) -> None:
        """Raise ``InvalidConfigError`` (before any training) when this method cannot adapt ``model``."""
        if getattr(model, "heads", None) is not None and not self.multi_task:
            raise InvalidConfigError(
                f"adapt={self.name!r} needs a TransferModel with one single-label classification head. Received: a "
                f"{type(model).__name__}. Use adapt='adabn' or 'shift_bias' (they work per head)."
            )
        if getattr(model, "heads", None) is None and (
                not getattr(model.head, "num_classes", None) or getattr(model.head, "multi_label", False)) \
                and not self.multi_task:
            raise InvalidConfigError(
                f"adapt={self.name!r} needs a single-label classification head (softmax). Received: a head of type "
                f"{type(model.head).__name__}. Use adapt='adabn' or 'shift_bias'."
            )

    def unfreeze_for(self, model) -> None:
        """Unfreeze at least ``min_unfrozen_groups`` backbone groups (the trainer compiles afterwards)."""
        backbone = model.backbone
        wanted = min(max(backbone.unfrozen_groups, self.min_unfrozen_groups), len(backbone.layer_groups))
        if wanted != backbone.unfrozen_groups:
            backbone.set_mode(wanted)

    def adapt(self, session) -> Tuple[keras.callbacks.History, dict]:
        """Adapt ``session.model`` in place; returns the History of its epochs and facts about the run."""
        raise NotImplementedError(f"{type(self).__name__} must define adapt().")

    def run(self, session) -> Tuple[keras.callbacks.History, dict]:
        """``check``, measure the source model, ``adapt``, measure again; returns ``(history, report)``.

        The report: ``{"method", "selected", "candidates": {"source_only": signals, name: signals + info}}``,
        signals as ``keras_transfer.adaptation.method.measure``.
        """
        self.check(session.model)
        before = measure(session)
        history, info = self.adapt(session)
        after = measure(session)
        after = source_signals(self, before, after, info)
        return history, {"method": self.name, "selected": self.name,
                         "candidates": {"source_only": before, self.name: {**after, "info": info}}}

    def __repr__(self):
        return f"{type(self).__name__}()"


def get(method) -> Adaptation:
    """An adaptation method from its name (``METHOD_NAMES``) or an ``Adaptation`` instance (returned as is).

    Examples:
    >>> keras_transfer.adaptation.get("adabn").name
    'adabn'
    >>> keras_transfer.adaptation.get("coral")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    keras_transfer.errors.InvalidConfigError: Unknown adaptation method. Received: adapt='coral'. Use one of ...
    """
    if isinstance(method, Adaptation):
        return method
    if isinstance(method, str) and method in _CLASSES:
        module, name = _CLASSES[method]
        return getattr(importlib.import_module(module), name)()
    raise InvalidConfigError(
        f"Unknown adaptation method. Received: adapt={method!r}. Use one of "
        f"{', '.join(repr(n) for n in METHOD_NAMES)}, or a keras_transfer.adaptation.Adaptation instance."
    )
