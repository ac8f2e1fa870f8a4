"""`RecipeTuner`: a KerasTuner tuner whose trial is a whole recipe run in its own run folder.

KerasTuner's oracle (Bayesian optimisation or Hyperband) proposes values; ``run_trial`` applies them to the base
config as ``--set`` overrides, validates the result with the recipe's checks and runs ``Recipe.fit`` into
``<study>/trials/<trial id>/``. Every trial shares one feature cache (``<study>/feature_cache``), so trials that
only change stage-1 settings (head learning rate, label smoothing, ...) extract nothing. A ``MedianStopping``
callback stops weak trials. A trial interrupted by a kill is retried by the oracle after a restart and resumes its
run folder from its last complete epoch (``Recipe.resume``).
"""

import json
import os
import time

from keras_transfer.atomic import write_json
from keras_transfer.tuning.early_stopping import MedianStopping, TrialStopped

__all__ = ["RecipeTuner", "trial_config"]


def _tuner_base():
    import keras_tuner

    return keras_tuner.engine.base_tuner.BaseTuner


def trial_config(base: dict, space, values: dict, *, study_dir: str, trial_id: str, max_epochs=None) -> dict:
    """The raw recipe config of one trial: the base config, the trial's values, the study's folders.

    Args:
        base: dict. The resolved base config.
        space: SearchSpace.
        values: dict. KerasTuner values (``tuner/epochs`` sets the epoch budget under Hyperband).
        study_dir: str.
        trial_id: str.
        max_epochs: int or None. Hyperband's largest budget (the base config's head + fine-tune epochs).

    Returns:
        dict.
    """
    from keras_transfer.recipe import apply_overrides

    raw = apply_overrides(base, space.overrides(values))
    budget = values.get("tuner/epochs")
    if budget is not None and max_epochs:
        head, fine = raw["stages"]["head_epochs"], raw["stages"]["fine_tune_epochs"]
        total = max(1, head + fine)
        new_head = min(int(budget), max(1 if head else 0, round(head * budget / total)))
        raw["stages"] = dict(raw["stages"], head_epochs=new_head, fine_tune_epochs=int(budget) - new_head)
    raw["name"] = f"trial_{trial_id}"
    raw["output_dir"] = os.path.join(study_dir, "trials")
    raw["cache"] = {"enabled": True, "dir": os.path.join(study_dir, "feature_cache")}
    raw["export"] = []
    return raw


class RecipeTuner:
    """Builds the tuner (a factory over ``keras_tuner``'s ``BaseTuner``, imported only when a study runs).

    Args:
        oracle: a ``keras_tuner`` oracle.
        space: SearchSpace.
        base: dict. The resolved base config.
        defaults: dict or None. The config whose values the search space starts from (``search_defaults(base)``:
            rates written as numbers); None: ``base``.
        study_dir: str.
        objective: str. The logged metric the oracle optimises (``val_accuracy``, ``val_loss``...).
        maximize: bool.
        early_stopping: bool. Stop weak trials with the median rule.
        grace_epochs: int or None. Epochs before the rule applies; None: the trial's head epochs (the first check
            is at the end of stage 1).
        max_epochs: int or None. Hyperband's largest budget.
        quiet: bool.
        callbacks: extra Keras callbacks for every trial.
    """

    def __init__(self, oracle, space, base, study_dir, *, objective, maximize, early_stopping=True,
                 grace_epochs=None, max_epochs=None, quiet=True, callbacks=None, defaults=None):
        self.settings = dict(space=space, base=base, defaults=base if defaults is None else defaults,
                             study_dir=study_dir, objective=objective, maximize=maximize,
                             early_stopping=early_stopping, grace_epochs=grace_epochs, max_epochs=max_epochs,
                             quiet=quiet, callbacks=list(callbacks or []))
        self.oracle = oracle

    def create(self):
        import keras_tuner

        settings = self.settings
        space = settings["space"]

        class SpaceModel(keras_tuner.HyperModel):
            def build(self, hp):
                space.define(hp, settings["defaults"])

        class _RecipeTuner(_tuner_base()):
            records_file = os.path.join(settings["study_dir"], "trials.json")

            def __init__(self):
                self.settings = settings
                super().__init__(self_oracle, hypermodel=SpaceModel(), directory=settings["study_dir"],
                                 project_name="oracle", overwrite=False)
                self.records = self.read_records()

            @classmethod
            def read_records(cls):
                if not os.path.isfile(cls.records_file):
                    return {}
                with open(cls.records_file, encoding="utf-8") as handle:
                    return {record["trial_id"]: record for record in json.load(handle)}

            def write_records(self):
                write_json(self.records_file, sorted(self.records.values(), key=lambda r: r["number"]))

            def run_trial(self, trial, *args, **kwargs):
                return run_one(self, trial)

        self_oracle = self.oracle
        return _RecipeTuner()


def _curves(records):
    return [record["curve"] for record in records.values() if record.get("curve")]


def run_one(tuner, trial):
    """Run one trial (see the module docstring) and return ``{objective: value}`` for the oracle."""
    import yaml

    from keras_transfer.recipe import Recipe

    s = tuner.settings
    values = dict(trial.hyperparameters.values)
    raw = trial_config(s["base"], s["space"], values, study_dir=s["study_dir"], trial_id=trial.trial_id,
                       max_epochs=s["max_epochs"])
    run_dir = os.path.join(s["study_dir"], "trials", trial.trial_id)
    recipe = Recipe.from_dict(raw)
    grace = s["grace_epochs"] if s["grace_epochs"] is not None else recipe.config.stages.head_epochs
    monitor = MedianStopping(s["objective"], s["maximize"], _curves(tuner.records), grace,
                             enabled=s["early_stopping"]).create()
    callbacks = s["callbacks"] + [monitor]
    start = time.perf_counter()
    status, history = "complete", None
    previous = None
    config_path = os.path.join(run_dir, "config.yaml")
    if os.path.isfile(config_path):
        with open(config_path, encoding="utf-8") as handle:
            previous = yaml.safe_load(handle)
    try:
        if previous == recipe.to_dict() and _state(run_dir) == "complete":
            history = _read_json(os.path.join(run_dir, "history.json"))
        elif previous == recipe.to_dict() and _state(run_dir) in ("interrupted", "running", "failed"):
            history = Recipe.resume(run_dir, quiet=s["quiet"], callbacks=callbacks).history
        else:
            history = recipe.fit(run_dir=run_dir, overwrite=True, quiet=s["quiet"], callbacks=callbacks).history
    except TrialStopped as stop:
        status = f"stopped after epoch {stop.epoch}"
        _write_status(run_dir, "stopped early", str(stop))
    curve = list(monitor.curve)
    if history is not None:
        curve = [float(v) for v in history["history"].get(s["objective"], [])] or curve
    if not curve:
        raise ValueError(f"trial {trial.trial_id} logged no {s['objective']!r}: does the config have a validation "
                         "split (data.validation_size > 0)?")
    score = curve[-1]
    number = tuner.records.get(trial.trial_id, {}).get("number", len(tuner.records) + 1)
    tuner.records[trial.trial_id] = {
        "trial_id": trial.trial_id, "number": number, "score": score, "status": status,
        "values": dict(space_items(s["space"], values)),
        "budget": values.get("tuner/epochs"), "epochs": len(curve), "curve": curve,
        "seconds": round(time.perf_counter() - start, 1), "run_dir": run_dir,
    }
    tuner.write_records()
    return {s["objective"]: score}


def space_items(space, values):
    """``[(key, recipe value)]`` of a trial's searched values, in the space's order."""
    return [(".".join(path), value) for path, value in space.overrides(values)]


def _state(run_dir):
    status = _read_json(os.path.join(run_dir, "status.json")) or {}
    return status.get("state")


def _read_json(path):
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _write_status(run_dir, state, message):
    path = os.path.join(run_dir, "status.json")
    status = _read_json(path) or {}
    status.update(state=state, error=None, stopped=message)
    write_json(path, status)
