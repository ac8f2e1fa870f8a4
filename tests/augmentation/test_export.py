"""Export safety: a model with the "strong" preset converts to TFLite without random ops and matches Keras."""

import numpy as np

import keras_transfer as kt
from keras_transfer.augmentation import get

_RANDOM_OPS = ("RANDOM", "MULTINOMIAL", "STATELESS", "RNG")


def test_strong_preset_model_converts_to_tflite_and_matches_on_clean_inputs(tiny_model, tiny_images, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    images, _ = tiny_images
    model = kt.TransferModel(tiny_model.backbone, tiny_model.head, augmentation=get("strong", seed=0))
    augmented = np.asarray(model.augmentation(images[:2], training=True))  # build every augmentation layer
    assert not np.allclose(augmented, images[:2])
    expected = np.asarray(model(images))  # inference: augmentation is the identity
    np.testing.assert_array_equal(np.asarray(model.augmentation(images)), images)

    path = tmp_path / "strong.tflite"
    model.export(str(path), format="litert", verbose=False)
    interpreter = Interpreter(model_path=str(path))
    op_names = {op["op_name"].upper() for op in interpreter._get_ops_details()}
    assert not [name for name in op_names if any(word in name for word in _RANDOM_OPS)], op_names
    (input_detail,) = interpreter.get_input_details()
    interpreter.resize_tensor_input(input_detail["index"], images.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(input_detail["index"], images.astype(input_detail["dtype"]))
    interpreter.invoke()
    got = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_array_equal(got.argmax(axis=1), expected.argmax(axis=1))
