"""`fine_tune`: the two-stage transfer recipe (train the head, then unfreeze and fine-tune) in one call."""

import contextlib
import math
import random
from typing import Optional, Sequence

import keras
import numpy as np

from keras_transfer.errors import InvalidConfigError
from keras_transfer.optimizers.factory import make_optimizer
from keras_transfer.training.history import FineTuneHistory
from keras_transfer.training.seed import check_seed
from keras_transfer.training.stage_plan import StagePlan

__all__ = ["fine_tune", "make_optimizer"]


def _check_lr(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise InvalidConfigError(f"{name} must be a positive finite float. Received: {name}={value!r}.")
    return float(value)


def _check_epochs(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidConfigError(f"{name} must be an int ≥ 0. Received: {name}={value!r}.")
    return value


def _label_shape(data, y):
    """Shape of one batch of labels: from the arrays, or from a Dataset's element_spec; None if unknown."""
    if y is not None:
        return tuple(np.shape(y))
    spec = getattr(data, "element_spec", None)
    if isinstance(spec, tuple) and len(spec) >= 2 and getattr(spec[1], "shape", None) is not None:
        return tuple(spec[1].shape) if spec[1].shape.rank is not None else None
    return None


def _label_loss(model, label_shape):
    """Loss and metrics fitting the labels' form (one-hot labels on a softmax head need categorical CE)."""
    head = getattr(model, "head", None)  # None for a MultiTaskModel (each head brings its loss)
    if getattr(head, "multi_label", True) or getattr(head, "num_classes", None) is None:
        return None, None
    if label_shape is not None and len(label_shape) == 2 and label_shape[1] == head.num_classes > 1:
        return keras.losses.CategoricalCrossentropy(), [keras.metrics.CategoricalAccuracy(name="accuracy")]
    return None, None


def _resolve_unfreeze(unfreeze, n_groups):
    from keras_transfer.backbones.backbone import parse_trainable_mode

    if unfreeze in ("all", None):
        return n_groups
    if unfreeze == "none":
        return 0
    return parse_trainable_mode(unfreeze if not isinstance(unfreeze, int) else f"last:{unfreeze}", n_groups)


def fine_tune(
    model,
    train,
    validation=None,
    *,
    head_epochs: int = 5,
    fine_tune_epochs: int = 5,
    unfreeze="all",
    head_lr: Optional[float] = None,
    fine_tune_lr: Optional[float] = None,
    lr="fixed",
    lr_factor: Optional[float] = None,
    optimizer="adam",
    batch_size: int = 32,
    callbacks: Optional[Sequence[keras.callbacks.Callback]] = None,
    train_bn: Optional[bool] = None,
    verbose="auto",
    cache_dir=None,
    mixup: Optional[float] = None,
    cutmix: Optional[float] = None,
    checkpoint_dir=None,
    seed: Optional[int] = None,
    nan_guard: bool = True,
) -> FineTuneHistory:
    """Train a transfer model in two stages and return one merged History.

    Stage 1 freezes the backbone (inference mode throughout) and trains the head at ``head_lr``. Stage 2
    unfreezes the last ``unfreeze`` layer groups (BatchNorm stays frozen unless ``train_bn``), recompiles
    with a fresh optimizer at the lower ``fine_tune_lr`` and continues the epoch count. All inputs are
    checked before any training starts.

    Args:
        model: TransferModel (anything with ``.backbone`` and ``.head``).
        train: ``(x, y)`` (NumPy arrays or lists of images, texts or waveforms), a batched ``tf.data.Dataset`` of
            ``(x, y)``, a ``keras.utils.PyDataset`` or a ``keras_transfer.data.Splits`` (its ``train`` split, and
            its ``validation`` split when ``validation`` is None). The same forms work in the model's
            ``predict`` / ``evaluate`` (``keras_transfer.models.inputs``).
        validation: the same forms but a Splits (pass ``splits.validation``), or None.
        head_epochs: int. Epochs of stage 1 (0 skips it).
        fine_tune_epochs: int. Epochs of stage 2 (0 skips it).
        unfreeze: ``"all"``, ``"none"``, an int N (last N layer groups), ``"last:N"``, ``"gradual"`` (one more
            group per epoch) or a ``keras_transfer.callbacks.GradualUnfreezing`` policy.
        head_lr: float or None. Learning rate of stage 1; None: 1e-3, or the LR finder's suggestion with
            ``lr="auto"``.
        fine_tune_lr: float. Learning rate of stage 2 (with ``lr="auto"``: the top group's starting rate);
            defaults to ``head_lr / 10``.
        lr: ``"fixed"`` or ``"auto"``: LR finder for stage 1, per-group rates ramping up after unfreezing,
            warmup and plateau reduction, every rate logged (``keras_transfer.training.stage_plan.StagePlan``).
        lr_factor: float > 1 or None. Discriminative rates in stage 2: each backbone group ``lr_factor`` times
            slower than the one above (``keras_transfer.optimizers.discriminative``).
        optimizer: optimizer name, instance (its config is copied per stage) or ``lr -> optimizer`` callable.
        batch_size: int. Batch size for array inputs.
        callbacks: list of Keras callbacks, used in both stages.
        train_bn: bool or None. Let BatchNorm train in stage 2; None keeps the backbone's setting (its
            ``train_bn="auto"`` default: frozen for pretrained weights, trained for ``weights=None``).
        verbose: passed to ``fit``.
        cache_dir: str, os.PathLike or None. Run stage 1 as sequential training: extract the frozen backbone's
            features once into this cache (reused on later calls with the same backbone, weights and data),
            train the head on them, stitch it back and check it (``keras_transfer.features.train_head``).
            With ``model.augmentation`` the cache holds 4 augmented views per example. None: no cache.
        mixup: float > 0 or None. MixUp's Beta alpha (e.g. 0.2): training batches are mixed in a dataset
            transform (``keras_transfer.augmentation.MixUpCutMix``), targets become soft one-hot rows and the
            loss categorical cross-entropy. Classification heads only.
        cutmix: float > 0 or None. CutMix's Beta alpha (e.g. 1.0); with ``mixup`` too, each batch uses one.
        checkpoint_dir: str, os.PathLike or None. Save the run after every epoch (weights, optimizer state, stage,
            unfrozen groups, LR and callback state, history), atomically: write, then rename. Calling
            ``fine_tune`` again with the same model construction, settings and ``checkpoint_dir`` resumes at the
            last complete epoch and returns a history over all epochs; on a finished run it restores the final
            weights and returns the stored history without training. With array inputs the batch order per epoch
            is a function of the seed and the epoch, so a resumed run matches an uninterrupted one (with
            ``keras_transfer.set_seed`` before building the model: within float rounding). A stage trained on a
            feature cache (``cache_dir``) is checkpointed when it ends. None: no checkpoints.
        seed: int or None. Seed Python, NumPy, TensorFlow and Keras (``keras.utils.set_random_seed``) and draw
            each epoch's batch order from ``(seed, epoch)``. For identical initial weights too, call
            ``keras_transfer.set_seed(seed)`` before building the model (it also enables deterministic ops).
        nan_guard: bool. Stop at the first NaN / inf loss, put back the last good weights (end of the last finished
            epoch; the last good checkpoint stays) and raise ``TrainingDivergedError`` naming the learning rate.

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
    if getattr(model, "_distribute_strategy", None) is not None:  # built under a tf.distribute strategy
        scope = model.distribute_strategy.scope()
    else:
        scope = contextlib.nullcontext()
    with scope:
        return _fine_tune(
            model, train, validation, head_epochs=head_epochs, fine_tune_epochs=fine_tune_epochs, unfreeze=unfreeze,
            head_lr=head_lr, fine_tune_lr=fine_tune_lr, lr=lr, lr_factor=lr_factor, optimizer=optimizer,
            batch_size=batch_size, callbacks=callbacks, train_bn=train_bn, verbose=verbose, cache_dir=cache_dir,
            mixup=mixup, cutmix=cutmix, checkpoint_dir=checkpoint_dir, seed=seed, nan_guard=nan_guard,
        )


def _run_settings(model, *, head_epochs, fine_tune_epochs, unfreeze, head_lr, fine_tune_lr, lr, lr_factor,
                  optimizer, batch_size, n_train, seed, cache_dir, mixup, cutmix):
    """What a resumed run must share with the interrupted one (stored in the checkpoint)."""
    from keras_transfer.callbacks.unfreeze import GradualUnfreezing

    heads = getattr(model, "heads", None)
    if heads is not None:
        num_classes = {name: getattr(head, "num_classes", None) for name, head in heads.items()}
    else:
        num_classes = getattr(getattr(model, "head", None), "num_classes", None)
    if isinstance(unfreeze, GradualUnfreezing):
        unfreeze = f"GradualUnfreezing(schedule={unfreeze.schedule!r}, every={unfreeze.every})"
    return {
        "model": type(model).__name__,
        "backbone": getattr(getattr(model.backbone, "spec", None), "name", type(model.backbone).__name__),
        "backbone_groups": len(model.backbone.layer_groups),
        "num_classes": num_classes,
        "head_epochs": head_epochs,
        "fine_tune_epochs": fine_tune_epochs,
        "unfreeze": unfreeze if isinstance(unfreeze, (int, str, type(None))) else repr(unfreeze),
        "head_lr": head_lr,
        "fine_tune_lr": fine_tune_lr,
        "lr": lr,
        "lr_factor": lr_factor,
        "optimizer": optimizer if isinstance(optimizer, str) else type(optimizer).__name__,
        "batch_size": batch_size,
        "train_examples": n_train,
        "seed": seed,
        "cache_dir": cache_dir is not None,
        "mixup": mixup,
        "cutmix": cutmix,
    }


def _sample_inputs(x):
    """A small batch of inputs from ``fit``'s ``x`` (arrays, a dataset or a PyDataset), to build a model."""
    import tensorflow as tf

    if isinstance(x, tf.data.Dataset):
        batch = next(iter(x.take(1)))
        return batch[0] if isinstance(batch, (tuple, list)) else batch
    if isinstance(x, keras.utils.PyDataset):
        batch = x[0]
        return batch[0] if isinstance(batch, (tuple, list)) else batch
    if isinstance(x, dict):
        return {key: value[:2] for key, value in x.items()}
    return x[:2]


def _history_of(record: dict, model) -> keras.callbacks.History:
    history = keras.callbacks.History()
    history.epoch = list(record["epoch"])
    history.history = {key: list(values) for key, values in record["history"].items()}
    history.set_model(model)
    return history


def _fine_tune(model, train, validation, *, head_epochs, fine_tune_epochs, unfreeze, head_lr, fine_tune_lr, lr,
               lr_factor, optimizer, batch_size, callbacks, train_bn, verbose, cache_dir, mixup, cutmix,
               checkpoint_dir, seed, nan_guard) -> FineTuneHistory:
    backbone = getattr(model, "backbone", None)
    if backbone is None or not hasattr(backbone, "set_mode") or not (hasattr(model, "head") or hasattr(model, "heads")):
        raise InvalidConfigError(
            "fine_tune needs a keras_transfer model with a backbone and a head, e.g. "
            "keras_transfer.TransferModel(keras_transfer.backbones.get('mobilenet_v2'), ClassificationHead(n)). "
            f"Received: model of type {type(model).__name__}."
        )
    from keras_transfer.models.inputs import model_data, split_data  # the one input conversion (predict too)

    train, validation = split_data(train, validation)  # a Splits: its train (and validation) split
    if hasattr(model, "heads"):  # MultiTaskModel: no feature cache / MixUp (they use one head's labels)
        from keras_transfer.models.multi_task_model import check_fine_tune_options

        check_fine_tune_options(model, cache_dir=cache_dir, mixup=mixup, cutmix=cutmix)
    head_epochs = _check_epochs("head_epochs", head_epochs)
    fine_tune_epochs = _check_epochs("fine_tune_epochs", fine_tune_epochs)
    check_seed(seed, allow_none=True)
    if not isinstance(nan_guard, bool):
        raise InvalidConfigError(f"nan_guard must be True or False. Received: nan_guard={nan_guard!r}.")
    given = dict(unfreeze=unfreeze, head_lr=head_lr, fine_tune_lr=fine_tune_lr, lr=lr, lr_factor=lr_factor,
                 optimizer=optimizer, batch_size=batch_size, seed=seed, cache_dir=cache_dir, mixup=mixup, cutmix=cutmix)
    plan = StagePlan(model, lr, optimizer, head_lr, fine_tune_lr, lr_factor, unfreeze)  # lr="auto", "gradual"
    unfreeze = plan.unfreeze
    head_lr = _check_lr("head_lr", 1e-3 if head_lr is None else head_lr)
    fine_tune_lr = _check_lr("fine_tune_lr", head_lr / 10 if fine_tune_lr is None else fine_tune_lr)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidConfigError(f"batch_size must be a positive int. Received: batch_size={batch_size!r}.")
    n_unfreeze = _resolve_unfreeze(unfreeze, len(backbone.layer_groups))
    if head_epochs + fine_tune_epochs == 0:
        raise InvalidConfigError(
            "Nothing to train. Received: head_epochs=0 and fine_tune_epochs=0. Set at least one of them above 0."
        )
    if head_epochs == 0 and n_unfreeze == 0:
        raise InvalidConfigError(
            f"Nothing to train. Received: head_epochs=0 and unfreeze={unfreeze!r}, which unfreezes no backbone group, "
            f"so the {fine_tune_epochs} fine-tune epoch(s) would be skipped. Set head_epochs above 0 to train the "
            "head, or unfreeze='all' / an int N to fine-tune."
        )
    make_optimizer(optimizer, head_lr)  # fail on a bad optimizer before any work
    if cache_dir is not None and head_epochs:
        from keras_transfer.features.sequential import check_cached_training

        check_cached_training(model, train, cache_dir)

    run = None
    if checkpoint_dir is not None:  # before any data work: an unwritable directory fails at once
        from keras_transfer.training.checkpoint import TrainingCheckpoint

        TrainingCheckpoint(checkpoint_dir)
    if seed is not None:
        keras.utils.set_random_seed(seed)

    x, y, fit_batch, labels = model_data(model, train, "train", batch_size)
    if checkpoint_dir is not None:
        from keras_transfer.training.resume import ResumableRun

        n_train = len(y) if y is not None and not isinstance(y, dict) else (
            len(next(iter(y.values()))) if isinstance(y, dict) else None)
        run = ResumableRun(checkpoint_dir, _run_settings(
            model, head_epochs=head_epochs, fine_tune_epochs=fine_tune_epochs, n_train=n_train, **given))
    validation_data = None
    if validation is not None:
        vx, vy, _, _ = model_data(model, validation, "validation", batch_size)
        validation_data = vx if vy is None else (vx, vy)
    loss, metrics = _label_loss(model, _label_shape(train, labels))
    if mixup is not None or cutmix is not None:  # MixUp / CutMix: a dataset transform (keras_transfer.augmentation)
        from keras_transfer.augmentation.mixing import mixing_fit_arguments

        x, validation_data, loss, metrics = mixing_fit_arguments(
            model, x, y, validation_data, mixup=mixup, cutmix=cutmix, batch_size=batch_size, cache_dir=cache_dir
        )
        y, fit_batch = None, None
    if run is not None and run.rates is not None:  # resumed: the interrupted run's rates (no second LR finder)
        head_lr, fine_tune_lr = run.rates
        plan.resolved = (head_lr, fine_tune_lr)
    else:
        head_lr, fine_tune_lr = plan.resolve_rates(x if y is None else (x, y), batch_size, loss, metrics)
    callbacks = list(callbacks or [])
    if train_bn is not None:
        backbone.train_bn = bool(train_bn)

    # Batch order per epoch from (seed, epoch) for arrays, so a resumed run sees the uninterrupted run's batches.
    shuffle_seed = None
    if run is not None:
        shuffle_seed = run.shuffle_seed if run.shuffle_seed is not None else (
            seed if seed is not None else random.SystemRandom().randrange(2**31 - 1))
        run.shuffle_seed, run.rates = shuffle_seed, (head_lr, fine_tune_lr)
    elif seed is not None:
        shuffle_seed = seed
    epoch_batches = shuffle_seed is not None and y is not None and fit_batch is not None

    history = FineTuneHistory()
    stages = [("head", head_epochs, head_lr, 0)]
    if n_unfreeze > 0:
        stages.append(("fine_tune", fine_tune_epochs, fine_tune_lr, n_unfreeze))
    planned, epoch = [], 0
    for name, epochs, learning_rate, n_groups in stages:
        if epochs:
            planned.append((name, epoch, epochs, learning_rate, n_groups))
            epoch += epochs

    if run is not None and run.finished:  # a finished run: its weights and history, no training
        for done in run.completed:
            history.add_stage(done["name"], _history_of(done, model), done["learning_rate"], done["mode"])
        backbone.set_mode(int(run.state["unfrozen_groups"]))
        model.compile(optimizer=make_optimizer(optimizer, planned[-1][3]), loss=loss, metrics=metrics)
        model(_sample_inputs(x), training=False)
        run.restore_final(model)
        return history

    def fit_function(name):
        def fit(start, end, extra):
            fit_callbacks = list(extra) + callbacks
            if nan_guard:
                from keras_transfer.training.nan_guard import NanGuard

                fit_callbacks.append(NanGuard(stage=name, checkpoint_dir=checkpoint_dir))
            if run is not None:
                from keras_transfer.training.resume import EpochCheckpoint, RestoreCheckpoint

                policy = plan.policy if name == "fine_tune" else None
                writer = EpochCheckpoint(run, extra, callbacks, policy=policy)
                writer.before_fit()
                fit_callbacks = [RestoreCheckpoint(run)] + fit_callbacks + [writer]
            if epoch_batches:
                from keras_transfer.training.epoch_data import epoch_shuffled_dataset

                return model.fit(
                    epoch_shuffled_dataset(x, y, batch_size, shuffle_seed, start, end),
                    steps_per_epoch=math.ceil(len(labels if not isinstance(labels, dict) else
                                                  next(iter(labels.values()))) / batch_size),
                    epochs=end, initial_epoch=start, validation_data=validation_data, shuffle=False,
                    callbacks=fit_callbacks, verbose=verbose,
                )
            return model.fit(
                x, y, batch_size=fit_batch, epochs=end, initial_epoch=start, validation_data=validation_data,
                callbacks=fit_callbacks, verbose=verbose,
            )
        return fit

    for index, (name, start, epochs, learning_rate, n_groups) in enumerate(planned):
        if run is not None and run.stage_is_done(index):  # finished before the interruption
            done = run.completed[index]
            history.add_stage(name, _history_of(done, model), done["learning_rate"], done["mode"])
            continue
        backbone.set_mode(n_groups)
        resume_epoch = run.resume_epoch(index) if run is not None else None
        if resume_epoch is not None:
            model(_sample_inputs(x), training=False)  # variables must exist before the weights are restored
        if name == "head" and cache_dir is not None:  # sequential training on cached features
            from keras_transfer.features.sequential import train_head
            from keras_transfer.training.nan_guard import NanGuard

            if resume_epoch is not None:
                run.restore_final(model)
                run.restore_pending = False
            stage_history = train_head(
                model, x if y is None else (x, y), validation_data, cache_dir=cache_dir, epochs=epochs,
                optimizer=make_optimizer(optimizer, learning_rate), loss=loss, metrics=metrics,
                batch_size=batch_size, verbose=verbose, initial_epoch=start, seed=shuffle_seed,
                callbacks=callbacks + ([NanGuard(stage=name, checkpoint_dir=checkpoint_dir)] if nan_guard else []),
            )
            history.add_stage(name, stage_history, learning_rate, backbone.mode)
            if run is not None:  # checkpointed when the cached stage ends
                run.begin_stage(index, name, start, start + epochs, learning_rate)
                run.record = {"epochs": list(stage_history.epoch),
                              "history": {k: [float(v) for v in vs] for k, vs in stage_history.history.items()}}
                run.end_stage(backbone.mode)
                run.stage_index = index + 1
                run.save(model, None, next_epoch=start + epochs, mid_fit=False,
                         unfrozen_groups=backbone.unfrozen_groups, mode=backbone.mode, user_callbacks=callbacks,
                         at_stage_start=True)
            continue
        if run is not None:
            run.begin_stage(index, name, start, start + epochs, plan.stage_learning_rate(name))
        # `trainable` changes only take effect at compile time: every stage recompiles.
        model.compile(optimizer=plan.make_optimizer(name, learning_rate), loss=loss, metrics=metrics)
        stage_history = plan.fit_stage(
            name, start, epochs, fit_function(name), loss, metrics,
            plan.steps_per_epoch(x if y is None else (x, y), batch_size),
            "val_loss" if validation_data is not None else "loss", resume_epoch=resume_epoch,
        )
        if run is not None and run.stage_is_done(index):  # the whole stage, before and after an interruption
            done = run.completed[index]
            history.add_stage(name, _history_of(done, model), done["learning_rate"], done["mode"])
        else:
            history.add_stage(name, stage_history, plan.stage_learning_rate(name), backbone.mode)
    if run is not None:
        if run.restore_pending:  # every stage had finished before the interruption: only the weights are missing
            backbone.set_mode(int(run.state["unfrozen_groups"]))
            model(_sample_inputs(x), training=False)
            run.restore_final(model)
            run.restore_pending = False
        run.mark_finished(model, getattr(model, "optimizer", None))
    return history
