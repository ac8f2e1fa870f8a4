"""Config validation: every example validates; bad configs fail on load naming key, value and allowed values."""

import json
from pathlib import Path

import pytest
import yaml

import keras_transfer as kt
from keras_transfer.errors import InvalidConfigError
from keras_transfer.recipe import Recipe, validate_config
from keras_transfer.testing import tiny_recipe_config

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "configs").glob("*.*"))


def test_examples_cover_every_workflow():
    names = {path.stem for path in EXAMPLES}
    assert {"image", "text", "audio", "multitask", "cached", "gradual", "export_int8"} <= names
    assert any(path.suffix == ".json" for path in EXAMPLES)


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_every_example_config_validates(path):
    recipe = Recipe.from_file(path)
    assert recipe.config.name == path.stem
    resolved = recipe.to_dict()
    assert set(resolved) >= {"data", "backbone", "optimizer", "stages", "cache", "export", "seed"}
    # the resolved form (what a run folder stores) validates again to the same config
    assert Recipe(resolved).to_dict() == resolved


def test_yaml_and_json_give_the_same_config(tmp_path, tiny_arrays):
    config = tiny_recipe_config(tiny_arrays, tmp_path)
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "a.json").write_text(json.dumps(config))
    assert Recipe.from_file(tmp_path / "a.yaml").to_dict() == Recipe.from_file(tmp_path / "a.json").to_dict()


def _error(raw, **kwargs) -> str:
    with pytest.raises(InvalidConfigError) as info:
        Recipe(raw, **kwargs)
    return str(info.value)


def test_unknown_keys_suggest_the_close_one(tmp_path, tiny_arrays):
    config = tiny_recipe_config(tiny_arrays, tmp_path)
    config["optimizer"]["head_rl"] = 0.1
    config["stages"]["fine_tune_epoch"] = 2
    config["bakcbone"] = {}
    message = _error(config)
    assert "3 problems" in message
    assert "unknown key 'optimizer.head_rl'. Did you mean 'optimizer.head_lr'?" in message
    assert "Did you mean 'stages.fine_tune_epochs'?" in message
    assert "unknown key 'bakcbone'. Did you mean 'backbone'?" in message
    assert "Allowed keys in 'stages': fine_tune_epochs, head_epochs, unfreeze" in message


def test_unknown_key_inside_a_data_kind_and_a_task(tmp_path, tiny_arrays):
    config = tiny_recipe_config(tiny_arrays, tmp_path, head=None, heads={"shade": {"tpye": "classification"}})
    config["data"]["text_column"] = "text"
    message = _error(config)
    assert "unknown key 'heads.shade.tpye'. Did you mean 'heads.shade.type'?" in message
    assert "unknown key 'data.text_column'" in message and "Allowed keys in 'data': class_names" in message


def test_wrong_types_name_key_value_and_allowed_values(tmp_path, tiny_arrays):
    config = tiny_recipe_config(tiny_arrays, tmp_path)
    config["stages"]["head_epochs"] = "three"
    config["optimizer"]["lr"] = "sometimes"
    config["optimizer"]["head_lr"] = -1
    config["data"]["kind"] = "imagefolder"
    message = _error(config)
    # the keys that set fine_tune options say it in FineTuneOptions' words (one check for both)
    assert "'stages.head_epochs': head_epochs must be an int ≥ 0. Received: head_epochs='three'." in message
    assert "'optimizer.lr': Unknown learning-rate policy. Received: lr='sometimes'. Use 'auto'" in message
    assert "or 'fixed' (head_lr, then fine_tune_lr)." in message
    assert "'optimizer.head_lr': head_lr must be a positive finite float. Received: head_lr=-1." in message
    assert "'data.kind': unknown value. Received: 'imagefolder'. Allowed: 'dataset', 'image_folder'" in message


def test_unfreeze_and_missing_keys(tmp_path, tiny_arrays):
    config = tiny_recipe_config(tiny_arrays, tmp_path)
    config["stages"]["unfreeze"] = "sometimes"
    del config["backbone"]
    message = _error(config)
    assert "'stages.unfreeze': Unknown unfreeze policy. Received: unfreeze='sometimes'. Use 'all', 'none', " \
        "'gradual', an int N ≥ 0 (last N layer groups), 'last:N'" in message
    assert "missing key 'backbone'" in message


def test_text_backbone_on_images_is_refused_before_any_work(tmp_path, tiny_arrays):
    config = tiny_recipe_config(tiny_arrays, tmp_path, backbone={"name": "minilm_l6", "input_size": [32]})
    message = _error(config)
    assert "'backbone.name': a text backbone cannot read image data" in message
    assert "backbone.name='minilm_l6' with data.kind='arrays'" in message
    dataset = {"kind": "dataset", "name": "rotten_tomatoes"}
    message = _error(tiny_recipe_config(tiny_arrays, tmp_path, data=dataset))
    assert "an image backbone cannot read text data" in message


def test_unknown_backbone_and_dataset_suggest_names(tmp_path, tiny_arrays):
    config = tiny_recipe_config(tiny_arrays, tmp_path, backbone={"name": "MobileNet-V3"},
                                data={"kind": "dataset", "name": "animal_mnst"})
    message = _error(config)
    assert "'backbone.name'" in message and "Did you mean" in message and "mobilenet_v3_small" in message
    assert "'data.name': unknown offline dataset. Did you mean 'animal_mnist'?" in message


def test_missing_data_path_and_weights_file(tmp_path, tiny_arrays):
    config = tiny_recipe_config(tiny_arrays, tmp_path)
    config["data"]["path"] = "no_such.npz"
    config["backbone"]["weights"] = "missing.weights.h5"
    message = _error(config, base_dir=tmp_path)
    assert f"'data.path': no such file. Received: '{tmp_path / 'no_such.npz'}'" in message
    assert "'backbone.weights': no such weights file" in message
    folder = dict(tiny_recipe_config(tiny_arrays, tmp_path), data={"kind": "image_folder", "path": "photos"})
    assert "'data.path': no such folder" in _error(folder, base_dir=tmp_path)


def test_contradicting_options(tmp_path, tiny_arrays):
    both = tiny_recipe_config(tiny_arrays, tmp_path, heads={"a": {}})
    assert "give exactly one: head (one task) or heads" in _error(both)
    multi = tiny_recipe_config(tiny_arrays, tmp_path, head=None, heads={"a": {}, "b": {"labels": "parity"}},
                               mixup=0.2, cache={"enabled": True}, loss_weighting={"c": 1.0})
    message = _error(multi)
    assert "'mixup': mixes one head's labels" in message
    assert "'cache.enabled'" in message and "'loss_weighting': names tasks without a head" in message
    export = tiny_recipe_config(tiny_arrays, tmp_path, export=[{"format": "saved_model", "quantization": "int8"}])
    assert "'export.0.quantization': quantization is for tflite" in _error(export)
    nothing = tiny_recipe_config(tiny_arrays, tmp_path, stages={"head_epochs": 0, "fine_tune_epochs": 0})
    assert "'stages': nothing to train" in _error(nothing)
    augment = tiny_recipe_config(tiny_arrays, tmp_path, augmentation={"rotation": 500})
    assert "'augmentation':" in _error(augment) and "rotation=500" in _error(augment)
    optimizer = tiny_recipe_config(tiny_arrays, tmp_path, optimizer={"name": "adamm"})
    assert "'optimizer.name': unknown Keras optimizer. Received: 'adamm'" in _error(optimizer)


def test_validate_config_is_the_schema_alone():
    config = validate_config({"data": {"kind": "dataset", "name": "digits"}, "backbone": {"name": "x"}, "head": {}})
    assert config.stages.head_epochs == 3 and config.optimizer.name == "adam"
    assert isinstance(kt.recipe.RecipeConfig.model_json_schema(), dict)


def test_config_file_errors(tmp_path):
    with pytest.raises(InvalidConfigError, match="No such config file"):
        Recipe.from_file(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed\n")
    with pytest.raises(InvalidConfigError, match="is not valid YAML"):
        Recipe.from_file(bad)
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(InvalidConfigError, match="must hold a mapping"):
        Recipe.from_file(listing)
    with pytest.raises(InvalidConfigError, match="YAML or JSON"):
        Recipe.from_file(Path(__file__))
