"""The config's data section through keras_transfer.data's loaders (no training): every file-based kind."""

import numpy as np
import pytest
from PIL import Image

from keras_transfer.errors import InvalidConfigError
from keras_transfer.recipe import Recipe
from keras_transfer.recipe.data_source import load_recipe_data
from keras_transfer.testing import tiny_recipe_config


def _config(tmp_path, tiny_arrays, data, backbone=None, **changes):
    config = tiny_recipe_config(tiny_arrays, tmp_path, data=data, **changes)
    if backbone is not None:
        config["backbone"] = backbone
    return Recipe(config, base_dir=tmp_path).config


def test_image_folder_at_the_backbone_size(tmp_path, tiny_arrays):
    for name, value in (("cat", 40), ("dog", 200)):
        (tmp_path / "photos" / name).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(np.full((20, 30, 3), value + i, "uint8")).save(tmp_path / "photos" / name / f"{i}.png")
    data = load_recipe_data(_config(tmp_path, tiny_arrays, {"kind": "image_folder", "path": "photos",
                                                             "validation_size": 0, "test_size": 2}))
    assert data.class_names == {"output": ["cat", "dog"]}
    assert data.train[0].shape == (6, 16, 16, 3) and data.validation is None and len(data.test[0]) == 2


def test_csv_text_for_a_text_backbone(tmp_path, tiny_arrays):
    rows = ["text,label"] + [f"good film {i},pos" for i in range(6)] + [f"bad film {i},neg" for i in range(6)]
    (tmp_path / "reviews.csv").write_text("\n".join(rows) + "\n")
    config = _config(tmp_path, tiny_arrays, {"kind": "csv_text", "path": "reviews.csv", "validation_size": 2,
                                             "test_size": 2, "n_per_class": 3},
                     backbone={"name": "minilm_l6", "input_size": [16]})
    data = load_recipe_data(config)
    assert data.class_names == {"output": ["neg", "pos"]} and len(data.train[0]) == 6
    assert isinstance(data.train[0][0], str)


def test_wav_folder_for_an_audio_backbone(tmp_path, tiny_arrays):
    import tensorflow as tf

    for label, freq in (("low", 200.0), ("high", 2000.0)):
        (tmp_path / "clips" / label).mkdir(parents=True)
        for i in range(3):
            wave = np.sin(2 * np.pi * freq * np.arange(1600) / 16000).astype("float32")[:, None] * 0.5
            (tmp_path / "clips" / label / f"{i}.wav").write_bytes(tf.audio.encode_wav(wave, 16000).numpy())
    config = _config(tmp_path, tiny_arrays, {"kind": "wav_folder", "path": "clips", "validation_size": 0,
                                             "test_size": 2}, backbone={"name": "audio_cnn", "weights": None})
    data = load_recipe_data(config)
    assert data.class_names == {"output": ["high", "low"]} and data.train[0].shape == (4, 1600)


def test_groups_must_name_classes_of_the_data(tmp_path, tiny_arrays):
    heads = {"shade": {}, "bright": {"groups": {"a": ["dark"], "b": ["purple"]}}}
    config = _config(tmp_path, tiny_arrays, tiny_recipe_config(tiny_arrays, tmp_path)["data"], head=None,
                     heads=heads)
    with pytest.raises(InvalidConfigError, match="'heads.bright.groups.b': 'purple' is not a class of the data. "
                                                 "Received: 'purple'; allowed: dark, mid, light"):
        load_recipe_data(config)


def test_missing_array_names_its_key(tmp_path, tiny_arrays):
    heads = {"shade": {}, "size": {"labels": "size", "type": "regression"}}
    config = _config(tmp_path, tiny_arrays, tiny_recipe_config(tiny_arrays, tmp_path)["data"], head=None,
                     heads=heads)
    with pytest.raises(InvalidConfigError, match="'heads.size.labels': the arrays file has no array 'size'"):
        load_recipe_data(config)
