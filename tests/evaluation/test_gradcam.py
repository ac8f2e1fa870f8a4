"""Grad-CAM through the nested backbone: the class activation map of a pooled linear head (centred logits),
exactly; blind to what all classes share; heatmaps on the object; a reloaded model gives the same maps; capped
activations (ReLU6) explained at their input."""

import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.errors import InvalidConfigError
from keras_transfer.evaluation import grad_cam, gradcam_target
from keras_transfer.evaluation.gradcam import feature_grid


def _class_activation_map(model, images, classes):
    """Zhou et al.'s CAM for an average-pooled backbone and a linear head, in NumPy, at feature resolution: what
    Grad-CAM of the class logit must equal (Selvaraju et al., section 3.1), with the logit centred on the mean over
    the classes (the kernel's mean column removed)."""
    import tensorflow as tf

    features = model.backbone.network(model.backbone.preprocess(tf.constant(images, "float32"))).numpy()
    kernel = model.head.output_layer.get_weights()[0]
    kernel = kernel - kernel.mean(axis=1, keepdims=True)
    cam = np.maximum(np.einsum("nhwk,kn->nhw", features, kernel[:, classes]), 0)
    return cam / np.maximum(cam.max(axis=(1, 2), keepdims=True), 1e-12)


def test_grad_cam_through_the_nested_backbone_equals_the_class_activation_map(square_task, tmp_path):
    model, _, (tx, ty, _) = square_task
    assert gradcam_target(model).name == "block3_relu"  # the last layer group's last layer
    heatmaps = grad_cam(model, tx, ty)
    assert heatmaps.shape == (len(tx), 32, 32) and heatmaps.dtype == np.float32
    assert heatmaps.min() >= 0.0 and np.allclose(heatmaps.max(axis=(1, 2)), 1.0)
    assert heatmaps.std(axis=(1, 2)).min() > 0.05  # not flat
    # tiny_cnn: 3 stride-2 "same" convolutions, so cell k is centred on input pixel 8k + 7 (not 8k + 3.5)
    np.testing.assert_allclose(heatmaps[:, 7::8, 7::8], _class_activation_map(model, tx, ty), atol=1e-4)
    model.save(tmp_path / "model.keras")
    np.testing.assert_allclose(grad_cam(kt.load_model(tmp_path / "model.keras"), tx, ty), heatmaps, atol=1e-5)


def test_a_part_all_classes_share_changes_no_probability_and_no_heatmap(square_task, tmp_path):
    """Adding one vector to every column of the output kernel leaves the softmax (so the model) unchanged; the
    heatmaps must not change either (Grad-CAM of the raw logit would add that vector's class-blind map)."""
    model, _, (tx, ty, _) = square_task
    model.save(tmp_path / "model.keras")
    shifted = kt.load_model(tmp_path / "model.keras")
    kernel, bias = shifted.head.output_layer.get_weights()
    features = shifted.backbone(tx.astype("float32")).numpy()
    common = 5.0 * np.abs(kernel).max() * np.sign(features.mean(axis=0))  # large where the features are large
    shifted.head.output_layer.set_weights([kernel + common[:, None], bias])
    np.testing.assert_allclose(shifted.predict(tx, verbose=0), model.predict(tx, verbose=0), atol=1e-4)
    np.testing.assert_allclose(grad_cam(shifted, tx, ty), grad_cam(model, tx, ty), atol=1e-3)


def test_capped_activations_are_explained_at_their_input():
    """MobileNetV2's last group ends in ReLU6 (``out_relu``), EfficientNet-Lite0's in ``top_activation``
    (ReLU6): the default target is the layer feeding it; an inner layer named explicitly is taken as it is."""
    mobilenet = kt.TransferModel(kt.backbones.get("mobilenet_v2", weights=None, input_shape=(64, 64)),
                                 kt.ClassificationHead(3))
    assert mobilenet.backbone.layer_groups[-1].layers[-1].name == "out_relu"
    assert gradcam_target(mobilenet).name == gradcam_target(mobilenet, "top").name == "Conv_1_bn"
    assert gradcam_target(mobilenet, "out_relu").name == "out_relu"
    assert gradcam_target(mobilenet, "stage4").name == "block_16_project_BN"  # not an activation: as it is
    lite = kt.TransferModel(kt.backbones.get("efficientnet_lite0", weights=None, input_shape=(64, 64)),
                            kt.ClassificationHead(3))
    assert gradcam_target(lite).name == "top_bn"
    images = np.random.default_rng(0).integers(0, 255, (2, 64, 64, 3)).astype("uint8")
    assert grad_cam(mobilenet, images).shape == (2, 64, 64)


def test_feature_grid_follows_each_networks_padding():
    from keras_transfer.testing import register_tiny_backbone

    tiny = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32))
    assert feature_grid(tiny.network, gradcam_target_of(tiny)) == [(8.0, 7.5), (8.0, 7.5)]  # "same": pixel 8k + 7
    mobilenet = kt.backbones.get("mobilenet_v2", weights=None, input_shape=(64, 64))  # ZeroPadding2D(1) + "valid"
    assert feature_grid(mobilenet.network, gradcam_target_of(mobilenet)) == [(32.0, 0.5), (32.0, 0.5)]


def gradcam_target_of(backbone):
    return backbone.layer_groups[-1].layers[-1]


def test_heatmaps_of_the_bright_class_sit_on_the_square(square_task):
    model, _, (tx, ty, boxes) = square_task
    bright = ty == 1
    heatmaps = grad_cam(model, tx[bright])  # the predicted classes (all right)
    inside = np.zeros(heatmaps.shape, bool)
    for mask, (x0, y0, x1, y1) in zip(inside, boxes[bright]):
        mask[y0:y1, x0:x1] = True
    mean_inside = (heatmaps * inside).sum(axis=(1, 2)) / inside.sum(axis=(1, 2))
    mean_outside = (heatmaps * ~inside).sum(axis=(1, 2)) / (~inside).sum(axis=(1, 2))
    print("heat inside / outside the square:", np.round(mean_inside / mean_outside, 2))
    assert np.mean(mean_inside > 3 * mean_outside) >= 0.9


def test_grad_cam_names_its_layers_and_refuses_models_without_gradients(square_task, tmp_path):
    model, _, (tx, _, _) = square_task
    assert gradcam_target(model, "block2").name == "block2_relu"
    assert grad_cam(model, tx[:2], layer="block2").shape == (2, 32, 32)
    with pytest.raises(InvalidConfigError, match="Received: layer='nope'"):
        grad_cam(model, tx[:2], layer="nope")
    exported = kt.export.ExportedModel(tmp_path / "model.tflite", "tflite", lambda x: model.predict(x, verbose=0),
                                       (32, 32, 1), "uint8")  # what load_exported returns, without the export
    with pytest.raises(InvalidConfigError, match="gradients"):
        kt.interpret(exported, (tx, np.zeros(len(tx), "int64")), gradcam=True)
