"""Presets and op configs: identity at inference, seeds, stated bounds, config forms, errors."""

import math

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.augmentation import AugmentationPipeline, get, list_ops, list_presets
from keras_transfer.errors import InvalidConfigError, InvalidInputError


def _images(channels, n=4, size=28):
    return np.random.default_rng(0).integers(0, 256, (n, size, size, channels)).astype("uint8")


@pytest.mark.parametrize("channels", [1, 3])
def test_every_preset_is_identity_at_inference_and_keeps_shape_in_training(channels):
    images = _images(channels)
    for preset in list_presets():
        pipeline = get(preset, seed=0)
        for training in (False, None):
            assert np.array_equal(np.asarray(pipeline(images, training=training)), images), preset
        augmented = np.asarray(pipeline(images, training=True))
        assert augmented.shape == images.shape, preset
        assert augmented.min() >= 0 and augmented.max() <= 255, preset
        if preset != "none":
            assert not np.allclose(augmented, images), preset


def test_seed_makes_the_pipeline_repeat_and_another_seed_differs():
    images = _images(3)
    first = np.asarray(get("medium", seed=7)(images, training=True))
    again = np.asarray(get("medium", seed=7)(images, training=True))
    other = np.asarray(get("medium", seed=8)(images, training=True))
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).max() > 1


def test_rotation_stays_within_the_stated_angle():
    size = 33
    yy, xx = np.meshgrid(np.arange(size) - 16.0, np.arange(size) - 16.0, indexing="ij")
    ramp = np.stack([xx + 128, yy + 128, np.full_like(xx, 128)], axis=-1)[None].repeat(64, 0).astype("float32")
    out = np.asarray(get({"rotation": 10}, seed=3)(ramp, training=True))
    # Near the centre each output pixel reads the input at a rotated position: the x-ramp's gradient is
    # (cos θ, ±sin θ).
    dx = (out[:, 16, 17, 0] - out[:, 16, 15, 0]) / 2
    dy = (out[:, 17, 16, 0] - out[:, 15, 16, 0]) / 2
    angles = np.degrees(np.arctan2(np.abs(dy), dx))
    assert angles.max() <= 10.0 + 0.5
    assert angles.max() > 5.0  # the range is used, not a no-op


def test_random_resized_crop_op_stays_within_its_area_bounds():
    size = 40
    yy, xx = np.meshgrid(np.arange(size, dtype="float32"), np.arange(size, dtype="float32"), indexing="ij")
    ramp = np.stack([xx, yy, np.zeros_like(xx)], -1)[None].repeat(64, 0)
    out = np.asarray(get({"random_resized_crop": {"scale": (0.3, 0.6)}}, seed=1)(ramp, training=True))
    sx = out[:, 20, 21, 0] - out[:, 20, 20, 0]  # crop width / image width
    sy = out[:, 21, 20, 1] - out[:, 20, 20, 1]
    area = sx * sy
    assert area.min() >= 0.3 - 1e-3 and area.max() <= 0.6 + 1e-3
    assert area.max() - area.min() > 0.1


def test_brightness_shift_stays_within_its_fraction_of_the_range():
    flat = np.full((64, 8, 8, 3), 128.0, "float32")
    out = np.asarray(get({"color_jitter": {"brightness": 0.1}}, seed=0)(flat, training=True))
    shift = out[:, 0, 0, 0] - 128
    assert np.abs(shift).max() <= 0.1 * 255 + 1e-3
    assert np.abs(shift).max() > 0.05 * 255


def test_grey_images_pass_colour_ops_and_stay_grey():
    images = _images(1)
    out = get({"color_jitter": {"brightness": 0.2, "saturation": 0.5, "hue": 0.2}, "rand_augment": 0.5}, seed=0)(
        images, training=True
    )
    assert out.shape == images.shape


def test_config_forms_build_the_same_ops():
    as_dict = get({"flip": "vertical", "rotation": 20, "noise": 0.05})
    as_list = get(["flip", ("rotation", 20), {"noise": 0.05}, "crop", "zoom", "scale", "translation", "erasing"])
    assert [type(layer).__name__ for layer in as_dict.augmentation_layers] == [
        "RandomFlip", "RandomRotation", "RandomGaussianNoise",
    ]
    assert len(as_list.augmentation_layers) == 8
    assert as_dict.augmentation_layers[1].factor[1] == pytest.approx(20 / 360)
    assert get(None).augmentation_layers == []
    layer = keras.layers.RandomFlip()
    assert get(layer) is layer


def test_pipeline_config_round_trip_reproduces_the_augmentation():
    images = _images(3)
    pipeline = get("medium", seed=11)
    clone = AugmentationPipeline.from_config(pipeline.get_config())
    np.testing.assert_array_equal(
        np.asarray(pipeline(images, training=True)), np.asarray(clone(images, training=True))
    )


def test_transfer_model_trains_with_a_preset(tiny_model, tiny_images):
    model = kt.TransferModel(tiny_model.backbone, tiny_model.head, augmentation=get("light"))
    model.compile("adam")
    history = model.fit(*tiny_images, epochs=1, batch_size=9, verbose=0)
    assert math.isfinite(history.history["loss"][0])


def test_unknown_preset_lists_the_valid_ones():
    with pytest.raises(InvalidConfigError, match="Received: 'heavy'.*none, light, medium, strong"):
        get("heavy")


def test_unknown_op_lists_the_valid_ones():
    with pytest.raises(InvalidConfigError, match="Received: 'blur'.*Valid ops: .*random_resized_crop"):
        get({"blur": 1})
    assert "rand_augment" in list_ops()


@pytest.mark.parametrize(
    "config, message",
    [
        ({"rotation": 270}, "rotation=270"),
        ({"rotation": -5}, "rotation=-5"),
        ({"zoom": 1.5}, "zoom=1.5"),
        ({"translation": 0}, "translation=0"),
        ({"noise": 2}, "noise=2"),
        ({"color_jitter": {"hue": 0.8}}, "color_jitter.hue=0.8"),
        ({"color_jitter": {"sharpness": 0.1}}, "unknown option"),
        ({"color_jitter": {"brightness": 0}}, "does nothing"),
        ({"random_resized_crop": {"scale": (0.9, 0.2)}}, "scale=\\(0.9, 0.2\\)"),
        ({"random_resized_crop": {"implementation": "torch"}}, "implementation='torch'"),
        ({"rand_augment": {"num_ops": 0}}, "num_ops=0"),
        ({"erasing": {"probability": 1.5}}, "probability=1.5"),
        ({"flip": "diagonal"}, "flip='diagonal'"),
        ([42], "Received: 42"),
    ],
)
def test_factors_out_of_range_are_refused(config, message):
    with pytest.raises(InvalidConfigError, match=message):
        get(config)


def test_non_image_inputs_get_a_clear_error():
    with pytest.raises(InvalidInputError, match="RandomTokenMask"):
        get("light")(np.zeros((2, 16), "int32"), training=True)


def test_keras_cv_crop_works_when_installed_and_fails_clearly_when_not():
    config = {"random_resized_crop": {"scale": (0.5, 1.0), "implementation": "keras_cv"}}
    try:
        import keras_cv  # noqa: F401
    except ImportError:
        with pytest.raises(InvalidConfigError, match="pip install keras-transfer\\[cv\\]"):
            get(config)
        return
    images = _images(3)
    pipeline = get(config, seed=0)
    assert pipeline(images, training=True).shape == images.shape
    assert np.array_equal(np.asarray(pipeline(images)), images)


def test_keras_file_round_trip_keeps_the_augmentation(tiny_model, tiny_images, tmp_path):
    images, _ = tiny_images
    model = kt.TransferModel(tiny_model.backbone, tiny_model.head, augmentation=get("medium", seed=4))
    model.augmentation(images[:2], training=True)
    expected = np.asarray(model(images))
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    assert isinstance(loaded.augmentation, AugmentationPipeline)
    assert [type(layer).__name__ for layer in loaded.augmentation.augmentation_layers] == [
        type(layer).__name__ for layer in model.augmentation.augmentation_layers
    ]
    np.testing.assert_allclose(np.asarray(loaded(images)), expected, atol=1e-6)
    assert loaded(images, training=True).shape == expected.shape
