"""`ImageBackbone` (formerly `Backbone`): the rename keeps the old name and old saved files working; the
registry builds every kind through `spec.create`."""

import dataclasses
import json
import zipfile

import keras
import numpy as np

import keras_transfer.backbones as backbones
from keras_transfer.backbones import Backbone, ImageBackbone
from keras_transfer.backbones.spec import BackboneSpec


def test_old_name_is_the_same_class():
    assert Backbone is ImageBackbone
    assert keras.saving.get_registered_object("keras_transfer>Backbone") is ImageBackbone
    assert keras.saving.get_registered_name(ImageBackbone) == "keras_transfer>ImageBackbone"


def test_config_with_the_old_class_name_loads():
    backbone = backbones.get("vgg16", weights=None, input_shape=(32, 32))
    config = keras.saving.serialize_keras_object(backbone)
    assert config["class_name"] == "ImageBackbone"
    config = dict(config, class_name="Backbone", registered_name="keras_transfer>Backbone")
    restored = keras.saving.deserialize_keras_object(config)
    assert isinstance(restored, ImageBackbone) and restored.backbone_name == "vgg16"
    assert restored.image_shape == (32, 32, 3)


def test_old_keras_file_loads(tmp_path):
    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, backbones.get("vgg16", weights=None, input_shape=(32, 32))(inputs))
    new_path, old_path = tmp_path / "new.keras", tmp_path / "old.keras"
    model.save(new_path)
    # Rewrite the archive as a file saved before the rename would be.
    with zipfile.ZipFile(new_path) as source, zipfile.ZipFile(old_path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "config.json":
                text = data.decode().replace('"ImageBackbone"', '"Backbone"')
                text = text.replace("keras_transfer>ImageBackbone", "keras_transfer>Backbone")
                assert '"Backbone"' in text
                data = json.dumps(json.loads(text)).encode()
            target.writestr(item, data)
    loaded = keras.saving.load_model(old_path, safe_mode=True)
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


def test_every_spec_kind_has_create_and_get_calls_it(monkeypatch):
    for name in backbones.list_backbones():
        assert callable(backbones.get_spec(name).create), name
    calls = []
    original = BackboneSpec.create

    def spy(self, **kwargs):
        calls.append(self.name)
        return original(self, **kwargs)

    monkeypatch.setattr(BackboneSpec, "create", spy)
    backbone = backbones.get("VGG16", weights=None, input_shape=(32, 32))
    assert calls == ["vgg16"] and isinstance(backbone, ImageBackbone)
    assert BackboneSpec.input_kind == "image"


def test_unregistered_spec_builds_from_itself():
    spec = dataclasses.replace(backbones.get_spec("vgg16"), name="vgg16_not_registered")
    backbone = spec.create(weights=None, input_shape=(32, 32))
    assert backbone.spec is spec and backbone.backbone_name == "vgg16_not_registered"
