"""`MedianStopping`: stop a trial whose validation score falls below the median of earlier trials at that epoch.

The median stopping rule (Golovin et al., 2017, "Google Vizier"): after ``grace_epochs`` epochs, a trial whose
objective at epoch ``k`` is worse than the median of the finished trials' values at their epoch ``k`` stops there.
It raises ``TrialStopped`` from the epoch end, so the recipe run ends at once (no further stage, no evaluation);
the tuner records the trial's last value as its score.
"""

import statistics

__all__ = ["MedianStopping", "TrialStopped", "median_stop"]


class TrialStopped(Exception):
    """Raised inside a trial's training when the stopping rule stops it.

    Attributes:
        epoch: int. Epochs completed (1-based count).
        value: float. The objective at that epoch.
    """

    def __init__(self, epoch: int, value: float, median: float):
        super().__init__(f"stopped after epoch {epoch}: {value:.4f} is worse than the median {median:.4f} of "
                         "earlier trials at that epoch")
        self.epoch, self.value, self.median = epoch, value, median


def median_stop(value: float, earlier_values, maximize: bool, min_trials: int = 2):
    """The median to beat when ``value`` should stop the trial, else None (a pure function of the numbers).

    Args:
        value: float. This trial's objective at epoch ``k``.
        earlier_values: list of float. Finished trials' objectives at their epoch ``k``.
        maximize: bool. Higher is better.
        min_trials: int. Fewer earlier values than this never stop a trial.

    Returns:
        float or None.

    Examples:
    >>> keras_transfer.tuning.median_stop(0.5, [0.6, 0.7, 0.8], maximize=True)
    0.7
    >>> keras_transfer.tuning.median_stop(0.75, [0.6, 0.7, 0.8], maximize=True) is None
    True
    """
    if len(earlier_values) < min_trials:
        return None
    median = statistics.median(earlier_values)
    worse = value < median if maximize else value > median
    return median if worse else None


def _callback_base():
    import keras

    return keras.callbacks.Callback


class MedianStopping:
    """Builds the Keras callback of one trial (a factory, so this module loads without Keras).

    Args:
        objective: str. The logged metric (e.g. ``"val_accuracy"``).
        maximize: bool.
        curves: list of lists: the finished trials' per-epoch objective values.
        grace_epochs: int. Epochs before the rule applies.
        enabled: bool. False only records the curve.

    Examples:
    >>> callback = keras_transfer.tuning.MedianStopping("val_accuracy", True, [[0.9], [0.8]], 0).create()
    >>> callback.curve
    []
    """

    def __init__(self, objective: str, maximize: bool, curves, grace_epochs: int, enabled: bool = True):
        self.objective, self.maximize, self.curves = objective, maximize, curves
        self.grace_epochs, self.enabled = grace_epochs, enabled

    def create(self):
        rule = self

        class TrialMonitor(_callback_base()):
            def __init__(self):
                super().__init__()
                self.curve = []

            def on_epoch_end(self, epoch, logs=None):
                value = (logs or {}).get(rule.objective)
                if value is None:
                    return
                self.curve.append(float(value))
                k = len(self.curve)
                if not rule.enabled or k <= rule.grace_epochs:
                    return
                earlier = [curve[k - 1] for curve in rule.curves if len(curve) >= k]
                median = median_stop(float(value), earlier, rule.maximize)
                if median is not None:
                    raise TrialStopped(k, float(value), median)

        return TrialMonitor()
