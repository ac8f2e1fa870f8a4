"""auto's selection rule on fixed label-free signals: source guard, agreement of both signals, margin, sum."""

import pytest

from keras_transfer.adaptation import AutoAdaptation
from keras_transfer.adaptation.auto import select

BASE = {"source_accuracy": 0.80, "target_score": 0.20, "reverse_accuracy": 0.30}


def pick(margin=0.05, tolerance=0.02, **candidates):
    return select({"source_only": BASE, **candidates}, source_tolerance=tolerance, margin=margin)


def test_both_signals_must_gain_more_than_the_margin():
    only_score = {"source_accuracy": 0.80, "target_score": 0.60, "reverse_accuracy": 0.30}  # reverse unchanged
    only_reverse = {"source_accuracy": 0.80, "target_score": 0.19, "reverse_accuracy": 0.70}  # less sure
    assert pick(a=only_score, b=only_reverse) == "source_only"
    both = {"source_accuracy": 0.80, "target_score": 0.26, "reverse_accuracy": 0.36}
    assert pick(c=both) == "c"
    assert pick(margin=0.07, c=both) == "source_only"


def test_the_source_guard_and_then_the_highest_sum():
    broke_source = {"source_accuracy": 0.70, "target_score": 0.90, "reverse_accuracy": 0.90}
    confident = {"source_accuracy": 0.79, "target_score": 0.50, "reverse_accuracy": 0.40}  # sum 0.90
    classes_kept = {"source_accuracy": 0.80, "target_score": 0.30, "reverse_accuracy": 0.65}  # sum 0.95
    assert pick(a=broke_source, b=confident, c=classes_kept) == "c"
    assert pick(tolerance=0.2, a=broke_source, b=confident, c=classes_kept) == "a"
    assert pick(a=broke_source, b=confident) == "b"


def test_without_reverse_validation_the_target_score_alone():
    base = {"source_accuracy": 0.8, "target_score": 0.2, "reverse_accuracy": None}
    candidates = {"source_only": base, "a": {"source_accuracy": 0.8, "target_score": 0.3, "reverse_accuracy": 0.9},
                  "b": {"source_accuracy": 0.8, "target_score": 0.4, "reverse_accuracy": None}}
    assert select(candidates, 0.02, 0.05) == "b"
    assert select({"source_only": {"source_accuracy": 0.8, "target_score": None}, "a": candidates["a"]},
                  0.02, 0.05) == "source_only"


def test_defaults_and_checks():
    auto = AutoAdaptation()
    assert (auto.source_tolerance, auto.margin) == (0.02, 0.05)
    with pytest.raises(Exception, match="margin"):
        AutoAdaptation(margin=-1)
