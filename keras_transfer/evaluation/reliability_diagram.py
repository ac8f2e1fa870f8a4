"""`plot_reliability_diagram`: accuracy against confidence per bin, with the expected calibration error."""

from typing import Optional, Sequence

from keras_transfer.evaluation.figures import figure, save_png
from keras_transfer.evaluation.metrics import expected_calibration_error, reliability_bins

__all__ = ["plot_reliability_diagram"]


def plot_reliability_diagram(probabilities, labels, path: Optional[str] = None, *, bins: int = 15,
                             compare=None, names: Sequence[str] = ("model", "calibrated")):
    """A reliability diagram as PNG: per confidence bin, the accuracy (bars) against the diagonal of perfect
    calibration, the bins' counts below, and the ECE in the legend.

    Args:
        probabilities: float array ``(n, classes)``.
        labels: int class ids ``(n,)`` or one-hot ``(n, classes)``.
        path: str or None. PNG file to write; None returns the PNG bytes.
        bins: int. Equal-width confidence bins.
        compare: float array ``(n, classes)`` or None. A second set of probabilities drawn beside the first
            (e.g. after ``keras_transfer.calibrate``).
        names: pair of str. Legend names of ``probabilities`` and ``compare``.

    Returns:
        str (``path``) or bytes.

    Examples:
    >>> import numpy as np
    >>> p = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7]])
    >>> keras_transfer.evaluation.plot_reliability_diagram(p, [0, 1, 1], "/tmp/reliability.png")
    '/tmp/reliability.png'
    """
    sets = [(names[0], probabilities)] + ([] if compare is None else [(names[1], compare)])
    fig, (axis, counts) = figure(shape=(2, 1), figsize=(5, 6), gridspec_kw={"height_ratios": (3, 1)})
    width = 1.0 / bins / len(sets)
    for i, (name, p) in enumerate(sets):
        table = reliability_bins(p, labels, bins)
        lefts = [edge + i * width for edge in table["edges"][:-1]]
        accuracy = [a if a is not None else 0.0 for a in table["accuracy"]]
        ece = expected_calibration_error(p, labels, bins)
        axis.bar(lefts, accuracy, width=width, align="edge", alpha=0.75, edgecolor="black", linewidth=0.5,
                 label=f"{name} (ECE {ece:.3f})")
        counts.bar(lefts, table["count"], width=width, align="edge", alpha=0.75)
    axis.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect calibration")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.set_ylabel("accuracy")
    axis.set_title("reliability diagram")
    axis.legend(loc="upper left", fontsize=8)
    counts.set_xlim(0, 1)
    counts.set_xlabel("confidence (top probability)")
    counts.set_ylabel("examples")
    fig.tight_layout()
    return save_png(fig, path)
