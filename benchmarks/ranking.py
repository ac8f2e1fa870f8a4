"""Backbone ranking: do LogME / linear-probe / k-NN scores order candidates like fine-tuning them does?

For each dataset, every candidate is (a) ranked by ``kt.rank_backbones`` on the training split (once: the scores
are deterministic) and (b) fine-tuned with ``kt.fine_tune`` at its defaults except the epochs (``HEAD_EPOCHS`` +
``FINE_TUNE_EPOCHS``: fine_tune's own 5 + 5) once per seed in ``SEEDS``, then scored on the test split. The
ground truth is each candidate's mean test accuracy over the seeds (the real backbones are a few points apart,
within one seed's noise); τ against seed 0 alone is reported beside it. The same training split (drawn with
seed 0) and the same test subset serve every seed: only the fine-tuning seed changes. The ranking is timed the way
a user meets it:

1. ``method="logme"`` (the default) into an empty feature cache: builds, extracts, times and scores every
   candidate (the *ranking* time);
2. ``method="all"`` on the now warm cache: the other two methods' scores and their extra seconds;
3. ``method="logme"`` again (the *ranking again* time: nothing is built).

Reported: Kendall's τ-b between each method's scores and the mean fine-tuned test accuracies (and the seed-0
ones), per dataset and its mean; whether the random-weights control ranks last under each method; ranking time ÷
fine-tuning all candidates once (seed 0; both count building the networks: ranking builds each backbone,
fine-tuning builds each model); each method's *regret* (how far the fine-tuned accuracy of its top pick falls below
the best candidate's, beside the expected regret of a random pick among the pretrained candidates); and how well
the ground truth agrees with itself across seeds (``ground_truth_reliability``), the ceiling no ranking can be
expected to pass.

Sizes (a 2-core shared CPU): ``N_PER_CLASS`` training images per class, every image at ``IMAGE_SIZE``,
test splits capped at ``MAX_TEST`` images. The offline ImageNet candidates registered at run time
(``MEASURED`` filtered by ``list_backbones()``) plus a random-weights MobileNetV2 control.

Run: ``python -m benchmarks ranking``. On a shared machine the work can be split and merged afterwards:
``KT_RANKING_DATASETS=digits`` runs some datasets, ``KT_RANKING_SEEDS=3,4`` other fine-tuning seeds (each writes
``ranking[.partial-DATASETS][.seeds-SEEDS].json``, see ``result_name``), then ``python -m benchmarks.ranking merge
NAME ...``. ``KT_RANKING_N_PER_CLASS=100`` measures another label budget into ``ranking_n100*.json`` (merged with
``merge --name ranking_n100 NAME ...``).
"""

import os
import tempfile
import time

__all__ = ["run", "summary", "kendall_tau", "ground_truth_reliability", "merge", "result_name"]

#: In this order, results written after each: a run cut short still reports the datasets that finished.
DATASETS = ("animal_mnist", "mnist5k", "digits", "elpv")
#: Candidates measured: every offline ImageNet backbone.
MEASURED = ("mobilenet_v2", "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")
CONTROL = "mobilenet_v2:random"
METHODS = ("logme", "linear_probe", "knn")
N_PER_CLASS = 20
IMAGE_SIZE = 64
MAX_TEST = 600
#: The ground truth is "the test accuracy after the default fine_tune": fine_tune's default epochs (5 + 5; the
#: runs before 2026-12-05 used 2 + 2 to save time).
HEAD_EPOCHS = 5
FINE_TUNE_EPOCHS = 5
SEED = 0  # the training split, the ranking and the timed fine-tuning run
SEEDS = (0, 1, 2, 3, 4)  # fine-tuning seeds averaged for the ground truth (``KT_RANKING_SEEDS=3,4`` runs others; merge)


def kendall_tau(a, b) -> float:
    """Kendall's τ-b of two equally long sequences (ties in either count as in scipy's ``kendalltau``)."""
    concordant = discordant = ties_a = ties_b = 0
    for i in range(len(a)):
        for j in range(i + 1, len(a)):
            da, db = a[i] - a[j], b[i] - b[j]
            if da == 0 and db == 0:
                continue
            if da == 0:
                ties_a += 1
            elif db == 0:
                ties_b += 1
            elif (da > 0) == (db > 0):
                concordant += 1
            else:
                discordant += 1
    denominator = ((concordant + discordant + ties_a) * (concordant + discordant + ties_b)) ** 0.5
    return (concordant - discordant) / denominator if denominator else 0.0


def _fine_tuned_accuracy(candidate, splits, seed):
    import keras
    import numpy as np

    import keras_transfer as kt

    name, _, option = candidate.partition(":")
    start = time.perf_counter()  # building the model counts, as building each backbone counts in ranking
    keras.utils.set_random_seed(seed)
    backbone = kt.backbones.get(name, weights=None if option == "random" else "imagenet",
                                input_shape=(IMAGE_SIZE, IMAGE_SIZE))
    model = kt.TransferModel(backbone, kt.ClassificationHead(splits.num_classes))
    kt.fine_tune(model, splits.train, validation=splits.validation, head_epochs=HEAD_EPOCHS,
                 fine_tune_epochs=FINE_TUNE_EPOCHS, seed=seed, verbose=0)
    seconds = time.perf_counter() - start
    x, y = splits.test
    keep = np.random.default_rng(0).permutation(len(x))[:MAX_TEST]
    accuracy = float(np.mean(model.predict(x[keep], verbose=0, batch_size=64).argmax(1) == y[keep]))
    return accuracy, seconds


def run():
    import keras_transfer as kt
    from benchmarks.harness import write_results
    from keras_transfer.data import load_dataset

    candidates = [c for c in MEASURED if c in kt.backbones.list_backbones()] + [CONTROL]
    seeds, n_per_class = _seeds(), _n_per_class()
    results = {"candidates": candidates, "control": CONTROL, "datasets": {}, "n_per_class": n_per_class,
               "image_size": IMAGE_SIZE, "max_test": MAX_TEST, "head_epochs": HEAD_EPOCHS,
               "fine_tune_epochs": FINE_TUNE_EPOCHS, "seed": SEED, "seeds": seeds}
    datasets = _datasets()
    partial_name = result_name()
    for dataset in datasets:
        splits = load_dataset(dataset, n_per_class=n_per_class, seed=SEED)
        size = (IMAGE_SIZE, IMAGE_SIZE)
        with tempfile.TemporaryDirectory() as cache:
            start = time.perf_counter()
            first = kt.rank_backbones(splits, candidates, cache_dir=cache, input_size=size, seed=SEED, verbose=True)
            rank_seconds = time.perf_counter() - start
            ranking = kt.rank_backbones(splits, candidates, method="all", cache_dir=cache, input_size=size,
                                        seed=SEED)
            start = time.perf_counter()
            again = kt.rank_backbones(splits, candidates, cache_dir=cache, input_size=size, seed=SEED)
            cached_seconds = time.perf_counter() - start
        assert all(row["cached"] for row in again.rows) and again.order == first.order
        method_seconds = {m: round(sum(row["method_seconds"][m] for row in ranking.rows), 3) for m in METHODS}
        print(f"{dataset}: ranking {rank_seconds:.1f} s, again {cached_seconds:.2f} s, methods {method_seconds}",
              flush=True)
        rows = {row["candidate"]: row for row in ranking.rows}
        runs = {c: [] for c in candidates}
        for seed in seeds:
            for candidate in candidates:
                accuracy, seconds = _fine_tuned_accuracy(candidate, splits, seed)
                runs[candidate].append({"seed": seed, "test_accuracy": accuracy, "seconds": round(seconds, 1)})
                print(f"{dataset} seed {seed} {candidate}: test accuracy {accuracy:.4f} ({seconds:.0f} s); "
                      f"scores {rows[candidate]['scores']}", flush=True)
        cell = {
            "train_examples": int(len(splits.train[0])), "num_classes": splits.num_classes,
            "scores": {c: rows[c]["scores"] for c in candidates},
            "ranking_rows": ranking.rows, "logme_rows": first.rows, "method_seconds_warm_cache": method_seconds,
            "test_examples": int(min(len(splits.test[0]), MAX_TEST)),
            "ranking_seconds": round(rank_seconds, 1), "cached_ranking_seconds": round(cached_seconds, 2),
        }
        results["datasets"][dataset] = _score_cell(cell, candidates, runs)
        taus, taus_seed0, control_last = (cell[k] for k in ("kendall_tau", "kendall_tau_seed0", "control_ranks_last"))
        print(dataset, "tau", taus, "tau seed 0", taus_seed0, "control last", control_last, flush=True)
        _aggregate(results)
        write_results(partial_name, dict(results, partial=True), summary(results))  # kept if a later dataset is cut
    _aggregate(results)
    return results


def _datasets():
    return [name for name in os.environ.get("KT_RANKING_DATASETS", ",".join(DATASETS)).split(",") if name]


def _seeds():
    return [int(seed) for seed in os.environ.get("KT_RANKING_SEEDS", ",".join(map(str, SEEDS))).split(",") if seed]


def _n_per_class():
    return int(os.environ.get("KT_RANKING_N_PER_CLASS", N_PER_CLASS))


def result_name():
    """The results' name under ``benchmarks/results`` for this run's settings (``KT_RANKING_*``): ``ranking`` for
    the defaults; ``_n<N>`` for another label budget, ``.partial-<datasets>`` and ``.seeds-<seeds>`` for a part
    (``merge`` joins parts), so a part never overwrites the full result."""
    name = "ranking" if _n_per_class() == N_PER_CLASS else f"ranking_n{_n_per_class()}"
    if _datasets() != list(DATASETS):
        name += f".partial-{'-'.join(_datasets())}"
    if _seeds() != list(SEEDS):
        name += f".seeds-{'-'.join(map(str, _seeds()))}"
    return name


def _score_cell(cell, candidates, runs):
    """Fill a dataset's ``fine_tuned`` means, its τ columns, the top pick's regret and the ground truth's own
    reliability from per-seed ``runs`` (candidate → list of ``{"seed", "test_accuracy", "seconds"}``)."""
    import numpy as np

    fine_tuned = {}
    for candidate in candidates:
        per_seed = sorted(runs[candidate], key=lambda r: r["seed"])
        values = np.array([r["test_accuracy"] for r in per_seed])
        fine_tuned[candidate] = {"test_accuracy": float(values.mean()), "std": float(values.std()),
                                 "seed0_test_accuracy": per_seed[0]["test_accuracy"],
                                 "seconds": per_seed[0]["seconds"], "runs": per_seed}
    accuracies = [fine_tuned[c]["test_accuracy"] for c in candidates]
    first_seed = [fine_tuned[c]["seed0_test_accuracy"] for c in candidates]
    scores = cell["scores"]
    methods = [m for m in METHODS if all(m in scores[c] for c in candidates)]
    cell["kendall_tau"] = {m: kendall_tau([scores[c][m] for c in candidates], accuracies) for m in methods}
    cell["kendall_tau_seed0"] = {m: kendall_tau([scores[c][m] for c in candidates], first_seed) for m in methods}
    cell["control_ranks_last"] = {m: scores[CONTROL][m] < min(scores[c][m] for c in candidates if c != CONTROL)
                                  for m in methods}
    best = max(accuracies)
    cell["regret"] = {m: best - fine_tuned[max(candidates, key=lambda c: scores[c][m])]["test_accuracy"]
                      for m in methods}
    pretrained = [fine_tuned[c]["test_accuracy"] for c in candidates if c != CONTROL]
    cell["regret"]["random_pick"] = best - float(np.mean(pretrained))  # expected, over the pretrained candidates
    cell["reliability"] = ground_truth_reliability({c: fine_tuned[c]["runs"] for c in candidates})
    cell["fine_tuned"] = fine_tuned
    cell["fine_tune_seconds"] = round(sum(v["seconds"] for v in fine_tuned.values()), 1)  # the first seed only
    cell["ranking_over_fine_tuning"] = round(cell["ranking_seconds"] / cell["fine_tune_seconds"], 3)
    return cell


def ground_truth_reliability(runs):
    """How well the fine-tuned ground truth agrees with itself across seeds (Kendall's τ-b, candidates as items).

    - ``seed_vs_seed``: one seed's accuracies against another's, mean over the pairs of seeds.
    - ``seed_vs_rest``: one seed against the mean of the others, mean over the seeds: what ranking by fine-tuning
      every candidate once would score against this benchmark's ground truth (less one seed).
    - ``split_half``: the mean of half the seeds against the mean of the other half, mean over the splits (with at
      least 4 seeds).

    A ranking method cannot be expected to agree with the ground truth better than the ground truth agrees with
    itself.

    Args:
        runs: dict candidate → list of ``{"seed", "test_accuracy"}``, the same seeds for every candidate.

    Returns:
        dict of float (absent keys: too few seeds).
    """
    import itertools

    import numpy as np

    names = list(runs)
    table = {c: {r["seed"]: r["test_accuracy"] for r in runs[c]} for c in names}
    seeds = sorted(set.intersection(*(set(t) for t in table.values())))
    out = {"seeds": seeds}
    if len(seeds) < 2:
        return out

    def tau(group_a, group_b):
        return kendall_tau([np.mean([table[c][s] for s in group_a]) for c in names],
                           [np.mean([table[c][s] for s in group_b]) for c in names])

    out["seed_vs_seed"] = float(np.mean([tau([a], [b]) for a, b in itertools.combinations(seeds, 2)]))
    out["seed_vs_rest"] = float(np.mean([tau([s], [t for t in seeds if t != s]) for s in seeds]))
    if len(seeds) >= 4:
        out["split_half"] = float(np.mean([tau(list(h), [s for s in seeds if s not in h])
                                           for h in itertools.combinations(seeds, len(seeds) // 2)]))
    return out


def _aggregate(results):
    per = list(results["datasets"].values())
    results["mean_kendall_tau"] = {m: sum(d["kendall_tau"][m] for d in per) / len(per) for m in METHODS}
    if all("kendall_tau_seed0" in d for d in per):
        results["mean_kendall_tau_seed0"] = {m: sum(d["kendall_tau_seed0"][m] for d in per) / len(per)
                                             for m in METHODS}
    if all("regret" in d for d in per):
        results["mean_regret"] = {m: sum(d["regret"][m] for d in per) / len(per) for m in per[0]["regret"]}
    if all("reliability" in d for d in per):
        keys = [k for k in ("seed_vs_seed", "seed_vs_rest", "split_half") if all(k in d["reliability"] for d in per)]
        results["mean_reliability"] = {k: sum(d["reliability"][k] for d in per) / len(per) for k in keys}
    results["control_always_last"] = {m: all(d["control_ranks_last"][m] for d in per) for m in METHODS}
    results["ranking_over_fine_tuning"] = round(
        sum(d["ranking_seconds"] for d in per) / sum(d["fine_tune_seconds"] for d in per), 3)
    results["best_method"] = max(METHODS, key=lambda m: results["mean_kendall_tau"][m])


def merge(names, output="ranking"):
    """Combine result files into ``<output>.json`` / ``.md``: per-dataset files
    (``KT_RANKING_DATASETS=a python -m benchmarks ranking`` in parallel processes) and files of other fine-tuning
    seeds (``KT_RANKING_SEEDS=3,4``): a dataset in several files gets the union of its seeds' runs, and its means,
    τ and reliability are computed again. The ranking scores are deterministic; a file whose scores differ from the
    first one's for the same dataset is refused.

    Args:
        names: result names under ``benchmarks/results`` (without ``.json``).
        output: str. The merged result's name; other label budgets (``ranking_n100``) are not "partial" for
            lacking a dataset that has too few examples per class for them.
    """
    import json

    from benchmarks.harness import RESULTS_DIR, environment, write_results

    merged = None
    for name in names:
        part = json.loads((RESULTS_DIR / f"{name}.json").read_text())
        if merged is None:
            merged = dict(part, datasets={}, seeds=[])
        merged["seeds"] = sorted(set(merged["seeds"]) | set(part.get("seeds", [part["seed"]])))
        for dataset, cell in part["datasets"].items():
            if dataset not in merged["datasets"]:
                merged["datasets"][dataset] = _score_cell(cell, merged["candidates"], {
                    c: cell["fine_tuned"][c]["runs"] for c in merged["candidates"]})
                continue
            held = merged["datasets"][dataset]
            if held["scores"] != cell["scores"]:
                raise SystemExit(f"{name}: the ranking scores of {dataset} differ from the first file's; "
                                 "the runs were made with different code or data and cannot be merged.")
            runs = {}
            for c in merged["candidates"]:
                seen = {r["seed"] for r in held["fine_tuned"][c]["runs"]}
                runs[c] = held["fine_tuned"][c]["runs"] + [r for r in cell["fine_tuned"][c]["runs"]
                                                           if r["seed"] not in seen]
            merged["datasets"][dataset] = _score_cell(held, merged["candidates"], runs)
    merged["datasets"] = {d: merged["datasets"][d] for d in DATASETS if d in merged["datasets"]}
    merged["partial"] = output == "ranking" and len(merged["datasets"]) < len(DATASETS)
    merged["merged_from"] = list(names)
    merged["part_seconds"] = {name: json.loads((RESULTS_DIR / f"{name}.json").read_text()).get("benchmark_seconds")
                              for name in names}
    if all(merged["part_seconds"].values()):
        merged["benchmark_seconds"] = round(sum(merged["part_seconds"].values()), 1)
    merged["environment"] = environment()
    _aggregate(merged)
    write_results(output, merged, summary(merged))
    return merged


def summary(results):
    methods = list(METHODS)
    seeds = results.get("seeds", [results["seed"]])
    has_seed0 = len(seeds) > 1 and all("kendall_tau_seed0" in d for d in results["datasets"].values())
    test_sizes = ", ".join(f"{d} {c['test_examples']}" for d, c in results["datasets"].items() if "test_examples" in c)
    lines = [
        "# benchmark `ranking`: transferability scores vs fine-tuned test accuracy",
        "",
        f"Candidates: {', '.join(results['candidates'])} (ImageNet weights; the last is the random-weights control). "
        f"{results['n_per_class']} training images per class (drawn with seed {results['seed']}), "
        f"{results['image_size']}×{results['image_size']}, `kt.fine_tune` defaults with {results['head_epochs']} + "
        f"{results['fine_tune_epochs']} epochs, test split capped at {results['max_test']} images"
        + (f" ({test_sizes})" if test_sizes else "") + ". "
        + (f"Ground truth: each candidate's mean test accuracy over {len(seeds)} fine-tuning seeds "
           f"({', '.join(map(str, seeds))}); the ranking scores are deterministic and computed once."
           if len(seeds) > 1 else
           f"One seed ({results['seed']}): the ranking scores are deterministic; the fine-tuned accuracies are one "
           "run each."),
        "",
        "**Partial: the run was cut after the datasets below.**\n" if results.get("partial") else "",
        "Kendall's τ-b between each method's scores and the fine-tuned test accuracies"
        + (f" (mean over seeds; in brackets against seed {seeds[0]} alone):" if has_seed0 else ":"),
        "",
        "| dataset | " + " | ".join(methods) + " | control last (" + "/".join(methods) + ") | ranking ÷ fine-tuning |",
        "|---|" + "---|" * (len(methods) + 2),
    ]

    def taus(cell_or_results, key):
        values = cell_or_results[key]
        text = [f"{values[m]:+.2f}" for m in methods]
        if has_seed0:
            text = [f"{t} ({cell_or_results[key + '_seed0'][m]:+.2f})" for t, m in zip(text, methods)]
        return text

    for dataset, cell in results["datasets"].items():
        last = "/".join("yes" if cell["control_ranks_last"][m] else "no" for m in methods)
        lines.append(f"| {dataset} | {' | '.join(taus(cell, 'kendall_tau'))} | {last} | "
                     f"{cell['ranking_over_fine_tuning']:.3f} |")
    mean = " | ".join(f"**{t}**" for t in taus(results, "mean_kendall_tau"))
    always = "/".join("yes" if results["control_always_last"][m] else "no" for m in methods)
    lines.append(f"| **mean** | {mean} | {always} | {results['ranking_over_fine_tuning']:.3f} |")
    cells = results["datasets"].values()
    if cells and all("regret" in c and "reliability" in c for c in cells):
        agreement = [k for k in ("seed_vs_seed", "seed_vs_rest", "split_half")
                     if all(k in c["reliability"] for c in cells)]
        lines += ["", "How far each method's top pick falls below the best fine-tuned candidate (test accuracy points; "
                  "`random pick`: the expected shortfall of picking one of the pretrained candidates at random), "
                  "and how well the ground truth agrees with itself across fine-tuning seeds (τ-b; `seed vs seed`: "
                  "one seed against another; `seed vs rest`: one seed against the mean of the others, which is "
                  "what ranking by fine-tuning every candidate once would score; `split half`: half the seeds' "
                  "mean against the other half's). No ranking can be expected to agree with the ground truth "
                  "better than it agrees with itself:", "",
                  "| dataset | " + " | ".join(f"regret {m}" for m in methods) + " | regret random pick | "
                  + " | ".join(a.replace("_", " ") for a in agreement) + " |",
                  "|---|" + "---|" * (len(methods) + 1 + len(agreement))]
        for dataset, cell in list(results["datasets"].items()) + [("**mean**", None)]:
            regret = results["mean_regret"] if cell is None else cell["regret"]
            agree = results["mean_reliability"] if cell is None else cell["reliability"]
            lines.append(f"| {dataset} | " + " | ".join(f"{100 * regret[m]:.1f}" for m in [*methods, "random_pick"])
                         + " | " + " | ".join(f"{agree[a]:+.2f}" for a in agreement) + " |")
    lines += ["", "Fine-tuned test accuracy" + (f" (mean ± std over seeds {', '.join(map(str, seeds))}; "
                                                  "ranking scores in `ranking.json`):" if len(seeds) > 1 else
                                                  " (ranking scores in `ranking.json`):"), "",
              "| dataset | " + " | ".join(results["candidates"]) + " |", "|---|" + "---|" * len(results["candidates"])]
    for dataset, cell in results["datasets"].items():
        lines.append(f"| {dataset} | " + " | ".join(
            f"{cell['fine_tuned'][c]['test_accuracy']:.3f}" + (
                f" ± {cell['fine_tuned'][c]['std']:.3f}" if "std" in cell["fine_tuned"][c] else "")
            for c in results["candidates"]) + " |")
    lines += ["", "Seconds: the default `method=\"logme\"` ranking into an empty cache (builds, extracts, times and "
              "scores every candidate), the same ranking again (cache hit, nothing built), the extra seconds of the "
              "other methods on cached features (summed over candidates), and fine-tuning all candidates once (seed "
              f"{results['seed']}; building each model included):", "",
              "| dataset | ranking (logme) | ranking again | + linear_probe | + knn | fine-tuning | ratio |",
              "|---|---|---|---|---|---|---|"]
    for dataset, cell in results["datasets"].items():
        extra = cell.get("method_seconds_warm_cache", {})
        lines.append(f"| {dataset} | {cell['ranking_seconds']:.1f} s | {cell['cached_ranking_seconds']:.2f} s | "
                     f"{extra.get('linear_probe', float('nan')):.2f} s | {extra.get('knn', float('nan')):.2f} s | "
                     f"{cell['fine_tune_seconds']:.0f} s | {cell['ranking_over_fine_tuning']:.3f} |")
    if results.get("benchmark_seconds"):
        lines.append(f"\nTotal benchmark time: {results['benchmark_seconds']:.0f} s.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - python -m benchmarks.ranking merge NAME ...
    import sys

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if sys.argv[1:2] == ["merge"]:
        names = sys.argv[2:]
        if names[:1] == ["--name"]:
            merge(names[2:], output=names[1])
        else:
            merge(names)
    else:
        from benchmarks.harness import run_benchmark

        run_benchmark("ranking")
