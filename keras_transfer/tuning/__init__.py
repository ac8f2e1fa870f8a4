"""Searching a whole transfer recipe (stages, learning rates, augmentation, backbone) with KerasTuner.

- ``tune(config, space, trials=N, study_dir=...)`` → ``TuneResult``: KerasTuner's Bayesian optimisation or
  Hyperband over any recipe key; each trial a recipe run folder; weak trials stopped by the median rule; the study
  resumes after a kill; the best config written, refitted on train + validation and plotted
  (``keras-transfer tune CONFIG --space SPACE.yaml --trials N``).
- ``SearchSpace``: the search-space file, validated by the recipe's config validation.
- ``refit``: a config trained on train + validation and scored on test.
"""

from keras_transfer.tuning.early_stopping import MedianStopping, TrialStopped, median_stop
from keras_transfer.tuning.refit import refit
from keras_transfer.tuning.space import Parameter, SearchSpace
from keras_transfer.tuning.tune import ALGORITHMS, TuneResult, tune

__all__ = [
    "ALGORITHMS",
    "MedianStopping",
    "Parameter",
    "SearchSpace",
    "TrialStopped",
    "TuneResult",
    "median_stop",
    "refit",
    "tune",
]
