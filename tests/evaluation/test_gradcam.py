"""Grad-CAM through the nested backbone: the class activation map of a pooled linear head, exactly; heatmaps on
the object; a reloaded model gives the same maps."""

import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.errors import InvalidConfigError
from keras_transfer.evaluation import grad_cam, gradcam_target
from keras_transfer.evaluation.gradcam import feature_grid


def _class_activation_map(model, images, classes):
    """Zhou et al.'s CAM for an average-pooled backbone and a linear head, in NumPy, at feature resolution: what
    Grad-CAM of the class logit must equal (Selvaraju et al., section 3.1)."""
    import tensorflow as tf

    features = model.backbone.network(model.backbone.preprocess(tf.constant(images, "float32"))).numpy()
    kernel = model.head.output_layer.get_weights()[0]
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
