"""The validation shift of the adaptation benchmark. Run: ``python -m benchmarks adaptation_validation``.

MNIST-5k -> MNIST-5k test images inverted, noisy and green-tinted (``benchmarks.adaptation.shift_mnist``), one
seed, every method from the same source model as ``benchmarks/adaptation.py``. Its target labels are used to
choose the rule of ``adapt="auto"`` (which label-free signals to trust, with which thresholds) before the
benchmark's own shifts are measured; those never inform a choice.
"""

__all__ = ["run", "summary"]


def run() -> dict:
    from benchmarks.adaptation import run as run_shifts
    from benchmarks.adaptation import validation_shift

    return run_shifts(validation_shift(), seeds=(0,))


def summary(results: dict) -> str:
    from benchmarks.adaptation import summary as shifts_summary

    return shifts_summary(results).replace("# Adapting to a shifted target without its labels",
                                           "# Adaptation: the validation shift (for auto's rule only)", 1)
