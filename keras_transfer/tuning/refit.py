"""`refit`: train a recipe config on its training and validation splits together, then test it.

After a search has used the validation split to choose a config, the chosen config is trained once more on
train + validation (more labels, same seed) and scored on the test split, which no trial has seen in the choice.
"""

import os
import time

import numpy as np

from keras_transfer.atomic import write_json

__all__ = ["refit"]


def _concat(a, b):
    if b is None:
        return a
    if isinstance(a[1], dict):
        return np.concatenate([a[0], b[0]]), {task: np.concatenate([a[1][task], b[1][task]]) for task in a[1]}
    return np.concatenate([a[0], b[0]]), np.concatenate([a[1], b[1]])


def refit(config, out_dir, *, seed=None, quiet: bool = True) -> dict:
    """Fit ``config`` on train + validation with its seed (or ``seed``) and evaluate it on the test split.

    Args:
        config: a recipe config path, raw dict or ``keras_transfer.Recipe``.
        out_dir: str. Folder for ``model.keras`` and ``results.json`` (created).
        seed: int or None. Replaces the config's seed (None: keep it).
        quiet: bool. No Keras progress output.

    Returns:
        dict: ``metrics`` (test split; ``{}`` without one), ``seed``, ``train_examples``, ``seconds``,
        ``model`` (path).

    Examples:
    >>> result = keras_transfer.tuning.refit("study/best_config.yaml", "study/refit")  # doctest: +SKIP
    >>> result["metrics"]["accuracy"]  # doctest: +SKIP
    """
    from keras_transfer.recipe import Recipe
    from keras_transfer.recipe.data_source import load_recipe_data
    from keras_transfer.training import fine_tune, set_seed
    from keras_transfer.training.options import FineTuneOptions

    if isinstance(config, Recipe):
        recipe = config
    elif isinstance(config, dict):
        recipe = Recipe.from_dict(config)
    else:
        recipe = Recipe.from_file(config)
    if seed is not None:
        recipe = Recipe.from_dict(recipe.to_dict(), overrides=[(["seed"], int(seed))])
    settings = recipe.config
    os.makedirs(out_dir, exist_ok=True)
    start = time.perf_counter()
    set_seed(settings.seed, deterministic_ops=settings.deterministic_ops)
    data = load_recipe_data(settings)
    train = _concat(data.train, data.validation)
    model = recipe.build_model(data)
    model(train[0][:1])
    cache_dir = None
    if settings.cache.enabled:
        cache_dir = os.path.abspath(settings.cache.dir or os.path.join(settings.output_dir, "feature_cache"))
    options = FineTuneOptions.from_recipe(settings, verbose=0 if quiet else "auto", cache_dir=cache_dir).as_kwargs()
    history = fine_tune(model, train, validation=None, **options).to_dict()
    metrics = {}
    if data.test is not None:
        values = model.evaluate(*data.test, batch_size=settings.evaluation.batch_size, verbose=0, return_dict=True)
        metrics = {key: float(value) for key, value in values.items()}
    path = os.path.join(out_dir, "model.keras")
    model.save(path)
    result = {"metrics": metrics, "seed": int(settings.seed), "train_examples": int(len(train[0])),
              "epochs": len(history["epoch"]), "seconds": round(time.perf_counter() - start, 1), "model": path}
    write_json(os.path.join(out_dir, "results.json"), result)
    return result
