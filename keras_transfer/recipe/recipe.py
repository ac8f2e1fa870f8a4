"""`Recipe`: a whole transfer run from one config: data → backbone + head(s) → staged fit → report → exports."""

import dataclasses
import os
import time
import warnings
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from keras_transfer.errors import InvalidConfigError
from keras_transfer.recipe.checks import check_config, resolve_paths
from keras_transfer.recipe.overrides import apply_overrides
from keras_transfer.recipe.progress import Progress
from keras_transfer.recipe.run_folder import RunFolder, write_json
from keras_transfer.recipe.schema import RecipeConfig
from keras_transfer.recipe.validation import read_config_file, validate_config
from keras_transfer.training.options import FineTuneOptions

__all__ = ["Recipe", "RunResult"]


@dataclasses.dataclass
class RunResult:
    """What ``Recipe.fit`` returns.

    Attributes:
        run_dir: Path. The run folder.
        history: dict. ``FineTuneHistory.to_dict()`` (per-epoch metrics, stages).
        metrics: dict. ``model.evaluate`` on the evaluation split (``{}`` without one).
        evaluation: dict. The evaluation report (``{task: classification report}`` for classifiers).
        exports: list of dict. One ``ExportReport.to_dict()`` per export target.
        model: keras.Model. The trained model (last epoch).
        seconds: float. Wall time of the run.
    """

    run_dir: Path
    history: dict
    metrics: dict
    evaluation: dict
    exports: list
    model: object = None
    seconds: float = 0.0


def _streamed(split) -> bool:
    """Whether a split's images are a streamed folder's lazy view (``data.image_stream``)."""
    from keras_transfer.data.image_stream import StreamedImages

    return split is not None and isinstance(split[0], StreamedImages)


class _BestModel:
    """Builds a Keras callback saving the full model when the monitored value improves (its ``best`` is plain
    state, so ``fine_tune``'s checkpoints restore it on resume)."""

    @staticmethod
    def create(model, path, monitor):
        import keras

        class BestModel(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.best = float("inf")
                self.best_epoch = -1
                self.monitor = monitor
                self._full_model, self._path = model, str(path)  # the callback's own model is a head model in a
                # cached stage: the full model (sharing that head) is what gets saved

            def on_epoch_end(self, epoch, logs=None):
                value = (logs or {}).get(self.monitor)
                if value is None or not np.isfinite(value) or value >= self.best:
                    return
                self.best, self.best_epoch = float(value), int(epoch)
                tmp = self._path[: -len(".keras")] + ".tmp.keras"
                self._full_model.save(tmp)
                os.replace(tmp, self._path)

        return BestModel()


class Recipe:
    """A validated transfer recipe, ready to ``fit`` into a reproducible run folder.

    The config is checked completely when the recipe is made (schema, unknown keys with suggestions, backbone
    against data kind, data paths, contradicting options), so a bad config fails before any data is read.
    ``Recipe.from_file(path).fit()`` is what ``keras-transfer fit path`` runs.

    Args:
        config: dict (raw, as in a YAML file) or RecipeConfig.
        base_dir: str or None. Folder relative data / weights paths are read from (a config file's folder);
            None: the current directory.
        source: str. Named in error messages.

    Raises:
        InvalidConfigError: every problem, one line each, naming key, value received and allowed values.

    Examples:
    >>> recipe = keras_transfer.Recipe.from_file("examples/configs/image.yaml",
    ...                                          overrides=["stages.head_epochs=1"])  # doctest: +SKIP
    >>> result = recipe.fit()  # doctest: +SKIP
    >>> result.run_dir, result.metrics["accuracy"]  # doctest: +SKIP
    """

    def __init__(self, config, *, base_dir=None, source: str = ""):
        if isinstance(config, RecipeConfig):
            config = config.model_dump(mode="json")
        self.source = source
        validated = validate_config(config, source)
        validated = resolve_paths(validated, base_dir if base_dir is not None else os.getcwd())
        self.config = check_config(validated, source)

    # ------------------------------------------------------------------------------------------- making
    @classmethod
    def from_file(cls, path, overrides: Optional[Sequence[str]] = None) -> "Recipe":
        """A recipe from a YAML / JSON file, with ``key.path=value`` overrides applied before validation.

        Args:
            path: str or Path. ``.yaml``, ``.yml`` or ``.json``.
            overrides: list of str, e.g. ``["stages.head_epochs=1", "backbone.input_size=[64,64]"]``.

        Returns:
            Recipe.
        """
        raw = apply_overrides(read_config_file(path), overrides)
        return cls(raw, base_dir=os.path.dirname(os.path.abspath(os.fspath(path))), source=os.fspath(path))

    @classmethod
    def from_dict(cls, raw: dict, overrides: Optional[Sequence[str]] = None, base_dir=None) -> "Recipe":
        """A recipe from a raw dict, with overrides."""
        return cls(apply_overrides(raw, overrides), base_dir=base_dir)

    @classmethod
    def from_run(cls, run_dir) -> "Recipe":
        """The recipe a run folder was made with (its resolved ``config.yaml``): ``.fit()`` reproduces the run."""
        return cls.from_file(RunFolder.open(run_dir).config_path)

    def to_dict(self) -> dict:
        """The resolved config: every default filled in, absolute paths (what ``config.yaml`` holds)."""
        return self.config.model_dump(mode="json")

    # ------------------------------------------------------------------------------------------- running
    def fit(self, *, run_dir=None, overwrite: bool = False, quiet: bool = False, callbacks=None,
            argv=None) -> RunResult:
        """Train the recipe into a new run folder.

        Args:
            run_dir: str or None. The run folder; None: ``<output_dir>/<name>-<timestamp>``.
            overwrite: bool. Replace an existing ``run_dir`` (otherwise an existing folder is refused).
            quiet: bool. No progress output.
            callbacks: extra Keras callbacks for both stages.
            argv: list of str. The command line recorded in ``environment.json``.

        Returns:
            RunResult.

        Raises:
            InvalidConfigError: the run folder exists (pass ``overwrite`` or ``Recipe.resume``).
        """
        run = RunFolder.create(self.config.output_dir, self.config.name, run_dir=run_dir, overwrite=overwrite)
        run.write_config(self.to_dict())
        run.write_environment(argv)
        run.write_status("running")
        return self._run(run, quiet=quiet, callbacks=callbacks, resumed=False)

    @classmethod
    def resume(cls, run_dir, *, quiet: bool = False, callbacks=None) -> RunResult:
        """Continue an interrupted run in its own folder from its last complete epoch.

        Raises:
            InvalidConfigError: not a run folder, or the run is already complete.
        """
        run = RunFolder.open(run_dir)
        status = run.read_status()
        if status.get("state") == "complete":
            raise InvalidConfigError(
                f"The run is complete: nothing to resume. Received: {str(run.path)!r} (status complete). Reproduce it "
                f"in a new folder with keras-transfer fit {run.config_path}."
            )
        recipe = cls.from_file(run.config_path)
        run.write_status("running", resumed_from_state=status.get("state"))
        return recipe._run(run, quiet=quiet, callbacks=callbacks, resumed=True)

    def _run(self, run: RunFolder, *, quiet, callbacks, resumed) -> RunResult:
        try:
            return self._train(run, quiet=quiet, callbacks=callbacks, resumed=resumed)
        except BaseException as error:
            run.write_status("failed" if not isinstance(error, KeyboardInterrupt) else "interrupted",
                             error=f"{type(error).__name__}: {error}")
            raise

    def _train(self, run: RunFolder, *, quiet, callbacks, resumed) -> RunResult:
        import tensorflow as tf

        from keras_transfer.recipe.data_source import load_recipe_data
        from keras_transfer.training.fine_tune import fine_tune  # here, not at the top: it loads TF
        from keras_transfer.training.seed import set_seed  # here, not at the top: keras_transfer.training loads TF

        config = self.config
        start = time.perf_counter()
        steps = 5 + len(config.export)  # data, model, training, report, [exports], results
        progress = Progress(steps, quiet=quiet)
        progress.print(f"run folder: {run.path}{' (resumed)' if resumed else ''}")
        set_seed(config.seed, deterministic_ops=config.deterministic_ops)

        with progress.step(f"loading data ({config.data.kind})"):
            data = load_recipe_data(config)
            progress.print(f"    {data.summary()}")
        with progress.step(f"building {config.backbone.name} (weights: {config.backbone.weights})"):
            model = self.build_model(data)
            model(tf.constant(data.train[0][:1]))  # build every layer (eagerly), so the model saves at any time

        fit_callbacks = list(callbacks or [])
        validation = data.validation
        monitor = "val_loss" if validation is not None else "loss"
        fit_callbacks.append(_BestModel.create(model, run.best_model_path, monitor))
        tensorboard = self._tensorboard(run)
        if tensorboard is not None:
            fit_callbacks.append(tensorboard)
        cache_dir = None
        if config.cache.enabled:
            cache_dir = os.path.abspath(config.cache.dir or os.path.join(config.output_dir, "feature_cache"))
        options = FineTuneOptions.from_recipe(  # the config's keys (each option's recipe path), then run-time ones
            config, callbacks=fit_callbacks, verbose=progress.keras_verbose, checkpoint_dir=str(run.checkpoint_dir),
            cache_dir=cache_dir, **self._unlabeled(),
        ).as_kwargs()
        stage_names = "head" + (" + fine-tune" if config.stages.fine_tune_epochs else "")
        cached = " (stage 1 on cached features)" if config.cache.enabled else ""
        train = data.train
        if _streamed(train):  # a streamed image folder: its tf.data pipelines
            train, validation = train[0].dataset(), None if validation is None else validation[0].dataset()
        with progress.step(f"training: {stage_names}{cached}"):
            history = fine_tune(model, train, validation=validation, **options).to_dict()
        run.write_history(history)
        model.save(run.last_model_path)
        if not run.best_model_path.exists():
            model.save(run.best_model_path)
        run.write_status("training complete", epochs_done=len(history["epoch"]))

        with progress.step("writing the training curves and the evaluation report"):
            files = self._curves(run, history)
            metrics, evaluation = self._evaluate(run, model, data, progress)
            files.update(evaluation.pop("files", {}))
        exports = []
        for target in config.export:
            label = target.format + (f" {target.quantization}" if target.quantization else "")
            with progress.step(f"exporting {label}"):
                exports.append(self._export(run, model, data, target, history, quiet))
        seconds = round(time.perf_counter() - start, 1)
        results = {
            "name": config.name, "seed": config.seed, "metrics": metrics, "epochs": len(history["epoch"]),
            "stages": history["stages"], "seconds": seconds, "resumed": resumed, "files": files,
            "exports": exports,
        }
        with progress.step("writing results.json"):
            write_json(run / "results.json", results)
            run.write_status("complete", epochs_done=len(history["epoch"]), seconds=seconds)
        shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, float))
        progress.print(f"done in {seconds:.0f} s: {shown or 'no evaluation split'}\nrun folder: {run.path}")
        return RunResult(run.path, history, metrics, evaluation, exports, model, seconds)

    # ------------------------------------------------------------------------------------------- pieces
    def _unlabeled(self) -> dict:
        """``unlabeled=`` target inputs when the config has ``data.unlabeled`` (for ``adapt``), else nothing."""
        from keras_transfer.recipe.unlabeled import load_unlabeled  # here, not at the top: Pillow on use

        path = getattr(self.config.data, "unlabeled", None)
        if path is None:
            return {}
        size = self.config.backbone.input_size
        return {"unlabeled": load_unlabeled(path, image_size=tuple(size) if size and len(size) == 2 else None)}

    def build_model(self, data):
        """The TransferModel / MultiTaskModel the config describes, sized to ``data``'s classes."""
        import keras_transfer.augmentation as augmentations  # here, not at the top: they load TF
        import keras_transfer.backbones as backbones
        import keras_transfer.heads as heads_module
        import keras_transfer.models as models

        config = self.config
        b = config.backbone
        backbone = backbones.get(
            b.name, weights=b.weights, input_shape=tuple(b.input_size) if b.input_size else None, pooling=b.pooling,
            train_bn=b.train_bn,
        )
        augmentation = None
        if config.augmentation not in ("none", [], {}):
            augmentation = augmentations.get(config.augmentation, seed=config.seed)

        def head(spec, names):
            if spec.type == "regression":
                return heads_module.RegressionHead(spec.units, hidden_units=spec.hidden_units, dropout=spec.dropout)
            return heads_module.ClassificationHead(len(names), multi_label=spec.multi_label,
                                                   hidden_units=spec.hidden_units, dropout=spec.dropout)

        if config.heads is None:
            return models.TransferModel(backbone, head(config.head, data.class_names["output"]),
                                        augmentation=augmentation, shift_bias=config.shift_bias)
        heads = {task: head(spec, data.class_names[task]) for task, spec in config.heads.items()}
        head_optimizers = {task: spec.optimizer for task, spec in config.heads.items() if spec.optimizer is not None}
        return models.MultiTaskModel(backbone, heads, loss_weighting=config.loss_weighting,
                                     shift_bias=config.shift_bias, head_optimizers=head_optimizers or None,
                                     augmentation=augmentation)

    @staticmethod
    def _tensorboard(run):
        import keras

        try:
            import tensorboard  # noqa: F401  (tf.summary needs it since TensorFlow 2.21 stopped depending on it)
        except ImportError:
            warnings.warn("TensorBoard logs skipped: the tensorboard package is not installed "
                          "(pip install tensorboard).", stacklevel=3)
            return None
        return keras.callbacks.TensorBoard(log_dir=str(run.tensorboard_dir), write_graph=False)

    @staticmethod
    def _curves(run, history) -> dict:
        try:
            from keras_transfer.export.plots import plot_training_curves

            return {"curves": plot_training_curves(history["history"], str(run / "curves.png"), history["stages"])}
        except Exception as error:  # noqa: BLE001 - a missing matplotlib must not lose a trained run
            warnings.warn(f"curves.png skipped: {error}", stacklevel=3)
            return {}

    def _evaluation_split(self, data):
        split = self.config.evaluation.split
        return split, getattr(data, split)

    def _evaluate(self, run, model, data, progress):
        from keras_transfer.export import classification_report, format_classification_report

        name, split = self._evaluation_split(data)
        if split is None:
            progress.print(f"    no {name} split: evaluation skipped")
            return {}, {}
        x, y = split
        batch = self.config.evaluation.batch_size
        progress.print(f"    evaluating on {len(x)} {name} examples")
        if _streamed(split):  # batch by batch; labels come with the images (unreadable files skipped)
            dataset = x.dataset(batch_size=batch, shuffle=False)
            metrics = model.evaluate(dataset, verbose=progress.keras_verbose, return_dict=True)
            pairs = [(model.predict(images, verbose=0), labels) for images, labels in dataset.as_numpy_iterator()]
            outputs, y = np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])
        else:
            metrics = model.evaluate(x, y, batch_size=batch, verbose=progress.keras_verbose, return_dict=True)
            outputs = model.predict(x, batch_size=batch, verbose=progress.keras_verbose)
        metrics = {key: float(value) for key, value in metrics.items()}
        tasks = {"output": (outputs, y)} if self.config.heads is None else {t: (outputs[t], y[t]) for t in outputs}
        evaluation, files, markdown = {"split": name}, {}, []
        for task, (predicted, labels) in tasks.items():
            names = data.class_names[task]
            if names is None:  # regression
                labels = np.asarray(labels, dtype="float32").reshape(len(labels), -1)
                keep = np.all(np.isfinite(labels), axis=1)
                error = np.asarray(predicted).reshape(len(labels), -1)[keep] - labels[keep]
                evaluation[task] = {"mae": float(np.abs(error).mean()), "mse": float((error ** 2).mean()),
                                    "n_examples": int(keep.sum())}
                markdown.append(f"## {task}\n\nMAE {evaluation[task]['mae']:.4f}, MSE {evaluation[task]['mse']:.4f} "
                                f"on {int(keep.sum())} examples")
                continue
            labels = np.asarray(labels)
            keep = labels >= 0
            report = classification_report(labels[keep], np.asarray(predicted)[keep], names)
            evaluation[task] = report
            markdown.append(f"## {task}\n\n{format_classification_report(report)}")
            suffix = "" if task == "output" else f"_{task}"
            try:
                from keras_transfer.export.plots import plot_confusion_matrix

                files[f"confusion_matrix{suffix}"] = plot_confusion_matrix(
                    report["confusion_matrix"], report["class_names"], str(run / f"confusion_matrix{suffix}.png"))
            except Exception as error:  # noqa: BLE001
                warnings.warn(f"confusion matrix skipped: {error}", stacklevel=2)
        evaluation["metrics"] = metrics
        files["evaluation"] = write_json(run / "evaluation.json", evaluation)
        markdown_path = run / "evaluation.md"
        markdown_path.write_text(f"# Evaluation on the {name} split\n\n" + "\n\n".join(markdown) + "\n",
                                 encoding="utf-8")
        files["evaluation_md"] = str(markdown_path)
        evaluation["files"] = files
        return metrics, evaluation

    def _export(self, run, model, data, target, history, quiet) -> dict:
        from keras_transfer.export import export

        exports = run / "exports"
        exports.mkdir(exist_ok=True)
        stem = "model" + (f"_{target.quantization}" if target.quantization else "")
        path = exports / (stem if target.format == "saved_model" else f"{stem}.{target.format}")
        x_train = data.train[0]
        parity_split = data.test or data.validation
        parity = None
        if parity_split is not None:
            parity = (parity_split[0][: target.parity_size], parity_split[1][: target.parity_size])
        report = export(
            model, str(path), format=target.format, quantization=target.quantization,
            representative_data=x_train[: target.representative_size] if target.quantization == "int8" else None,
            parity_data=parity, class_names=data.class_names["output"], history=history, verbose=not quiet,
        )
        return report.to_dict()
