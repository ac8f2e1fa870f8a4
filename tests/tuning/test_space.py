"""Search spaces: parsing, KerasTuner encoding, and validation through the recipe's config checks."""

import pytest

from keras_transfer.errors import InvalidConfigError
from keras_transfer.testing import tiny_recipe_config
from keras_transfer.tuning import SearchSpace


@pytest.fixture
def base(tmp_path):
    return tiny_recipe_config(tmp_path / "tiny.npz", tmp_path / "runs")


def test_bad_key_names_the_key_and_suggests_the_right_one(base, tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text("optimizer.head_lr: {min: 1.0e-4, max: 1.0e-2, sampling: log}\nstages.unfrezee: [all, 1]\n")
    space = SearchSpace.from_file(path)
    with pytest.raises(InvalidConfigError) as error:
        space.validate(base)
    message = str(error.value)
    assert "key 'stages.unfrezee'" in message and "Did you mean 'stages.unfreeze'?" in message
    assert str(path) in message and "Received: stages.unfrezee='all'" in message


def test_bad_value_is_refused_with_the_recipe_message(base):
    space = SearchSpace({"label_smoothing": [None, 1.5]})
    with pytest.raises(InvalidConfigError, match="key 'label_smoothing' with value 1.5"):
        space.validate(base)
    SearchSpace({"label_smoothing": [None, 0.1], "stages.unfreeze": ["all", 2]}).validate(base)


def test_malformed_entries_are_refused():
    with pytest.raises(InvalidConfigError, match="has no choices"):
        SearchSpace({"augmentation": []})
    with pytest.raises(InvalidConfigError, match="min < max"):
        SearchSpace({"optimizer.head_lr": {"min": 0.1, "max": 0.01}})
    with pytest.raises(InvalidConfigError, match="a log range needs min > 0"):
        SearchSpace({"optimizer.head_lr": {"min": 0, "max": 0.01, "sampling": "log"}})
    with pytest.raises(InvalidConfigError, match="a list of choices or a range"):
        SearchSpace({"optimizer.head_lr": {"low": 0, "high": 1}})


def test_choices_of_mixed_types_round_trip_through_keras_tuner(base):
    import keras_tuner

    space = SearchSpace({"stages.unfreeze": ["all", 2], "optimizer.lr_factor": [None, 2.0],
                         "stages.head_epochs": {"min": 1, "max": 3}})
    hp = keras_tuner.HyperParameters()
    space.define(hp, base)
    assert hp.values == {"stages.unfreeze": '"all"', "optimizer.lr_factor": "null", "stages.head_epochs": 1}
    values = dict(hp.values, **{"stages.unfreeze": "2", "tuner/epochs": 3})
    assert space.overrides(values) == [(["stages", "unfreeze"], 2), (["optimizer", "lr_factor"], None),
                                       (["stages", "head_epochs"], 1)]
