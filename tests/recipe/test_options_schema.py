"""The recipe keys that set fine_tune options are FineTuneOptions' fields: one check, help text and default."""

import json
import subprocess
import sys

import pytest
from pydantic import AfterValidator

from keras_transfer.errors import InvalidConfigError
from keras_transfer.recipe import RecipeConfig, validate_config
from keras_transfer.training.options import FineTuneOptions

MINIMAL = {"data": {"kind": "dataset", "name": "digits"}, "backbone": {"name": "x"}, "head": {}}
#: A value each option refuses; a new option with a recipe key adds one here.
REFUSED = dict(head_epochs=-1, fine_tune_epochs="three", unfreeze="sometimes", head_lr=0, fine_tune_lr=float("inf"),
               lr="fast", lr_factor=1, optimizer=3, batch_size=True, seed=2**32, mixup=-0.5, cutmix="lots",
               label_smoothing=1.0, loss=3, class_weight="balanced", ema=1.0, adapt="coral", adapt_epochs=-1)
#: Where the recipe's default deliberately differs from fine_tune's.
RECIPE_DEFAULTS = dict(head_epochs=3, fine_tune_epochs=3, seed=0)
#: Options fine_tune takes as None that a recipe refuses as null (the recipe always seeds).
NOT_NULL = ("unfreeze", "seed")

RECIPE_OPTIONS = {name: field.json_schema_extra["recipe"] for name, field in FineTuneOptions.model_fields.items()
                  if (field.json_schema_extra or {}).get("recipe")}


def _set(config: dict, path: str, value) -> dict:
    config = json.loads(json.dumps(config))
    *sections, key = path.split(".")
    node = config
    for section in sections:
        node = node.setdefault(section, {})
    node[key] = value
    return config


def _schema_field(path: str):
    model = RecipeConfig
    *sections, key = path.split(".")
    for section in sections:
        model = model.model_fields[section].annotation
    return model.model_fields[key]


def _checks(field) -> list:
    return [item.func for item in field.metadata if isinstance(item, AfterValidator)]


def test_every_recipe_key_names_a_recipe_field_and_has_a_refused_value():
    assert set(RECIPE_OPTIONS) == set(REFUSED)
    assert {"head_epochs", "fine_tune_epochs", "unfreeze", "head_lr", "fine_tune_lr", "lr", "lr_factor", "optimizer",
            "batch_size", "seed", "mixup", "cutmix", "label_smoothing"} <= set(RECIPE_OPTIONS)


@pytest.mark.parametrize("name", sorted(RECIPE_OPTIONS))
def test_a_recipe_key_uses_its_options_check_help_and_default(name):
    option, field = FineTuneOptions.model_fields[name], _schema_field(RECIPE_OPTIONS[name])
    assert set(_checks(option)) <= set(_checks(field)) and _checks(option)
    assert field.description.startswith(option.description)
    assert field.default == RECIPE_DEFAULTS.get(name, option.default)


@pytest.mark.parametrize("name", sorted(RECIPE_OPTIONS))
def test_a_recipe_key_refuses_what_its_option_refuses_with_the_same_message(name):
    with pytest.raises(InvalidConfigError) as option_error:
        FineTuneOptions.create(**{name: REFUSED[name]})
    expected = str(option_error.value)
    assert f"Received: {name}=" in expected
    path = RECIPE_OPTIONS[name]
    with pytest.raises(InvalidConfigError) as recipe_error:
        validate_config(_set(MINIMAL, path, REFUSED[name]), "config.yaml")
    message = str(recipe_error.value)
    assert "(1 problem)" in message
    assert f"\n  - {path!r}: {expected.rstrip('.')}." in message  # one line: the key, then the option's message


@pytest.mark.parametrize("name", NOT_NULL)
def test_a_recipe_refuses_null_where_it_needs_a_value(name):
    FineTuneOptions.create(**{name: None})  # fine_tune takes it
    with pytest.raises(InvalidConfigError, match=rf"'{RECIPE_OPTIONS[name]}': {name} cannot be null in a recipe\. "
                                                 rf"Received: {name}=None\."):
        validate_config(_set(MINIMAL, RECIPE_OPTIONS[name], None))


def test_recipe_defaults_and_what_the_options_accept():
    config = validate_config(MINIMAL)
    options = FineTuneOptions.from_recipe(config)
    assert (options.head_epochs, options.fine_tune_epochs, options.seed) == (3, 3, 0)  # the recipe's own defaults
    assert (options.unfreeze, options.lr, options.optimizer, options.batch_size) == ("all", "fixed", "adam", 32)
    for unfreeze in (2, "last:1", "gradual", "none"):
        assert validate_config(_set(MINIMAL, "stages.unfreeze", unfreeze)).stages.unfreeze == unfreeze
    # numbers written as text (YAML 1.1 reads 1e-3 as a string; key=value overrides are text) are numbers
    config = validate_config(_set(_set(MINIMAL, "optimizer.head_lr", "1e-3"), "label_smoothing", "0.1"))
    assert (config.optimizer.head_lr, config.label_smoothing) == (1e-3, 0.1)
    with pytest.raises(InvalidConfigError, match=r"'stages.head_epochs': head_epochs must be an int ≥ 0\. "
                                                 r"Received: head_epochs='3'\."):
        validate_config(_set(MINIMAL, "stages.head_epochs", "3"))  # integers stay strict, as before
    with pytest.raises(InvalidConfigError, match=r"Received: head_lr='nan'"):
        validate_config(_set(MINIMAL, "optimizer.head_lr", "nan"))


def test_the_json_schema_still_gives_each_keys_type():
    schema = RecipeConfig.model_json_schema()
    stages, optimizer = schema["$defs"]["StagesConfig"]["properties"], schema["$defs"]["OptimizerConfig"]["properties"]
    assert stages["head_epochs"]["type"] == "integer" and stages["head_epochs"]["minimum"] == 0
    assert stages["head_epochs"]["default"] == 3
    assert {member.get("type") for member in stages["unfreeze"]["anyOf"]} == {"integer", "string"}  # not null
    assert optimizer["head_lr"]["anyOf"] == [{"type": "number", "exclusiveMinimum": 0}, {"type": "null"}]
    assert optimizer["lr"]["enum"] == ["auto", "fixed"] and optimizer["name"]["type"] == "string"
    assert optimizer["batch_size"] == {**optimizer["batch_size"], "type": "integer", "minimum": 1}
    seed = schema["properties"]["seed"]
    assert (seed["type"], seed["minimum"], seed["exclusiveMaximum"], seed["default"]) == ("integer", 0, 2**32, 0)
    assert schema["properties"]["label_smoothing"]["anyOf"][0]["exclusiveMaximum"] == 1


def test_importing_the_recipe_does_not_import_tensorflow():
    code = "import sys, keras_transfer.recipe; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
