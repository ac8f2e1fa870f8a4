"""`FineTuneOptions`: every training setting of ``keras_transfer.fine_tune``, declared once with its check and help.

``fine_tune(model, train, validation=None, **options)`` and the recipe (``keras_transfer.recipe``: the keys named
by each option's ``recipe`` path) build the same object, so a new option is one field here: its default, its help
text, its check (raising ``InvalidConfigError`` with ``Received: ...`` before any work) and, when the recipe config
has it, its place there. This module imports neither Keras nor TensorFlow (``keras-transfer fit --check``).
"""

import textwrap
from typing import Any, Optional

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator
from typing_extensions import Annotated

from keras_transfer.checks import check_bool, check_int, check_number, check_positive_number
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
    if isinstance(value, str) and value not in _UNFREEZE_NAMES and not value.startswith("last:"):
        raise InvalidConfigError(
            f"Unknown unfreeze policy. Received: unfreeze={value!r}. Use 'all', 'none', 'gradual', an int N "
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
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 1):
        raise InvalidConfigError(
            f"lr_factor must be a float > 1 (each backbone group trains lr_factor times slower than the one "
            f"above) or None. Received: lr_factor={value!r}. Use 2.6 (ULMFiT)."
        )
    return None if value is None else float(value)


def _batch_size(value, info: ValidationInfo):
    return check_int("batch_size", value, minimum=1, expected="a positive int")


def _seed(value, info: ValidationInfo):
    check_seed(value, allow_none=True)
    return value


def _nan_guard(value, info: ValidationInfo):
    return check_bool("nan_guard", value)


def _smoothing(value, info: ValidationInfo):
    return check_number("label_smoothing", value, minimum=0, maximum=1, min_inclusive=False, max_inclusive=False,
                        allow_none=True, hint="Use e.g. label_smoothing=0.1.")


def _field(default, help_text: str, recipe: Optional[str] = None):
    """An option's default, help text and (``recipe``) dotted path of its key in the recipe config."""
    return Field(default, description=help_text, json_schema_extra={"recipe": recipe} if recipe else None)


Epochs = Annotated[Any, AfterValidator(_epochs)]
Rate = Annotated[Any, AfterValidator(_rate)]


class FineTuneOptions(BaseModel):
    """The settings of one ``fine_tune`` call, checked (see ``keras_transfer.fine_tune`` for each option).

    A new option is one line here: ``name: Annotated[Any, AfterValidator(check)] = _field(default, help, recipe)``
    (``check(value, info)`` returns the value or raises ``InvalidConfigError``), then its use in a stage, a
    callback or a model hook (``keras_transfer.training.runner``).

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
    unfreeze: Annotated[Any, AfterValidator(_unfreeze)] = _field(
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
    lr: Annotated[Any, AfterValidator(_lr_policy)] = _field(
        "fixed",
        '``"fixed"`` or ``"auto"``: LR finder for stage 1, per-group rates ramping up after unfreezing, '
        "warmup and plateau reduction, every rate logged (``keras_transfer.training.stage_plan.StagePlan``).",
        recipe="optimizer.lr")
    lr_factor: Annotated[Any, AfterValidator(_lr_factor)] = _field(
        None,
        "float > 1 or None. Discriminative rates in stage 2: each backbone group ``lr_factor`` times slower "
        "than the one above (``keras_transfer.optimizers.discriminative``).",
        recipe="optimizer.lr_factor")
    optimizer: Any = _field(
        "adam",
        "optimizer name, instance (its config is copied per stage) or ``lr -> optimizer`` callable.",
        recipe="optimizer.name")
    batch_size: Annotated[Any, AfterValidator(_batch_size)] = _field(
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
    mixup: Any = _field(
        None,
        "float > 0 or None. MixUp's Beta alpha (e.g. 0.2): training batches are mixed in a dataset transform "
        "(``keras_transfer.augmentation.MixUpCutMix``), targets become soft one-hot rows and the loss "
        "categorical cross-entropy. Classifiers only.",
        recipe="mixup")
    cutmix: Any = _field(
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
    seed: Annotated[Any, AfterValidator(_seed)] = _field(
        None,
        "int or None. Seed Python, NumPy, TensorFlow and Keras (``keras.utils.set_random_seed``) and draw "
        "each epoch's batch order from ``(seed, epoch)``. For identical initial weights too, call "
        "``keras_transfer.set_seed(seed)`` before building the model (it also enables deterministic ops).",
        recipe="seed")
    nan_guard: Annotated[Any, AfterValidator(_nan_guard)] = _field(
        True,
        "bool. Stop at the first NaN / inf loss, put back the last good weights (end of the last finished "
        "epoch; the last good checkpoint stays) and raise ``TrainingDivergedError`` naming the learning rate.")
    label_smoothing: Annotated[Any, AfterValidator(_smoothing)] = _field(
        None,
        "float in (0, 1) or None. Spread this share of each target's mass evenly over the classes (Keras' "
        "``CategoricalCrossentropy(label_smoothing=...)``; integer labels are one-hot inside the loss). "
        "Single-label classifiers only; not with ``mixup`` / ``cutmix``.",
        recipe="label_smoothing")

    @model_validator(mode="after")
    def _combinations(self):
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
    def recipe_type(cls, name: str):
        """The type of option ``name`` for a recipe schema field: the same check (``Annotated[Any, check]``)."""
        return Annotated[(Any, *cls.model_fields[name].metadata)]

    @classmethod
    def recipe_default(cls, name: str):
        """The default and help text of option ``name``, as a recipe schema ``Field``."""
        field = cls.model_fields[name]
        return Field(field.default, description=field.description)

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
        return settings
