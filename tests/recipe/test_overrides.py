"""``key.path=value`` overrides (``keras-transfer fit --set``)."""

import pytest
import yaml

from keras_transfer.errors import InvalidConfigError
from keras_transfer.recipe import Recipe, apply_overrides, parse_override
from keras_transfer.testing import tiny_recipe_config


def test_values_are_yaml():
    assert parse_override("stages.head_epochs=2") == (["stages", "head_epochs"], 2)
    assert parse_override("optimizer.head_lr=1e-3") == (["optimizer", "head_lr"], "1e-3")  # YAML 1.1: a string
    assert parse_override("backbone.weights=null") == (["backbone", "weights"], None)
    assert parse_override("name='007'") == (["name"], "007")
    assert parse_override("data={kind: dataset, name: digits}")[1] == {"kind": "dataset", "name": "digits"}


def test_nested_new_sections_and_list_items():
    config = {"stages": {"head_epochs": 3}, "export": [{"format": "tflite"}]}
    result = apply_overrides(config, ["stages.head_epochs=1", "cache.enabled=true", "export.0.format=onnx"])
    assert result == {"stages": {"head_epochs": 1}, "cache": {"enabled": True}, "export": [{"format": "onnx"}]}
    assert config["stages"]["head_epochs"] == 3  # the input is not changed


@pytest.mark.parametrize("bad, match", [
    ("stages.head_epochs", "key.path=value"),
    ("stages..x=1", "key.path=value"),
    ("export.5.format=onnx", r"list index in \[0, 1\)"),
    ("name=[unclosed", "not valid YAML"),
    ("backbone.input_size=[64,64]", r"goes through 'backbone', which holds a value.*backbone='mobilenet_v2'"),
])
def test_malformed_overrides(bad, match):
    with pytest.raises(InvalidConfigError, match=match):  # never a silent replacement of a value
        apply_overrides({"export": [{"format": "tflite"}], "backbone": "mobilenet_v2"}, [bad])


def test_overrides_apply_through_from_file_and_are_validated(tmp_path, tiny_arrays):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(tiny_recipe_config(tiny_arrays, tmp_path)))
    recipe = Recipe.from_file(path, overrides=["stages.fine_tune_epochs=4", "optimizer.head_lr=1e-3",
                                               "stages.unfreeze=last:2", "name=other"])
    assert recipe.config.stages.fine_tune_epochs == 4
    assert recipe.config.optimizer.head_lr == pytest.approx(1e-3)  # "1e-3" read as a number by the schema
    assert recipe.config.stages.unfreeze == "last:2" and recipe.config.name == "other"
    with pytest.raises(InvalidConfigError, match="Did you mean 'stages.head_epochs'"):
        Recipe.from_file(path, overrides=["stages.head_epoch=1"])
