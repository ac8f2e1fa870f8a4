"""The tuning benchmark (``benchmarks/tuning.py``) on its narrower space: learning rates, discriminative factor,
how much to unfreeze and label smoothing; no augmentation or backbone choice, so every trial reuses one feature
extraction. Same base recipe, sizes, trials and seeds.

Run: ``python -m benchmarks tuning_lr``.
"""

from benchmarks import tuning

__all__ = ["run", "summary"]


def run():
    return tuning.run(space=tuning.LR_SPACE, study_root=tuning.LR_STUDY_ROOT, partial_name="tuning_lr.partial")


summary = tuning.summary

if __name__ == "__main__":  # pragma: no cover - python -m benchmarks.tuning_lr finalize
    import sys

    if sys.argv[1:2] == ["finalize"]:
        tuning.finalize_partial(tuning.LR_SPACE, tuning.LR_STUDY_ROOT, "tuning_lr")
