"""The recipe's data.unlabeled and adapt keys: they go together, and the target inputs load from .npz or a folder."""

import numpy as np
import pytest
from PIL import Image

from keras_transfer.errors import InvalidConfigError
from keras_transfer.recipe import validate_config
from keras_transfer.recipe.unlabeled import load_unlabeled

BASE = {"data": {"kind": "dataset", "name": "digits"}, "backbone": {"name": "x"}, "head": {}}


@pytest.mark.parametrize("adapt, unlabeled", [("adabn", None), (None, "target.npz")])
def test_adapt_and_unlabeled_go_together(adapt, unlabeled):
    config = {**BASE, "data": {**BASE["data"], "unlabeled": unlabeled}, "adapt": adapt}
    with pytest.raises(InvalidConfigError, match="adapt and data.unlabeled go together"):
        validate_config(config)


def test_a_config_with_both_is_valid():
    config = validate_config({**BASE, "data": {**BASE["data"], "unlabeled": "t.npz"}, "adapt": "auto",
                              "adapt_epochs": 2})
    assert (config.adapt, config.adapt_epochs, config.data.unlabeled) == ("auto", 2, "t.npz")


def test_loads_a_folder_of_images_at_the_backbone_size(tmp_path):
    for i, sub in enumerate(["a", "a", "b/c"]):
        (tmp_path / sub).mkdir(parents=True, exist_ok=True)
        Image.new("L", (10 + i, 12), 7 * i).save(tmp_path / sub / f"{i}.png")
    images = load_unlabeled(tmp_path, image_size=(8, 8))
    assert images.shape == (3, 8, 8, 1) and images.dtype == np.uint8
    with pytest.raises(InvalidConfigError, match="different sizes"):
        load_unlabeled(tmp_path)


def test_refuses_an_npz_without_x_and_a_missing_path(tmp_path):
    np.savez(tmp_path / "t.npz", images=np.zeros((2, 4, 4, 1)))
    with pytest.raises(InvalidConfigError, match="no array 'x'"):
        load_unlabeled(tmp_path / "t.npz")
    with pytest.raises(InvalidConfigError, match="Give an existing path"):
        load_unlabeled(tmp_path / "missing")


def test_a_recipe_run_adapts_to_its_unlabelled_data(tmp_path):
    """A whole tiny recipe run with adapt: the target inputs come from data.unlabeled; the adaptation stage ran."""
    from keras_transfer.recipe import Recipe
    from keras_transfer.testing import tiny_recipe_config, write_tiny_arrays

    arrays = write_tiny_arrays(tmp_path / "tiny.npz")
    target = tmp_path / "target.npz"
    np.savez(target, x=(255 - np.load(arrays)["x"][:12]).astype("uint8"))
    config = tiny_recipe_config(arrays, tmp_path / "runs", adapt="adabn", stages={"head_epochs": 1,
                                                                                  "fine_tune_epochs": 0})
    config["data"]["unlabeled"] = str(target)
    result = Recipe(config).fit(quiet=True)
    assert [stage["name"] for stage in result.history["stages"]] == ["head", "adapt"]
