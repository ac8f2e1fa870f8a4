"""`tune`: search a recipe's settings with KerasTuner, each trial a whole recipe run, resumable after a kill.

Study folder::

    base_config.yaml   the resolved base config         space.yaml    the search space
    oracle/            KerasTuner's oracle state (trial values, scores, the Bayesian / Hyperband state)
    trials/<id>/       one recipe run folder per trial   feature_cache/  shared by every trial
    trials.json        per trial: values, score, status (complete / stopped early), curve, seconds
    trials.png         score per trial and the best so far
    best_config.yaml   the best trial's config (``keras-transfer fit best_config.yaml`` reproduces it)
    refit/             the best config trained on train + validation with its seed, scored on test
    study.json         the summary

Running ``tune`` again on the same folder with the same base config and space continues the study: finished
trials are kept, an interrupted one resumes from its last complete epoch, and the remaining trials run.
"""

import dataclasses
import os
import time
from typing import Optional

from keras_transfer.atomic import write_file, write_json
from keras_transfer.errors import InvalidConfigError
from keras_transfer.tuning.space import SearchSpace

__all__ = ["ALGORITHMS", "TuneResult", "initial_points", "search_defaults", "tune"]

ALGORITHMS = ("bayesian", "hyperband")


@dataclasses.dataclass
class TuneResult:
    """What ``tune`` returns.

    Attributes:
        study_dir: str.
        best_config: dict. The best trial's raw recipe config (also ``best_config.yaml``).
        best_score: float. Its objective on the validation split.
        best_trial: str. Its trial id.
        trials: list of dict. One record per trial (``trials.json``).
        refit: dict or None. ``refit``'s result (test metrics of the best config trained on train + validation).
        seconds: float. Wall time of this call.
    """

    study_dir: str
    best_config: dict
    best_score: float
    best_trial: str
    trials: list
    refit: Optional[dict]
    seconds: float


def _base_config(config):
    from keras_transfer.recipe import Recipe

    if isinstance(config, Recipe):
        return config
    if isinstance(config, dict):
        return Recipe.from_dict(config)
    return Recipe.from_file(config)


def _check_study(study_dir, base, space):
    """Refuse a study folder that holds another search (other base config or space)."""
    import yaml

    for name, expected in (("base_config.yaml", base), ("space.yaml", space)):
        path = os.path.join(study_dir, name)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                found = yaml.safe_load(handle)
            if found != expected:
                raise InvalidConfigError(
                    f"The study folder holds another search: its {name} differs from this one. Received: "
                    f"study_dir={study_dir!r}. Use a new study folder, or pass overwrite=True (--overwrite) to "
                    "start this search there from scratch."
                )


def initial_points(trials: int, dimensions: int) -> int:
    """Random trials before the Gaussian process proposes any: KerasTuner's default, three per dimension, capped
    at half the study (with the default 3 × dimensions a 7-key space would spend all 20 trials at random).

    Examples:
    >>> from keras_transfer.tuning.tune import initial_points
    >>> initial_points(20, 7), initial_points(100, 7), initial_points(4, 1)
    (10, 21, 3)
    """
    return max(3, min(3 * dimensions, trials // 2))


def search_defaults(base: dict) -> dict:
    """``base`` with the learning rates ``fine_tune`` would resolve without data written as numbers (under
    ``optimizer.lr: fixed``: ``training.stage_plan.default_rates``), so a search space over the rates can hold the
    base config and its first trial run it.

    Examples:
    >>> from keras_transfer.tuning.tune import search_defaults
    >>> search_defaults({"optimizer": {"lr": "fixed"}})["optimizer"]
    {'lr': 'fixed', 'head_lr': 0.001, 'fine_tune_lr': 0.0001}
    >>> search_defaults({"optimizer": {"lr": "auto"}})["optimizer"]  # the LR finder decides: left unset
    {'lr': 'auto'}
    """
    from keras_transfer.training.stage_plan import default_rates

    optimizer = dict(base.get("optimizer") or {})
    if optimizer.get("lr", "fixed") != "auto":
        optimizer["head_lr"], optimizer["fine_tune_lr"] = default_rates(optimizer.get("head_lr"),
                                                                        optimizer.get("fine_tune_lr"))
    return {**base, "optimizer": optimizer}


def _oracle(algorithm, objective, trials, max_epochs, seed, dimensions=1, base_first=True):
    import keras_tuner

    target = keras_tuner.Objective(objective[0], "max" if objective[1] else "min")
    if algorithm == "bayesian":

        class BaseFirstBayesianOracle(keras_tuner.oracles.BayesianOptimizationOracle):
            """The study's first trial runs the base config's values (the search space's defaults, when the space
            holds them), so the best trial never scores below the config the user started from; then KerasTuner's
            search."""

            def populate_space(self, trial_id):
                if not self.trials and base_first:
                    return {"status": "RUNNING",
                            "values": {hp.name: hp.default for hp in self.hyperparameters.space}}
                return super().populate_space(trial_id)

        try:
            return BaseFirstBayesianOracle(target, max_trials=trials, seed=seed, max_consecutive_failed_trials=trials,
                                           num_initial_points=initial_points(trials, dimensions))
        except ImportError as error:
            raise InvalidConfigError(
                f"Bayesian optimisation needs scipy and scikit-learn ({error}). Received: algorithm='bayesian'. "
                "pip install scikit-learn, or use algorithm='hyperband'."
            ) from error
    oracle = keras_tuner.oracles.HyperbandOracle(target, max_epochs=max_epochs, factor=3, seed=seed,
                                                 max_consecutive_failed_trials=trials)
    oracle.max_trials = trials  # the base oracle stops at max_trials
    return oracle


def _write_outputs(study_dir, tuner, objective, maximize):
    import yaml

    records = sorted(tuner.records.values(), key=lambda r: r["number"])
    scored = [r for r in records if r.get("score") is not None]
    if not scored:
        raise InvalidConfigError(
            f"No trial of the study finished with a score. Received: study_dir={study_dir!r}. Read the trials' "
            "status.json files (and oracle/trial_*/trial.json) for the errors."
        )
    best = (max if maximize else min)(scored, key=lambda r: r["score"])
    with open(os.path.join(best["run_dir"], "config.yaml"), encoding="utf-8") as handle:
        best_config = yaml.safe_load(handle)
    best_config = dict(best_config, name="best", output_dir=os.path.join(study_dir, "runs"))
    header = (f"# Best config of the study {study_dir} (trial {best['trial_id']}, {objective} {best['score']:.4f}).\n"
              "# keras-transfer fit THIS_FILE reproduces it.\n")
    write_file(os.path.join(study_dir, "best_config.yaml"), header + yaml.safe_dump(best_config, sort_keys=False))
    try:
        from keras_transfer.tuning.plot import plot_trials

        plot_trials(records, os.path.join(study_dir, "trials.png"), objective, maximize)
    except ImportError as error:  # matplotlib is optional
        import warnings

        warnings.warn(f"trials.png skipped: {error}", stacklevel=3)
    return best, best_config, records


def tune(config, space, trials: int = 20, study_dir=None, *, algorithm: str = "bayesian",
         objective: str = "val_accuracy", early_stopping: bool = True, grace_epochs: Optional[int] = None,
         refit: bool = True, overwrite: bool = False, seed: Optional[int] = None, quiet: bool = True,
         callbacks=None) -> TuneResult:
    """Search recipe settings with KerasTuner; each trial is a whole recipe run in its own run folder.

    Args:
        config: the base recipe: a YAML / JSON path, a raw dict or a ``keras_transfer.Recipe``. It needs a
            validation split (the objective is measured there).
        space: the search space: a YAML / JSON path, a dict or a ``SearchSpace`` (``keras_transfer.tuning.space``
            describes the format). Any recipe key: ``stages.unfreeze``, ``optimizer.head_lr``,
            ``optimizer.fine_tune_lr``, ``optimizer.lr_factor``, ``augmentation``, ``label_smoothing``,
            ``backbone.name``, ...
        trials: int ≥ 1. Trials in the study (a resumed study counts the finished ones).
        study_dir: str or None. The study folder; None: ``<output_dir>/<name>-study``.
        algorithm: ``"bayesian"`` (Gaussian-process Bayesian optimisation: the first trial runs the base
            config's values when the space holds them, rates resolved by ``search_defaults``; then random trials
            up to ``initial_points``, then the Gaussian process's proposals)
            or ``"hyperband"`` (budgets of epochs; the largest is the base config's head + fine-tune epochs; each
            trial trains from scratch).
        objective: str. A metric logged on the validation split; ``*loss*`` is minimised, anything else maximised.
        early_stopping: bool. Stop a trial whose objective falls below the median of earlier trials at the same
            epoch (from the end of stage 1 on, or after ``grace_epochs``).
        grace_epochs: int or None. Epochs before a trial may be stopped; None: its head epochs.
        refit: bool. Train the best config on train + validation with its seed and score it on the test split.
        overwrite: bool. Delete the study folder's previous search first.
        seed: int or None. The oracle's seed (None: the base config's seed).
        quiet: bool. No per-trial progress output.
        callbacks: extra Keras callbacks for every trial.

    Returns:
        TuneResult.

    Raises:
        InvalidConfigError: a bad base config, a search-space key or value the recipe refuses (naming the key),
            a study folder holding another search, no validation split.

    Examples:
    >>> result = keras_transfer.tune("examples/configs/image.yaml", "examples/tuning/space.yaml",
    ...                              trials=20, study_dir="studies/animals")  # doctest: +SKIP
    >>> result.best_score, result.refit["metrics"]["accuracy"]  # doctest: +SKIP
    """
    import shutil

    import yaml

    start = time.perf_counter()
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise InvalidConfigError(f"trials must be an int ≥ 1. Received: trials={trials!r}.")
    if algorithm not in ALGORITHMS:
        raise InvalidConfigError(f"Unknown algorithm. Received: algorithm={algorithm!r}. Use one of {ALGORITHMS}.")
    recipe = _base_config(config)
    base = recipe.to_dict()
    space = SearchSpace.coerce(space)
    space.validate(base)
    validation = base["data"].get("validation_size", 0.1)
    if objective.startswith("val_") and validation == 0:
        raise InvalidConfigError(
            f"The objective {objective!r} needs a validation split. Received: data.validation_size=0. Set it to a "
            "fraction (e.g. 0.1) or a count."
        )
    maximize = "loss" not in objective
    study_dir = os.path.abspath(os.fspath(study_dir or os.path.join(base["output_dir"], f"{base['name']}-study")))
    if overwrite and os.path.isdir(study_dir):
        shutil.rmtree(study_dir)
    _check_study(study_dir, base, space.to_dict())
    os.makedirs(os.path.join(study_dir, "trials"), exist_ok=True)
    write_file(os.path.join(study_dir, "base_config.yaml"), yaml.safe_dump(base, sort_keys=False))
    write_file(os.path.join(study_dir, "space.yaml"), yaml.safe_dump(space.to_dict(), sort_keys=False))

    from keras_transfer.tuning.recipe_tuner import RecipeTuner

    max_epochs = max(1, base["stages"]["head_epochs"] + base["stages"]["fine_tune_epochs"])
    defaults = search_defaults(base)
    oracle = _oracle(algorithm, (objective, maximize), trials, max_epochs, base["seed"] if seed is None else seed,
                     len(space.keys), base_first=space.holds(defaults))
    tuner = RecipeTuner(oracle, space, base, study_dir, defaults=defaults, objective=objective, maximize=maximize,
                        early_stopping=early_stopping, grace_epochs=grace_epochs,
                        max_epochs=max_epochs if algorithm == "hyperband" else None, quiet=quiet,
                        callbacks=callbacks).create()
    tuner.save()  # so a kill during the first trial resumes it too
    tuner.search(verbose=0 if quiet else 1)
    best, best_config, records = _write_outputs(study_dir, tuner, objective, maximize)
    refit_result = None
    if refit:
        from keras_transfer.tuning.refit import refit as refit_config

        refit_result = refit_config(os.path.join(study_dir, "best_config.yaml"), os.path.join(study_dir, "refit"),
                                    quiet=quiet)
    seconds = round(time.perf_counter() - start, 1)
    write_json(os.path.join(study_dir, "study.json"), {
        "algorithm": algorithm, "objective": objective, "trials": len(records), "best_trial": best["trial_id"],
        "best_score": best["score"], "best_values": best["values"], "refit": refit_result,
        "trial_seconds": round(sum(r["seconds"] for r in records), 1), "seconds_this_call": seconds,
        "stopped_early": sum(r["status"] != "complete" for r in records),
    })
    return TuneResult(study_dir, best_config, best["score"], best["trial_id"], records, refit_result, seconds)
