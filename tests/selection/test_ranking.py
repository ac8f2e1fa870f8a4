"""rank_backbones on tiny backbones: scores, cached second ranking, text candidates, budgets."""

import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.errors import InvalidConfigError
from keras_transfer.selection.ranking import _recommend
from keras_transfer.testing import register_tiny_backbone


@pytest.fixture
def bright_images():
    """4 classes of 16×16 grey images that differ in brightness: any non-constant feature separates them."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 12)
    x = (rng.integers(0, 50, (48, 16, 16, 1)) + y[:, None, None, None] * 60).astype("uint8")
    return x, y


def _tiny(dead=False):
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(16, 16), train_bn=False)
    backbone(np.zeros((1, 16, 16, 1), "uint8"))
    if dead:  # constant features: the control that cannot transfer
        backbone.set_weights([np.zeros_like(w) for w in backbone.get_weights()])
    return backbone


def test_dead_control_ranks_last_and_second_ranking_hits_the_cache(bright_images, tmp_path):
    candidates = {"tiny": _tiny(), "dead": _tiny(dead=True)}
    first = kt.rank_backbones(bright_images, candidates, method="all", cache_dir=tmp_path)
    assert first.order == ["tiny", "dead"]
    assert first.recommendation == "tiny"
    for method in ("logme", "linear_probe", "knn"):
        assert first.rows[0]["scores"][method] > first.rows[1]["scores"][method]
    row = first.rows[0]
    assert row["feature_size"] == 32 and row["parameters"] == 6200 and row["inference_ms"] > 0
    assert not row["cached"]
    second = kt.rank_backbones(bright_images, candidates, method="logme", cache_dir=tmp_path)
    assert all(r["cached"] for r in second.rows)
    assert second.rows[0]["scores"]["logme"] == pytest.approx(row["scores"]["logme"])
    assert "| rank | candidate | logme |" in second.to_markdown()


def test_text_candidates_use_word_vectors(tmp_path):
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("good 1 0 0\ngreat 1 0.1 0\nbad 0 1 0\nawful 0 1 0.1\nfilm 0 0 1\n")
    texts = np.array(["good film", "great film", "bad film", "awful film"] * 6)
    labels = np.array([1, 1, 0, 0] * 6)
    ranking = kt.rank_backbones((texts, labels), [f"word_vectors:{vectors}"], method="knn", cache_dir=tmp_path)
    assert ranking.rows[0]["scores"]["knn"] == 1.0 and ranking.rows[0]["feature_size"] == 3
    again = kt.rank_backbones((texts, labels), [f"word_vectors:{vectors}"], method="knn", cache_dir=tmp_path)
    assert again.rows[0]["cached"]
    with pytest.raises(InvalidConfigError, match="takes image inputs but the data is text"):
        kt.rank_backbones((texts, labels), ["mobilenet_v2"], cache_dir=tmp_path)


def _row(name, score, ms, mb):
    return {"candidate": name, "score": score, "inference_ms": ms, "size_mb": mb}


def test_budget_recommendation_weighs_score_against_cost():
    rows = [_row("big", 1.0, 50.0, 90.0), _row("mid", 0.9, 10.0, 20.0), _row("small", 0.89, 2.0, 5.0),
            _row("weak", 0.0, 1.0, 1.0)]
    name, reason = _recommend([dict(r) for r in rows], None, None, 0.05)
    assert name == "big"
    name, reason = _recommend([dict(r) for r in rows], 20.0, None, 0.05)  # mid and small tie within 5 %
    assert name == "small" and "'big' scores higher but is over the budget" in reason
    name, reason = _recommend([dict(r) for r in rows], 20.0, None, 0.0)
    assert name == "mid"
    name, reason = _recommend([dict(r) for r in rows], 0.5, None, 0.05)
    assert name is None and "no candidate fits" in reason and "'weak'" in reason


def test_bad_arguments_name_what_was_received(bright_images, tmp_path):
    with pytest.raises(InvalidConfigError, match="method='logmee'"):
        kt.rank_backbones(bright_images, ["tiny_cnn"], method="logmee", cache_dir=tmp_path)
    with pytest.raises(InvalidConfigError, match="latency_budget_ms=-1"):
        kt.rank_backbones(bright_images, ["tiny_cnn"], latency_budget_ms=-1, cache_dir=tmp_path)
    with pytest.raises(InvalidConfigError, match="at least one candidate"):
        kt.rank_backbones(bright_images, [], cache_dir=tmp_path)


def _counted_backbone():
    """Register ``counted_cnn``: the tiny CNN, counting how often it is built."""
    from keras_transfer.backbones import BackboneSpec, register
    from keras_transfer.backbones.image import stage_key
    from keras_transfer.testing.tiny_backbone import _build_tiny

    builds = []

    def build(input_shape, weights):
        builds.append(tuple(input_shape))
        return _build_tiny(input_shape, weights)

    register(BackboneSpec("counted_cnn", "tiny test CNN (counted)", build, 32, 8, "tf",
                          stage_key(r"block(\d)_", [(1, "block1"), (2, "block2"), (3, "block3")]),
                          "none (test backbone)"), overwrite=True)
    return builds


def _table(ranking, timing=("seconds", "extract_seconds", "method_seconds", "cached")):
    return [{k: v for k, v in row.items() if k not in timing} for row in ranking.rows]


def test_second_ranking_builds_no_backbone_and_returns_the_same_table(bright_images, tmp_path):
    builds = _counted_backbone()
    candidates = ["counted_cnn", register_tiny_backbone()]
    kwargs = dict(method="all", cache_dir=tmp_path, weights=None, input_size=(16, 16))
    first = kt.rank_backbones(bright_images, candidates, **kwargs)
    assert len(builds) == 1 and not any(row["cached"] for row in first.rows)
    assert set(first.rows[0]["method_seconds"]) == {"logme", "linear_probe", "knn"}
    second = kt.rank_backbones(bright_images, candidates, **kwargs)
    assert len(builds) == 1  # not built (so neither called nor timed) again
    assert all(row["cached"] for row in second.rows)
    assert _table(second) == _table(first) and second.recommendation == first.recommendation
    # other data, another size or damaged features: built again
    x, y = bright_images
    kt.rank_backbones((x[:40], y[:40]), candidates[:1], **kwargs)
    assert len(builds) == 2
    kt.rank_backbones(bright_images, candidates[:1], **dict(kwargs, input_size=(24, 24)))
    assert builds[-1][:2] == (24, 24)
    for entry in tmp_path.glob("counted_cnn-*/manifest.json"):
        entry.write_text("{}")
    with pytest.warns(kt.features.CacheRebuildWarning, match="manifest is unreadable"):
        third = kt.rank_backbones(bright_images, candidates, **kwargs)
    measured = ("seconds", "extract_seconds", "method_seconds", "cached", "inference_ms")  # timed again
    assert len(builds) == 4 and _table(third, measured) == _table(first, measured)
