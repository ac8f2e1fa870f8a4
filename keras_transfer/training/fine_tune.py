"""`fine_tune`: the two-stage transfer recipe (train the head, then unfreeze and fine-tune) in one call.

``fine_tune`` checks its options (``FineTuneOptions``) and the model's, prepares the data through the model's hooks,
builds the stages (``build_stages``) and hands them to one ``Runner``; see ``keras_transfer.training.runner`` for
how a new capability plugs in.
"""

import contextlib

import keras

from keras_transfer.backbones.base import parse_trainable_mode
from keras_transfer.errors import InvalidConfigError
from keras_transfer.features.sequential import check_cached_training
from keras_transfer.models.base_transfer_model import BaseTransferModel
from keras_transfer.models.inputs import split_data
from keras_transfer.optimizers.factory import make_optimizer
from keras_transfer.training.checkpoint import TrainingCheckpoint
from keras_transfer.callbacks.history import FineTuneHistory
from keras_transfer.training.options import FineTuneOptions
from keras_transfer.training.resume import ResumableRun
from keras_transfer.training.runner import Runner, TrainingData
from keras_transfer.training.stage_plan import StagePlan
from keras_transfer.training.stages import build_stages

__all__ = ["fine_tune", "make_optimizer"]


def _resolve_unfreeze(unfreeze, n_groups):
    if unfreeze in ("all", None):
        return n_groups
    if unfreeze == "none":
        return 0
    return parse_trainable_mode(unfreeze if not isinstance(unfreeze, int) else f"last:{unfreeze}", n_groups)


def _check_model(model):
    if not isinstance(model, BaseTransferModel):
        raise InvalidConfigError(
            "fine_tune needs a keras_transfer model with a backbone and a head, e.g. "
            "keras_transfer.TransferModel(keras_transfer.backbones.get('mobilenet_v2'), ClassificationHead(n)). "
            f"Received: model of type {type(model).__name__}."
        )


def _check_work(options, plan, n_groups) -> int:
    """Backbone groups stage 2 unfreezes; refuses a call with nothing to train."""
    n_unfreeze = _resolve_unfreeze(plan.unfreeze, n_groups)
    if options.adapt is not None and options.head_epochs + options.fine_tune_epochs == 0:
        return 0  # adapt an already trained model: the adaptation stage alone
    if options.head_epochs + options.fine_tune_epochs == 0:
        raise InvalidConfigError(
            "Nothing to train. Received: head_epochs=0 and fine_tune_epochs=0. Set at least one of them above 0."
        )
    if options.head_epochs == 0 and n_unfreeze == 0:
        raise InvalidConfigError(
            f"Nothing to train. Received: head_epochs=0 and unfreeze={plan.unfreeze!r}, which unfreezes no backbone "
            f"group, so the {options.fine_tune_epochs} fine-tune epoch(s) would be skipped. Set head_epochs above 0 "
            "to train the head, or unfreeze='all' / an int N to fine-tune."
        )
    make_optimizer(options.optimizer, 1e-3 if options.head_lr is None else options.head_lr)  # fail before any work
    return n_unfreeze


def _resolve_rates(plan, data, options, resume):
    """Stage rates: the interrupted run's (no second LR finder), else the plan's (LR finder with lr="auto")."""
    def resolve():
        return plan.resolve_rates(data.train_data, options.batch_size, data.loss, data.metrics)

    plan.use_rates(*(resume.rates_or(resolve) if resume is not None else resolve()))


def _scope(model):
    if getattr(model, "_distribute_strategy", None) is not None:  # built under a tf.distribute strategy
        return model.distribute_strategy.scope()
    return contextlib.nullcontext()


def fine_tune(model, train, validation=None, **options) -> FineTuneHistory:
    """Train a transfer model in two stages and return one merged History.

    Every option is a field of ``keras_transfer.training.options.FineTuneOptions`` (default, check, help); the
    stages are ``keras_transfer.training.stages`` objects run by ``keras_transfer.training.runner.Runner``.

    Stage 1 freezes the backbone (inference mode throughout) and trains the head at ``head_lr``. Stage 2
    unfreezes the last ``unfreeze`` layer groups (BatchNorm stays frozen unless ``train_bn``), recompiles
    with a fresh optimizer at the lower ``fine_tune_lr`` and continues the epoch count. All inputs are
    checked before any training starts.

    Args:
        model: TransferModel or MultiTaskModel (a ``keras_transfer.models.BaseTransferModel``: its hooks convert
            the data, choose the loss and refuse options its kind cannot use).
        train: ``(x, y)`` (NumPy arrays or lists of images, texts or waveforms), a batched ``tf.data.Dataset`` of
            ``(x, y)``, a ``keras.utils.PyDataset`` or a ``keras_transfer.data.Splits`` (its ``train`` split, and
            its ``validation`` split when ``validation`` is None). The same forms work in the model's
            ``predict`` / ``evaluate`` (``keras_transfer.models.inputs``).
        validation: the same forms but a Splits (pass ``splits.validation``), or None.
        **options: the training settings, each declared once in ``FineTuneOptions`` (default, check, help):
{options}

    Returns:
        FineTuneHistory: ``history`` over all epochs, ``stages`` with each stage's epochs, LR and mode.

    Raises:
        InvalidInputError: bad data (shape, channels, labels, NaN, lengths, empty).
        InvalidConfigError: bad arguments, or a ``checkpoint_dir`` holding a run with other settings.
        CheckpointError: ``checkpoint_dir`` not writable (checked before training), or a failed checkpoint write.
        TrainingDivergedError: the loss became NaN or infinite (with ``nan_guard``).

    Examples:
    >>> import numpy as np
    >>> name = keras_transfer.testing.register_tiny_backbone()  # or "mobilenet_v2", "efficientnet_lite0", ...
    >>> backbone = keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32))
    >>> model = keras_transfer.TransferModel(backbone, keras_transfer.ClassificationHead(2))
    >>> x, y = np.random.randint(0, 255, (8, 32, 32, 3), "uint8"), np.arange(8) % 2
    >>> history = keras_transfer.fine_tune(model, (x, y), head_epochs=1, fine_tune_epochs=1, verbose=0)
    >>> history.epoch, [stage["name"] for stage in history.stages]
    ([0, 1], ['head', 'fine_tune'])
    """
    options = FineTuneOptions.create(**options)
    with _scope(model):
        _check_model(model)
        train, validation = split_data(train, validation)  # a Splits: its train (and validation) split
        model.check_fine_tune_options(options)
        plan = StagePlan(model, options)  # lr="auto", unfreeze="gradual"
        n_unfreeze = _check_work(options, plan, len(model.backbone.layer_groups))
        if options.cache_dir is not None and options.head_epochs:
            check_cached_training(model, train, options.cache_dir)
        if options.checkpoint_dir is not None:  # before any data work: an unwritable directory fails at once
            TrainingCheckpoint(options.checkpoint_dir)
        if options.seed is not None:
            keras.utils.set_random_seed(options.seed)
        data = TrainingData(model, train, options)
        resume = None
        if options.checkpoint_dir is not None:
            resume = ResumableRun(options.checkpoint_dir, {
                **model.run_settings(), **options.run_settings(), "train_examples": data.n_examples()})
        data.add_validation(validation, options)
        _resolve_rates(plan, data, options, resume)
        if options.train_bn is not None:
            model.backbone.train_bn = bool(options.train_bn)
        data.choose_shuffle_seed(options.seed, resume)
        stages = build_stages(options, n_unfreeze, plan.policy)
        for stage in stages:
            stage.check(model, data, options)  # e.g. the adaptation method and its target inputs, before any work
        return Runner(model, data, plan, options, resume).run(stages)


fine_tune.__doc__ = fine_tune.__doc__.replace("{options}", FineTuneOptions.help_text("            "))
