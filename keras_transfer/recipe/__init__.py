"""Config-driven transfer runs: one YAML / JSON file (or ``keras-transfer fit``) → a reproducible run folder.

- ``Recipe.from_file(path, overrides)`` validates a config (``RecipeConfig``) completely before any work;
  ``Recipe.fit()`` trains it into ``runs/<name>-<timestamp>/`` (``RunFolder``); ``Recipe.resume(run_dir)``
  continues an interrupted run; ``Recipe.from_run(run_dir).fit()`` reproduces one.
- ``apply_overrides`` / ``parse_override``: ``key.path=value`` settings (``--set``).
- ``photo_recipe(folder_or_array, backbone)``: whether data are photos, and the settings ``fit --data DIR`` then
  chooses (``recipe.photo``).
"""

from keras_transfer.recipe.checks import check_config
from keras_transfer.recipe.overrides import apply_overrides, parse_override
from keras_transfer.recipe.photo import PhotoRecipe, photo_recipe
from keras_transfer.recipe.progress import Progress
from keras_transfer.recipe.recipe import Recipe, RunResult
from keras_transfer.recipe.run_folder import RunFolder
from keras_transfer.recipe.schema import RecipeConfig
from keras_transfer.recipe.validation import read_config_file, validate_config

__all__ = [
    "PhotoRecipe",
    "Progress",
    "Recipe",
    "RecipeConfig",
    "RunFolder",
    "RunResult",
    "apply_overrides",
    "check_config",
    "parse_override",
    "photo_recipe",
    "read_config_file",
    "validate_config",
]
