"""trial_config: a trial's recipe config from the base, the sampled values and Hyperband's epoch budget."""

from keras_transfer.testing import tiny_recipe_config
from keras_transfer.tuning import SearchSpace
from keras_transfer.tuning.recipe_tuner import trial_config


def test_trial_config_applies_values_and_shares_the_study_cache(tmp_path):
    base = tiny_recipe_config(tmp_path / "tiny.npz", tmp_path / "runs", export=[{"format": "onnx"}])
    space = SearchSpace({"stages.unfreeze": ["all", 1], "optimizer.head_lr": {"min": 1e-3, "max": 1e-1}})
    raw = trial_config(base, space, {"stages.unfreeze": "1", "optimizer.head_lr": 0.05}, study_dir="/s",
                       trial_id="07")
    assert raw["stages"]["unfreeze"] == 1 and raw["optimizer"]["head_lr"] == 0.05
    assert raw["name"] == "trial_07" and raw["output_dir"] == "/s/trials" and raw["export"] == []
    assert raw["cache"] == {"enabled": True, "dir": "/s/feature_cache"}
    assert "unfreeze" not in base["stages"]  # the base config is not changed


def test_hyperband_budget_is_split_over_the_two_stages(tmp_path):
    base = tiny_recipe_config(tmp_path / "tiny.npz", tmp_path / "runs", stages={"head_epochs": 2,
                                                                                 "fine_tune_epochs": 4})
    space = SearchSpace({"label_smoothing": [None, 0.1]})
    for budget, expected in ((6, (2, 4)), (3, (1, 2)), (1, (1, 0))):
        raw = trial_config(base, space, {"label_smoothing": "null", "tuner/epochs": budget}, study_dir="/s",
                           trial_id="0", max_epochs=6)
        assert (raw["stages"]["head_epochs"], raw["stages"]["fine_tune_epochs"]) == expected
