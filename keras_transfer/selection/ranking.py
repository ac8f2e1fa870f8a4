"""`rank_backbones`: score candidate backbones on a dataset without fine-tuning, and recommend one.

Each candidate's features are extracted once through the feature cache and
scored by LogME, a cross-validated linear probe and / or leave-one-out k-NN accuracy. The table also says what
each candidate costs: feature size, parameter count, float32 size and measured inference time per image.
A second ranking on the same data builds no backbone: ``keras_transfer.selection.memo`` records where each
candidate's features are and what it costs, so it reads the features and scores them (well under a second per
candidate for LogME). With a
latency or size budget, the recommendation is the best-scoring candidate within the budget, and among candidates
scoring within ``tolerance`` of it, the cheapest.
"""

import dataclasses
import os
import time
from typing import List, Optional

import numpy as np

from keras_transfer.errors import InvalidConfigError, InvalidInputError
from keras_transfer.features import prepare_cache_dir
from keras_transfer.features.fingerprint import data_hash
from keras_transfer.selection.candidates import build_candidate, candidate_labels, check_candidate
from keras_transfer.selection.extraction import features_and_entry, inference_ms, load_entry
from keras_transfer.selection.knn import knn_score
from keras_transfer.selection.linear_probe import linear_probe_score
from keras_transfer.selection.logme import logme_score
from keras_transfer.selection.memo import candidate_key, read_costs, read_memo, write_costs, write_memo

__all__ = ["METHODS", "BackboneRanking", "rank_backbones"]

#: Scoring methods: name → ``score(features, labels)``; higher is better for each.
METHODS = {
    "logme": logme_score,
    "linear_probe": linear_probe_score,
    "knn": knn_score,
}


@dataclasses.dataclass
class BackboneRanking:
    """What ``rank_backbones`` returns: one row per candidate, best first, and a recommendation.

    Attributes:
        rows: list of dict, best first. Keys: ``rank``, ``candidate``, ``backbone``, ``scores`` (method →
            float), ``score`` (the ranking score: the method's, or with ``method="all"`` minus the mean rank
            over the methods), ``seconds`` (features + scoring), ``extract_seconds`` (building the backbone,
            extracting and measuring it; on a second ranking, reading its cached features),
            ``method_seconds`` (method → seconds of its score), ``cached`` (features from the cache),
            ``feature_size``, ``parameters``, ``size_mb`` (float32 weights), ``inference_ms`` (per image, batch 1),
            ``within_budget``.
        method: str. ``"logme"``, ``"linear_probe"``, ``"knn"`` or ``"all"``.
        recommendation: str or None. The recommended candidate (None when none fits the budget).
        reason: str. Why.
        num_examples: int. Labelled examples scored.
    """

    rows: List[dict]
    method: str
    recommendation: Optional[str]
    reason: str
    num_examples: int

    @property
    def order(self) -> List[str]:
        """Candidate names, best first."""
        return [row["candidate"] for row in self.rows]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_markdown(self) -> str:
        """The table as Markdown, then the recommendation."""
        methods = list(self.rows[0]["scores"]) if self.rows else []
        head = ["rank", "candidate"] + methods + ["seconds", "features", "parameters", "MB", "ms/image"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for row in self.rows:
            cells = [str(row["rank"]), f"`{row['candidate']}`" + ("" if row["within_budget"] else " (over budget)")]
            cells += [f"{row['scores'][m]:.4f}" for m in methods]
            cells += [f"{row['seconds']:.1f}" + (" (cached)" if row["cached"] else ""), str(row["feature_size"]),
                      f"{row['parameters']:,}", f"{row['size_mb']:.1f}", f"{row['inference_ms']:.1f}"]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + f"\n\nRecommendation: {self.reason}\n"

    def __str__(self):
        return self.to_markdown()


def _default_cache_dir():
    from keras_transfer.weights.locations import user_folder

    return str(user_folder("KERAS_TRANSFER_FEATURES", "feature_cache"))


def _ranking_data(data, *, n_per_class, input_size, seed):
    """``(x, y)`` labelled examples to score on, from a dataset name, an image folder, Splits or arrays."""
    import keras_transfer.data as kt_data

    if isinstance(data, (str, os.PathLike)):
        text = os.fspath(data)
        if os.path.isdir(text):
            size = tuple(input_size) if input_size else (224, 224)
            data = kt_data.image_folder(text, image_size=size, n_per_class=n_per_class, seed=seed)
        elif text == "rotten_tomatoes":
            data = kt_data.rotten_tomatoes(n_per_class=n_per_class, seed=seed)
        elif text.lower().endswith(".npz"):
            with np.load(text, allow_pickle=False) as arrays:
                data = (arrays["x"], arrays["y"])
        elif text.lower().endswith(".csv"):
            data = kt_data.csv_text(text, n_per_class=n_per_class, seed=seed)
        else:
            data = kt_data.load_dataset(text, n_per_class=n_per_class, seed=seed)
    if isinstance(data, kt_data.Splits):
        data = data.train
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise InvalidInputError(
            "rank_backbones needs labelled data: a dataset name, an image folder, a keras_transfer.data.Splits "
            f"(its train split is scored) or an (x, y) pair. Received: {type(data).__name__}."
        )
    x, y = data
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(x) or y.dtype.kind not in "iu":
        raise InvalidInputError(
            f"rank_backbones scores single-label classification: one int class id per example. Received: labels "
            f"of shape {y.shape} and dtype {y.dtype} for {len(x)} examples."
        )
    if len(np.unique(y)) < 2:
        raise InvalidInputError(f"Ranking needs at least 2 classes. Received: labels {np.unique(y).tolist()}.")
    return x, y


def _input_kind(x) -> str:
    kind = np.asarray(x[:1]).dtype.kind
    return "text" if kind in "USO" else "image"


def _check_budget(name, value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
        raise InvalidConfigError(f"{name} must be a positive number or None. Received: {name}={value!r}.")


def _order(rows, method):
    """Rows sorted best first; ``score`` set (with ``"all"``: minus the mean rank over the methods)."""
    if method != "all":
        for row in rows:
            row["score"] = row["scores"][method]
    else:
        ranks = {m: _ranks([row["scores"][m] for row in rows]) for m in METHODS}
        for i, row in enumerate(rows):
            row["score"] = -float(np.mean([ranks[m][i] for m in METHODS]))
    tiebreak = "logme" if method == "all" else method
    rows.sort(key=lambda row: (row["score"], row["scores"][tiebreak]), reverse=True)
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return rows


def _ranks(values):
    """1-based ranks, 1 = highest value (ties share the mean rank)."""
    values = np.asarray(values, dtype=float)
    order = (-values).argsort(kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    for value in np.unique(values):
        same = values == value
        ranks[same] = ranks[same].mean()
    return ranks


def _recommend(rows, latency_budget_ms, size_budget_mb, tolerance):
    budget = latency_budget_ms is not None or size_budget_mb is not None
    for row in rows:
        row["within_budget"] = ((latency_budget_ms is None or row["inference_ms"] <= latency_budget_ms)
                                and (size_budget_mb is None or row["size_mb"] <= size_budget_mb))
    fits = [row for row in rows if row["within_budget"]]
    limits = ", ".join(text for text in (
        f"≤ {latency_budget_ms:g} ms/image" if latency_budget_ms is not None else "",
        f"≤ {size_budget_mb:g} MB" if size_budget_mb is not None else "") if text)
    if not fits:
        cheapest = min(rows, key=lambda row: (row["inference_ms"], row["size_mb"]))
        return None, (f"no candidate fits the budget ({limits}); the cheapest is {cheapest['candidate']!r} "
                      f"({cheapest['inference_ms']:.1f} ms/image, {cheapest['size_mb']:.1f} MB).")
    best = fits[0]
    if not budget:
        return best["candidate"], f"{best['candidate']!r} scores best (no latency or size budget given)."
    spread = max(row["score"] for row in rows) - min(row["score"] for row in rows)
    close = [row for row in fits if best["score"] - row["score"] <= tolerance * max(spread, 1e-12)]
    cost = (lambda row: (row["inference_ms"], row["size_mb"])) if latency_budget_ms is not None else (
        lambda row: (row["size_mb"], row["inference_ms"]))
    chosen = min(close, key=cost)
    reason = f"{chosen['candidate']!r} is the best-scoring candidate within the budget ({limits})"
    if chosen is not best:
        reason = (f"{chosen['candidate']!r} scores within {tolerance:.0%} of the score range of "
                  f"{best['candidate']!r} and costs less ({chosen['inference_ms']:.1f} vs "
                  f"{best['inference_ms']:.1f} ms/image, {chosen['size_mb']:.1f} vs {best['size_mb']:.1f} MB), "
                  f"within the budget ({limits})")
    if rows[0] is not best:
        top = rows[0]
        reason += (f"; {top['candidate']!r} scores higher but is over the budget "
                   f"({top['inference_ms']:.1f} ms/image, {top['size_mb']:.1f} MB)")
    return chosen["candidate"], reason + "."


def rank_backbones(data, candidates, method: str = "logme", *, cache_dir=None, latency_budget_ms=None,
                   size_budget_mb=None, weights="imagenet", input_size=None, n_per_class=None,
                   tolerance: float = 0.05, seed: int = 0, verbose: bool = False) -> BackboneRanking:
    """Rank candidate backbones for a labelled dataset by transferability, without fine-tuning any of them.

    Args:
        data: a dataset name (``keras_transfer.data.load_dataset``; ``"rotten_tomatoes"`` for text), a folder of
            ``<class>/<image>`` sub-folders, a ``.csv`` of texts, a ``.npz`` with arrays ``x`` and ``y``, a ``keras_transfer.data.Splits`` (its train
            split is scored) or an ``(x, y)`` pair of images / strings and int class ids.
        candidates: list of backbone names or backbone objects, a comma-separated string, or a dict
            ``{label: name or backbone}``. ``"NAME:random"`` is the architecture with random weights (a
            control), ``"minilm"`` the offline MiniLM and ``"word_vectors:PATH"`` a GloVe / word2vec file.
        method: ``"logme"`` (You et al., 2021), ``"linear_probe"`` (5-fold ridge probe accuracy), ``"knn"``
            (leave-one-out 5-NN accuracy) or ``"all"`` (every score; ranked by the mean rank).
        cache_dir: str or None. The feature cache; None: ``$KERAS_TRANSFER_FEATURES`` or
            ``saved_models/feature_cache``.
        latency_budget_ms: float or None. Largest inference time per image (batch 1, measured here).
        size_budget_mb: float or None. Largest float32 weight size.
        weights: weights of plain names: ``"imagenet"`` (pretrained) or None.
        input_size: ``(height, width)`` image backbones run at (also the image-folder decode size); None: each
            backbone's default.
        n_per_class: int or None. Examples per class kept from a named dataset / folder.
        tolerance: float in [0, 1]. With a budget, candidates scoring within this share of the score range of
            the best one within budget count as equal, and the cheapest of them is recommended.
        seed: int. Split and subsample of named data; random weights; the probe's folds.
        verbose: bool. Print each candidate as it is scored.

    Returns:
        BackboneRanking: ``.rows`` (best first), ``.recommendation``, ``.reason``, ``.to_markdown()``.

    Raises:
        InvalidConfigError: unknown method, bad budget, bad candidate.
        InvalidInputError: unlabelled or multi-label data.

    Examples:
    >>> import numpy as np
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> x = np.repeat(np.arange(4, dtype="uint8") * 60, 10)[:, None, None, None] * np.ones((1, 16, 16, 1), "uint8")
    >>> y = np.repeat(np.arange(4), 10)
    >>> ranking = keras_transfer.rank_backbones((x, y), [name], weights=None, input_size=(16, 16),
    ...                                         cache_dir="/tmp/kt-doc-rank")
    >>> ranking.order, ranking.recommendation
    (['tiny_cnn'], 'tiny_cnn')
    """
    if method not in (*METHODS, "all"):
        raise InvalidConfigError(f"Unknown ranking method. Received: method={method!r}. Use one of "
                                 f"{', '.join(METHODS)} or 'all'.")
    _check_budget("latency_budget_ms", latency_budget_ms)
    _check_budget("size_budget_mb", size_budget_mb)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 <= tolerance <= 1:
        raise InvalidConfigError(f"tolerance must be a number in [0, 1]. Received: tolerance={tolerance!r}.")
    x, y = _ranking_data(data, n_per_class=n_per_class, input_size=input_size, seed=seed)
    kind = _input_kind(x)
    labelled = candidate_labels(candidates)
    for _, spec in labelled:  # every candidate checked before any work
        check_candidate(spec, input_kind=kind)
    cache_dir = prepare_cache_dir(cache_dir if cache_dir is not None else _default_cache_dir())
    methods = list(METHODS) if method == "all" else [method]
    inputs = np.asarray(x)
    data_key = data_hash(inputs.astype(str) if inputs.dtype.kind == "O" else inputs, y)
    rows = []
    for label, spec in labelled:
        start = time.perf_counter()
        features, hit, costs, backbone_name = _candidate(spec, x, y, cache_dir, data_key, weights=weights,
                                                         input_size=input_size, kind=kind, seed=seed)
        extract_seconds = time.perf_counter() - start
        scores, method_seconds = {}, {}
        for name in methods:
            began = time.perf_counter()
            scores[name] = float(METHODS[name](features, y) if name != "linear_probe"
                                 else linear_probe_score(features, y, seed=seed))
            method_seconds[name] = round(time.perf_counter() - began, 3)
        seconds = time.perf_counter() - start
        row = {
            "candidate": label, "backbone": backbone_name, "scores": scores,
            "seconds": round(seconds, 3), "extract_seconds": round(extract_seconds, 3),
            "method_seconds": method_seconds, "cached": bool(hit), **costs,
        }
        rows.append(row)
        if verbose:
            shown = ", ".join(f"{k} {v:.4f}" for k, v in scores.items())
            print(f"{label}: {shown} ({seconds:.1f} s{', cached features' if hit else ''})", flush=True)
    rows = _order(rows, method)
    recommendation, reason = _recommend(rows, latency_budget_ms, size_budget_mb, tolerance)
    return BackboneRanking(rows, method, recommendation, reason, int(len(x)))


def _costs(backbone, features, example) -> dict:
    parameters = int(sum(np.prod(v.shape) for v in backbone.weights))
    return {"feature_size": int(features.shape[1]), "parameters": parameters,
            "size_mb": round(parameters * 4 / 1e6, 2), "inference_ms": round(inference_ms(backbone, example), 2)}


def _candidate(spec, x, y, cache_dir, data_key, *, weights, input_size, kind, seed):
    """``(features, hit, costs, backbone name)`` of one candidate: from the memo without building it when it was
    ranked on these data before, else built, extracted (through the feature cache) and measured."""
    key = candidate_key(spec, weights=weights, input_shape=input_size, seed=seed, data=data_key)
    record = read_memo(cache_dir, key) if key else None
    if record is not None:
        features = load_entry(cache_dir, record["entry"], record["kind"], data_key, len(x))
        if features is not None:
            return features, True, dict(record["costs"]), record.get("backbone", str(spec))
    backbone = build_candidate(spec, weights=weights, input_shape=input_size, input_kind=kind, seed=seed)
    if getattr(backbone, "input_kind", "image") != kind:
        raise InvalidConfigError(f"Candidate {spec!r} takes {backbone.input_kind} inputs but the data is "
                                 f"{kind}. Received: {spec!r}.")
    features, hit, entry, entry_kind = features_and_entry(backbone, x, y, cache_dir)
    costs = read_costs(cache_dir, entry) if hit else None
    if costs is None:
        costs = _costs(backbone, features, x[:1])
        write_costs(cache_dir, entry, costs)
    name = getattr(backbone, "backbone_name", str(spec))
    if key:
        write_memo(cache_dir, key, entry, entry_kind, dict(costs), backbone=name)
    return features, hit, costs, name
