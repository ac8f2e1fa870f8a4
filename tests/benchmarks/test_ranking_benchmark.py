"""The ranking benchmark's ground-truth statistics (``benchmarks/ranking.py``): Kendall's τ-b, the ground truth's
agreement with itself across seeds, and merging runs of other seeds."""

import json

import pytest

from benchmarks import ranking


def _runs(table):
    """candidate → runs from ``{candidate: [accuracy per seed]}`` (seeds 0, 1, ...)."""
    return {c: [{"seed": s, "test_accuracy": a, "seconds": 1.0} for s, a in enumerate(values)]
            for c, values in table.items()}


def test_kendall_tau_b_with_ties():
    # 10 pairs: 7 concordant, 1 discordant, 1 tied in a only, 1 tied in b only:
    # τ-b = (7 - 1) / sqrt((7 + 1 + 1) * (7 + 1 + 1)) = 2/3, as scipy.stats.kendalltau gives
    a, b = [1, 2, 2, 4, 5], [2, 1, 3, 3, 5]
    assert ranking.kendall_tau(a, b) == pytest.approx(2 / 3)
    assert ranking.kendall_tau([1, 2, 3], [3, 2, 1]) == -1.0


def test_reliability_is_one_when_every_seed_orders_the_candidates_alike():
    runs = _runs({"a": [0.9, 0.8, 0.85, 0.9], "b": [0.7, 0.6, 0.65, 0.7], "c": [0.5, 0.4, 0.45, 0.5]})
    agreement = ranking.ground_truth_reliability(runs)
    assert agreement == {"seeds": [0, 1, 2, 3], "seed_vs_seed": 1.0, "seed_vs_rest": 1.0, "split_half": 1.0}


def test_reliability_is_low_when_seeds_disagree():
    # seed 0 orders a > b > c, seed 1 the reverse: a single run predicts the other at τ = -1
    agreement = ranking.ground_truth_reliability(_runs({"a": [0.9, 0.5], "b": [0.7, 0.7], "c": [0.5, 0.9]}))
    assert agreement["seed_vs_seed"] == -1.0 and "split_half" not in agreement
    assert ranking.ground_truth_reliability(_runs({"a": [0.9], "b": [0.7]})) == {"seeds": [0]}


def _part(seeds, accuracies, scores):
    candidates = list(scores)
    cell = {"scores": scores, "ranking_seconds": 1.0, "cached_ranking_seconds": 0.1, "fine_tuned": {
        c: {"runs": [{"seed": s, "test_accuracy": a, "seconds": 10.0} for s, a in zip(seeds, accuracies[c])]}
        for c in candidates}}
    return {"candidates": candidates, "control": ranking.CONTROL, "seed": seeds[0], "seeds": seeds,
            "n_per_class": 2, "image_size": 8, "max_test": 10, "head_epochs": 1, "fine_tune_epochs": 1,
            "datasets": {"digits": cell}}


def test_merge_joins_the_seeds_of_one_dataset_and_refuses_different_scores(tmp_path, monkeypatch):
    import benchmarks.harness as harness

    monkeypatch.setattr(harness, "RESULTS_DIR", tmp_path)
    control = ranking.CONTROL
    scores = {"good": {m: 2.0 for m in ranking.METHODS}, "fair": {m: 1.0 for m in ranking.METHODS},
              control: {m: 0.0 for m in ranking.METHODS}}
    (tmp_path / "first.json").write_text(json.dumps(_part([0, 1], {"good": [0.9, 0.6], "fair": [0.7, 0.8],
                                                                  control: [0.1, 0.1]}, scores)))
    (tmp_path / "second.json").write_text(json.dumps(_part([2], {"good": [0.9], "fair": [0.5], control: [0.1]},
                                                          scores)))
    merged = ranking.merge(["first", "second"])
    cell = merged["datasets"]["digits"]
    assert merged["seeds"] == [0, 1, 2]
    assert cell["fine_tuned"]["good"]["test_accuracy"] == pytest.approx(0.8)
    assert cell["fine_tuned"]["fair"]["test_accuracy"] == pytest.approx(2 / 3)
    assert cell["kendall_tau"]["logme"] == 1.0 and cell["regret"]["logme"] == 0.0
    assert cell["regret"]["random_pick"] == pytest.approx(0.8 - (0.8 + 2 / 3) / 2)
    assert (tmp_path / "ranking.md").is_file()

    other = {c: {m: -v for m, v in s.items()} for c, s in scores.items()}
    (tmp_path / "third.json").write_text(json.dumps(_part([3], {"good": [0.9], "fair": [0.5], control: [0.1]},
                                                         other)))
    with pytest.raises(SystemExit, match="scores of digits differ"):
        ranking.merge(["first", "third"])


def test_a_part_of_a_split_run_never_takes_the_full_results_name(monkeypatch):
    for key in ("KT_RANKING_DATASETS", "KT_RANKING_SEEDS", "KT_RANKING_N_PER_CLASS"):
        monkeypatch.delenv(key, raising=False)
    assert ranking.result_name() == "ranking"
    monkeypatch.setenv("KT_RANKING_SEEDS", "3,4")
    assert ranking.result_name() == "ranking.seeds-3-4"
    monkeypatch.setenv("KT_RANKING_DATASETS", "digits")
    monkeypatch.setenv("KT_RANKING_N_PER_CLASS", "100")
    assert ranking.result_name() == "ranking_n100.partial-digits.seeds-3-4"
