"""`FineTuneOptions`: every training setting of ``keras_transfer.fine_tune``, declared once with its check and help.

``fine_tune(model, train, validation=None, **options)`` and the recipe (``keras_transfer.recipe``: the keys named
by each option's ``recipe`` path) build the same object, so a new option is one field here: its default, its help
text, its check (raising ``InvalidConfigError`` with ``Received: ...`` before any work) and, when the recipe config
has it, its place there. This module imports neither Keras nor TensorFlow (``keras-transfer fit --check``).
"""

import math
import re
import textwrap
from typing import Any, Optional

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo,
                      WithJsonSchema, model_validator)
from typing_extensions import Annotated

from keras_transfer.adaptation.names import METHOD_NAMES
from keras_transfer.checks import check_bool, check_int, check_number, check_positive_number, invalid
from keras_transfer.errors import InvalidConfigError
from keras_transfer.training.seed import check_seed

__all__ = ["FineTuneOptions", "LR_POLICIES"]

LR_POLICIES = ("auto", "fixed")
_UNFREEZE_NAMES = ("all", "none", "full", "frozen", "gradual")


def _epochs(value, info: ValidationInfo):
    return check_int(info.field_name, value, minimum=0, expected="an int ≥ 0")


def _rate(value, info: ValidationInfo):
    name = info.field_name
    return check_positive_number(name, value, allow_none=True, hint=f"Use e.g. {name}=1e-3.")


def _unfreeze(value, info: ValidationInfo):
    if isinstance(value, str):
        known = value in _UNFREEZE_NAMES or re.fullmatch(r"last:\d+", value.strip()) is not None
    elif isinstance(value, (bool, int, float)):
        known = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    else:  # None (= "all") or a GradualUnfreezing policy (not imported here: keras_transfer.callbacks loads Keras)
        known = value is None or type(value).__name__ == "GradualUnfreezing"
    if not known:
        raise InvalidConfigError(
            f"Unknown unfreeze policy. Received: unfreeze={value!r}. Use 'all', 'none', 'gradual', an int N ≥ 0 "
            "(last N layer groups), 'last:N' or a keras_transfer.callbacks.GradualUnfreezing(...) policy."
        )
    return value


def _lr_policy(value, info: ValidationInfo):
    if value not in LR_POLICIES:
        raise InvalidConfigError(
            f"Unknown learning-rate policy. Received: lr={value!r}. Use 'auto' (LR finder, per-group ramps, warmup, "
            "plateau reduction) or 'fixed' (head_lr, then fine_tune_lr)."
        )
    return value


def _lr_factor(value, info: ValidationInfo):
    return check_number("lr_factor", value, minimum=1, min_inclusive=False, allow_none=True,
                        expected="a float > 1 (each backbone group trains lr_factor times slower than the one "
                        "above) or None", hint="Use 2.6 (ULMFiT).")


def _optimizer(value, info: ValidationInfo):
    # a Keras optimizer instance is recognised by its config (Keras is not imported here); the name itself is
    # checked against Keras' optimizers when the optimizer is built (and by the recipe's --check)
    if isinstance(value, str) or callable(value) or hasattr(value, "get_config"):
        return value
    raise invalid("optimizer", value, "a Keras optimizer name ('adam', 'sgd', ...), a keras.optimizers.Optimizer "
                  "or a callable learning_rate -> optimizer")


def _batch_size(value, info: ValidationInfo):
    return check_int("batch_size", value, minimum=1, expected="a positive int")


def _seed(value, info: ValidationInfo):
    check_seed(value, allow_none=True)
    return value


def _nan_guard(value, info: ValidationInfo):
    return check_bool("nan_guard", value)


def _alpha(value, info: ValidationInfo):
    name = info.field_name if info.field_name in ("mixup", "cutmix") else "mixup"
    return check_positive_number(
        name, value, allow_none=True, expected="the Beta(alpha, alpha) parameter of the mixing weight: a positive "
        "finite float, or None to turn it off", hint="Typical values: mixup=0.2, cutmix=1.0.")


def _smoothing(value, info: ValidationInfo):
    return check_number("label_smoothing", value, minimum=0, maximum=1, min_inclusive=False, max_inclusive=False,
                        allow_none=True, hint="Use e.g. label_smoothing=0.1.")


def _loss(value, info: ValidationInfo):
    # a Keras loss instance is recognised by its config (Keras is not imported here); a name is checked against
    # Keras' losses by the model's check_fine_tune_options, before any work
    if value is None or isinstance(value, (str, dict)) or callable(value) or hasattr(value, "get_config"):
        return value
    raise invalid("loss", value, "'focal', a Keras loss name, a keras.losses.Loss, a function (y_true, y_pred) -> "
                  "per-example values, a dict {task: loss} (MultiTaskModel) or None")


def _class_weight_entry(name, value):
    """``"auto"``, ``{class id: weight > 0}`` (keys as ints, from YAML text too) or None."""
    if value is None or value == "auto":
        return value
    if isinstance(value, dict) and value:
        weights = {}
        for key, weight in value.items():
            text = str(key).strip()
            if isinstance(key, bool) or not (isinstance(key, int) or text.isdigit()):
                raise invalid(name, value, "'auto' or a dict {class id: weight} with class ids ≥ 0")
            weights[int(text)] = check_positive_number(f"{name}[{int(text)}]", _text_number(weight))
        return weights
    raise invalid(name, value, "'auto' (balanced: n / (classes · n_class) from the training labels), a dict "
                  "{class id: weight}, a dict {task: 'auto' | {class id: weight}} (MultiTaskModel) or None",
                  hint="Use class_weight='auto'.")


def _class_weight(value, info: ValidationInfo):
    if isinstance(value, dict) and value and all(isinstance(key, str) and not key.strip().isdigit() for key in value):
        return {task: _class_weight_entry(f"class_weight[{task!r}]", entry) for task, entry in value.items()}
    return _class_weight_entry("class_weight", value)


def _ema(value, info: ValidationInfo):
    return check_number("ema", value, minimum=0, maximum=1, min_inclusive=False, max_inclusive=False,
                        allow_none=True, hint="Use e.g. ema=0.999 (0.99 for runs of a few hundred steps).")


def _adapt(value, info: ValidationInfo):
    # an Adaptation instance is recognised by its method hooks (keras_transfer.adaptation loads Keras)
    if value is None or (isinstance(value, str) and value in METHOD_NAMES) or (
            hasattr(value, "adapt") and hasattr(value, "run") and hasattr(value, "check")):
        return value
    raise invalid("adapt", value, f"one of {', '.join(repr(n) for n in METHOD_NAMES)}, a "
                  "keras_transfer.adaptation.Adaptation instance or None")


def _field(default, help_text: str, recipe: Optional[str] = None):
    """An option's default, help text and (``recipe``) dotted path of its key in the recipe config."""
    return Field(default, description=help_text, json_schema_extra={"recipe": recipe} if recipe else None)


def _checked(check, json_schema: dict, nullable: bool = False):
    """An option's type: any value ``check`` accepts; ``json_schema`` describes its JSON (recipe) form."""
    if nullable:
        json_schema = {"anyOf": [json_schema, {"type": "null"}]}
    return Annotated[Any, AfterValidator(check), WithJsonSchema(json_schema)]


_NUMBER = {"type": "number", "exclusiveMinimum": 0}
Epochs = _checked(_epochs, {"type": "integer", "minimum": 0})
Rate = _checked(_rate, _NUMBER, nullable=True)
Alpha = _checked(_alpha, _NUMBER, nullable=True)
_UNFREEZE_JSON = {"anyOf": [{"type": "integer", "minimum": 0}, {
    "type": "string", "pattern": r"^(" + "|".join(_UNFREEZE_NAMES) + r"|last:\d+)$"}]}


def _text_number(value):
    """A recipe reads ``1e-3`` (a string to YAML 1.1) or ``"0.1"`` (a ``key=value`` override) as the number."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return number if math.isfinite(number) else value
    return value


def _not_none(name: str):
    def check(value):
        if value is None:
            raise InvalidConfigError(f"{name} cannot be null in a recipe. Received: {name}=None. Give a value or "
                                     "leave the key out (its default).")
        return value

    return check


class FineTuneOptions(BaseModel):
    """The settings of one ``fine_tune`` call, checked (see ``keras_transfer.fine_tune`` for each option).

    A new option is one line here: ``name: _checked(check, json_schema) = _field(default, help, recipe)``
    (``check(value, info)`` returns the value or raises ``InvalidConfigError``; ``json_schema`` describes its JSON
    form), then its use in a stage, a callback or a model hook (``keras_transfer.training.runner``). With a
    ``recipe`` path, the recipe schema declares that key as ``FineTuneOptions.recipe_field(name)``: the same
    check, help text and default (or the recipe's own ``default=``).

    Examples:
    >>> from keras_transfer.training.options import FineTuneOptions
    >>> FineTuneOptions.create(head_epochs=1, label_smoothing=0.1).label_smoothing
    0.1
    >>> FineTuneOptions.create(head_epochs=-1)
    Traceback (most recent call last):
    ...
    keras_transfer.errors.InvalidConfigError: head_epochs must be an int ≥ 0. Received: head_epochs=-1.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    head_epochs: Epochs = _field(
        5,
        "int. Epochs of stage 1 (0 skips it).",
        recipe="stages.head_epochs")
    fine_tune_epochs: Epochs = _field(
        5,
        "int. Epochs of stage 2 (0 skips it).",
        recipe="stages.fine_tune_epochs")
    unfreeze: _checked(_unfreeze, _UNFREEZE_JSON, nullable=True) = _field(
        "all",
        '``"all"``, ``"none"``, an int N (last N layer groups), ``"last:N"``, ``"gradual"`` (one more group '
        "per epoch) or a ``keras_transfer.callbacks.GradualUnfreezing`` policy.",
        recipe="stages.unfreeze")
    head_lr: Rate = _field(
        None,
        "float or None. Learning rate of stage 1; None: 1e-3, or the LR finder's suggestion with "
        '``lr="auto"``.',
        recipe="optimizer.head_lr")
    fine_tune_lr: Rate = _field(
        None,
        "float. Learning rate of stage 2 (with ``lr=\"auto\"``: the top group's starting rate); defaults to "
        "``head_lr / 10``.",
        recipe="optimizer.fine_tune_lr")
    lr: _checked(_lr_policy, {"type": "string", "enum": list(LR_POLICIES)}) = _field(
        "fixed",
        '``"fixed"`` or ``"auto"``: LR finder for stage 1, per-group rates ramping up after unfreezing, '
        "warmup and plateau reduction, every rate logged (``keras_transfer.training.stage_plan.StagePlan``).",
        recipe="optimizer.lr")
    lr_factor: _checked(_lr_factor, {"type": "number", "exclusiveMinimum": 1}, nullable=True) = _field(
        None,
        "float > 1 or None. Discriminative rates in stage 2: each backbone group ``lr_factor`` times slower "
        "than the one above (``keras_transfer.optimizers.discriminative``).",
        recipe="optimizer.lr_factor")
    optimizer: _checked(_optimizer, {"type": "string"}) = _field(
        "adam",
        "optimizer name, instance (its config is copied per stage) or ``lr -> optimizer`` callable.",
        recipe="optimizer.name")
    batch_size: _checked(_batch_size, {"type": "integer", "minimum": 1}) = _field(
        32,
        "int. Batch size for array inputs.",
        recipe="optimizer.batch_size")
    callbacks: Any = _field(
        None,
        "list of Keras callbacks, used in both stages.")
    train_bn: Any = _field(
        None,
        "bool or None. Let BatchNorm train in stage 2; None keeps the backbone's setting (its "
        '``train_bn="auto"`` default: frozen for pretrained weights, trained for ``weights=None``).')
    verbose: Any = _field(
        "auto",
        "passed to ``fit``.")
    cache_dir: Any = _field(
        None,
        "str, os.PathLike or None. Run stage 1 as sequential training: extract the frozen backbone's features "
        "once into this cache (reused on later calls with the same backbone, weights and data), train the "
        "head on them, stitch it back and check it (``keras_transfer.features.train_head``). With "
        "``model.augmentation`` the cache holds 4 augmented views per example. None: no cache.")
    mixup: Alpha = _field(
        None,
        "float > 0 or None. MixUp's Beta alpha (e.g. 0.2): training batches are mixed in a dataset transform "
        "(``keras_transfer.augmentation.MixUpCutMix``), targets become soft one-hot rows and the loss "
        "categorical cross-entropy. Classifiers only.",
        recipe="mixup")
    cutmix: Alpha = _field(
        None,
        "float > 0 or None. CutMix's Beta alpha (e.g. 1.0); with ``mixup`` too, each batch uses one.",
        recipe="cutmix")
    checkpoint_dir: Any = _field(
        None,
        "str, os.PathLike or None. Save the run after every epoch (weights, optimizer state, stage, unfrozen "
        "groups, LR and callback state, history), atomically: write, then rename. Calling ``fine_tune`` again "
        "with the same model construction, settings and ``checkpoint_dir`` resumes at the last complete epoch "
        "and returns a history over all epochs; on a finished run it restores the final weights and returns "
        "the stored history without training. With array inputs the batch order per epoch is a function of "
        "the seed and the epoch, so a resumed run matches an uninterrupted one (with "
        "``keras_transfer.set_seed`` before building the model: within float rounding). A stage trained on a "
        "feature cache (``cache_dir``) is checkpointed when it ends. None: no checkpoints.")
    seed: _checked(_seed, {"type": "integer", "minimum": 0, "exclusiveMaximum": 2**32}, nullable=True) = _field(
        None,
        "int or None. Seed Python, NumPy, TensorFlow and Keras (``keras.utils.set_random_seed``) and draw "
        "each epoch's batch order from ``(seed, epoch)``. For identical initial weights too, call "
        "``keras_transfer.set_seed(seed)`` before building the model (it also enables deterministic ops).",
        recipe="seed")
    nan_guard: _checked(_nan_guard, {"type": "boolean"}) = _field(
        True,
        "bool. Stop at the first NaN / inf loss, put back the last good weights (end of the last finished "
        "epoch; the last good checkpoint stays) and raise ``TrainingDivergedError`` naming the learning rate.")
    label_smoothing: _checked(_smoothing, {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
                              nullable=True) = _field(
        None,
        "float in (0, 1) or None. Spread this share of each target's mass evenly over the classes (Keras' "
        "``CategoricalCrossentropy(label_smoothing=...)``; integer labels are one-hot inside the loss). "
        "Single-label classifiers only; not with ``mixup`` / ``cutmix``.",
        recipe="label_smoothing")
    loss: _checked(_loss, {"type": "string"}, nullable=True) = _field(
        None,
        '``None`` (the head\'s cross-entropy), ``"focal"`` (Keras\' ``CategoricalFocalCrossentropy``; '
        "``BinaryFocalCrossentropy`` for multi-label heads), a Keras loss name, instance or function, or for a "
        "MultiTaskModel a dict ``{task: loss}`` (``keras_transfer.models.head_loss``).",
        recipe="loss")
    class_weight: _checked(_class_weight, {"anyOf": [{"const": "auto"}, {"type": "object"}]}, nullable=True
                           ) = _field(
        None,
        '``"auto"``, ``{class id: weight}`` or None. Weigh each example\'s loss by its class: ``"auto"`` gives '
        "class c the weight n / (classes · n_c) counted on the training labels (missing multi-task labels "
        "-1 / NaN skipped; a dataset is read once). Applied per example inside the loss (``target · weights``), "
        "so it works with datasets and MixUp / CutMix soft targets. Single-label heads; a MultiTaskModel takes "
        "``\"auto\"`` (every such task) or ``{task: \"auto\" | {class id: weight}}``.",
        recipe="class_weight")
    ema: _checked(_ema, {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}, nullable=True) = _field(
        None,
        "float in (0, 1) or None. Keep an exponential moving average of the weights after every step (decay "
        "``min(ema, (1 + n) / (10 + n))`` at step n: ``keras_transfer.callbacks.ExponentialMovingAverage``); "
        "validation, the callbacks' ``on_epoch_end`` (best-model checkpoints) and the returned model use the "
        "averaged weights, and the average is part of ``checkpoint_dir``'s resumable state. A stage trained on "
        "cached features (``cache_dir``) is not averaged.",
        recipe="ema")

    unlabeled: Any = _field(
        None,
        "array or list of unlabelled *target* inputs (the same kind as ``train``'s inputs; no labels) for "
        "``adapt``. In a recipe: ``data.unlabeled``.")
    adapt: _checked(_adapt, {"type": "string", "enum": list(METHOD_NAMES)}, nullable=True) = _field(
        None,
        '``"adabn"``, ``"shift_bias"``, ``"pseudo_label"``, ``"cluster_label"``, ``"dann"``, ``"auto"``, a '
        "``keras_transfer.adaptation.Adaptation`` or None. After the other stages, adapt the model to the "
        "unlabelled target inputs ``unlabeled`` (``keras_transfer.adaptation``): what it learnt is folded into the "
        "model and its extra layers dropped, so the model saves and exports as before. ``history.adaptation`` "
        "reports each method's source accuracy and label-free target score; ``\"auto\"`` keeps the best by them.",
        recipe="adapt")
    adapt_epochs: Epochs = _field(
        3,
        "int. Epochs (passes over ``unlabeled``) of the adaptation stage for methods that train (``adabn`` "
        "trains none).",
        recipe="adapt_epochs")

    @model_validator(mode="after")
    def _combinations(self):
        if (self.adapt is None) != (self.unlabeled is None):
            given, missing = ("adapt", "unlabeled") if self.adapt is not None else ("unlabeled", "adapt")
            raise InvalidConfigError(
                f"{given} needs {missing}. Received: adapt={self.adapt!r}, unlabeled="
                f"{'None' if self.unlabeled is None else type(self.unlabeled).__name__}. Pass both (unlabeled: the "
                "target inputs; adapt: the method, e.g. 'auto'), or neither."
            )
        if self.adapt is not None and (self.mixup is not None or self.cutmix is not None):
            raise InvalidConfigError(
                f"adapt cannot be combined with mixup / cutmix (the adaptation stage batches the source itself). "
                f"Received: adapt={self.adapt!r}, mixup={self.mixup!r}, cutmix={self.cutmix!r}. Use one."
            )
        if self.label_smoothing is not None and (self.mixup is not None or self.cutmix is not None):
            raise InvalidConfigError(
                "label_smoothing cannot be combined with mixup / cutmix (they already soften the targets). Received: "
                f"label_smoothing={self.label_smoothing!r}, mixup={self.mixup!r}, cutmix={self.cutmix!r}. Use one."
            )
        return self

    @classmethod
    def create(cls, **options) -> "FineTuneOptions":
        """Checked options; the first bad one raises its own ``InvalidConfigError`` (an unknown name: TypeError)."""
        try:
            return cls(**options)
        except ValidationError as error:
            first = error.errors()[0]
            if first["type"] == "extra_forbidden":
                raise TypeError(f"fine_tune() got an unexpected keyword argument {first['loc'][0]!r}") from None
            cause = first.get("ctx", {}).get("error")
            if isinstance(cause, Exception):
                raise cause from None
            raise InvalidConfigError(f"{error}") from None

    @classmethod
    def from_recipe(cls, config, **options) -> "FineTuneOptions":
        """The options a recipe config sets (each option's ``recipe`` path), plus ``options`` (run-time ones)."""
        values = {}
        for name, field in cls.model_fields.items():
            path = (field.json_schema_extra or {}).get("recipe")
            if path is None or name in options:
                continue
            value = config
            for part in path.split("."):
                value = getattr(value, part)
            values[name] = value
        return cls.create(**values, **options)

    @classmethod
    def recipe_type(cls, name: str, allow_none: bool = True):
        """The type of option ``name`` for a recipe schema field: the same check and JSON schema.

        A number option also reads a number written as text (``1e-3`` is a string to YAML 1.1, a ``key=value``
        override is text); ``allow_none=False`` refuses ``null`` where the option takes None but the recipe needs
        a value (``seed``: the recipe always seeds).
        """
        metadata = list(cls.model_fields[name].metadata)
        json_schema = next(item.json_schema for item in metadata if isinstance(item, WithJsonSchema))
        members = json_schema.get("anyOf", [json_schema])
        if not allow_none:
            members = [member for member in members if member != {"type": "null"}]
            metadata = [AfterValidator(_not_none(name))] + [item for item in metadata
                                                            if not isinstance(item, WithJsonSchema)]
            metadata.append(WithJsonSchema(members[0] if len(members) == 1 else {"anyOf": members}))
        if any(member.get("type") == "number" for member in members):
            metadata.insert(0, BeforeValidator(_text_number))
        return Annotated[(Any, *metadata)]

    @classmethod
    def recipe_default(cls, name: str, **default):
        """The default (``default=`` overrides fine_tune's) and help text of option ``name``, as a ``Field``."""
        field = cls.model_fields[name]
        return Field(default.get("default", field.default), description=field.description)

    @classmethod
    def recipe_field(cls, name: str, allow_none: bool = True, **default):
        """A recipe schema field for option ``name``: its check, JSON schema, help text and default.

        Args:
            name: str. The option (``FineTuneOptions`` field) the recipe key sets.
            allow_none: bool. False: the recipe refuses ``null`` although the option takes None.
            **default: ``default=value`` where the recipe's default differs from ``fine_tune``'s.

        Returns:
            The annotation ``Annotated[Any, <checks>, Field(default, description=help)]``.

        Examples:
        >>> from pydantic import BaseModel
        >>> from keras_transfer.training.options import FineTuneOptions
        >>> class Stages(BaseModel):
        ...     head_epochs: FineTuneOptions.recipe_field("head_epochs", default=3)
        >>> Stages().head_epochs, Stages(head_epochs=1).head_epochs
        (3, 1)
        >>> Stages(head_epochs=-1)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pydantic_core._pydantic_core.ValidationError: 1 validation error for Stages
        head_epochs
          Value error, head_epochs must be an int ≥ 0. Received: head_epochs=-1. ...
        """
        if set(default) - {"default"}:
            raise TypeError(f"recipe_field() takes default=... only. Received: {sorted(default)}.")
        field = cls.recipe_default(name, **default)
        if not allow_none:
            field.description += " In a recipe: not null."
        return Annotated[cls.recipe_type(name, allow_none), field]

    @classmethod
    def help_text(cls, indent: str = "        ") -> str:
        """Every option as a docstring ``Args`` entry (``fine_tune``'s docstring lists them from here)."""
        lines = []
        for name, field in cls.model_fields.items():
            lines += textwrap.wrap(f"{name}: {field.description}", 116 - len(indent), initial_indent=indent,
                                   subsequent_indent=indent + "    ")
        return "\n".join(lines)

    def as_kwargs(self) -> dict:
        """Every option as ``fine_tune`` keyword arguments."""
        return {name: getattr(self, name) for name in type(self).model_fields}

    def run_settings(self) -> dict:
        """The options a resumed run must share with the interrupted one (with the model's ``run_settings``)."""
        unfreeze, optimizer = self.unfreeze, self.optimizer
        if type(unfreeze).__name__ == "GradualUnfreezing":
            unfreeze = f"GradualUnfreezing(schedule={unfreeze.schedule!r}, every={unfreeze.every})"
        settings = {
            "head_epochs": self.head_epochs, "fine_tune_epochs": self.fine_tune_epochs,
            "unfreeze": unfreeze if isinstance(unfreeze, (int, str, type(None))) else repr(unfreeze),
            "head_lr": self.head_lr, "fine_tune_lr": self.fine_tune_lr, "lr": self.lr, "lr_factor": self.lr_factor,
            "optimizer": optimizer if isinstance(optimizer, str) else type(optimizer).__name__,
            "batch_size": self.batch_size, "seed": self.seed, "cache_dir": self.cache_dir is not None,
            "mixup": self.mixup, "cutmix": self.cutmix,
        }
        if self.label_smoothing is not None:  # absent otherwise: checkpoints of earlier runs still resume
            settings["label_smoothing"] = self.label_smoothing
        if self.adapt is not None:  # likewise
            settings.update(adapt=self.adapt if isinstance(self.adapt, str) else repr(self.adapt),
                            adapt_epochs=self.adapt_epochs, unlabeled_examples=len(self.unlabeled))
        for name in ("loss", "class_weight", "ema"):  # likewise absent when unset
            value = getattr(self, name)
            if value is not None:
                settings[name] = value if isinstance(value, (str, int, float, dict)) else type(value).__name__
        return settings
