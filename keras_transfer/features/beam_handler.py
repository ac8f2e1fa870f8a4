"""`BackboneModelHandler`: Beam RunInference's handler for a keras_transfer backbone, loaded once per worker.

The handler itself is small and pickled to the workers; the backbone is not. Each worker builds it once
(``load_model``; Beam keeps it for the worker's life) from one of two sources:

- ``model_path``: a ``.keras`` file holding the backbone (what ``extract(..., runner="beam")`` stages next to
  the cache, so it lives wherever the cache lives: a local or shared disk, ``gs://``, ``s3://``, ``hdfs://``),
  loaded in safe mode;
- ``registry``: ``(name, weights, input_shape, pooling)`` rebuilt with ``keras_transfer.backbones.get`` on the
  worker (weights ``"imagenet"`` then come from the worker's own offline weight packages or download).

Either way the worker hashes the loaded weights and refuses to run when they differ from the driver's
(``expected_weights``): the cache's fingerprint promises those weights. A backbone registered at run time (not
built in) travels as its ``BackboneSpec`` and is registered on the worker before loading.

Elements are ``(key, image, label)``; the result of a batch is one ``(key, features, label, image_or_None)``
per element (the raw image is kept for the first few keys only, the cache's probe).
"""

import os
import shutil
import tempfile
from typing import Optional

import numpy as np

try:  # apache-beam is an optional extra (keras-transfer[beam])
    from apache_beam.ml.inference.base import ModelHandler
except ImportError:  # pragma: no cover - the module still imports (docs, doctests) without it
    ModelHandler = object

from keras_transfer.errors import KerasTransferError

__all__ = ["BackboneModelHandler"]


class BackboneModelHandler(ModelHandler):
    """Runs a backbone frozen (``training=False``) on batches of raw images inside ``beam.RunInference``.

    Args:
        model_path: str or None. A ``.keras`` file saved by ``save_backbone`` (local path or a TensorFlow
            file-system URL).
        registry: dict or None. ``{"name", "weights", "input_shape", "pooling"}`` for
            ``keras_transfer.backbones.get`` on the worker (when no ``model_path``).
        spec: BackboneSpec or None. Registered on the worker when its name is unknown there.
        expected_weights: str or None. ``weights_hash`` the loaded backbone must have.
        probe_keys: set of keys whose raw image is returned with the features.
        batch_size: int. Largest batch Beam forms for one backbone call.

    Examples:
    >>> handler = keras_transfer.features.beam_handler.BackboneModelHandler(
    ...     registry={"name": "mobilenet_v2", "weights": None, "input_shape": (96, 96), "pooling": "avg"})
    >>> handler.batch_elements_kwargs()["max_batch_size"]
    64
    """

    def __init__(self, *, model_path: Optional[str] = None, registry: Optional[dict] = None, spec=None,
                 expected_weights: Optional[str] = None, probe_keys=(), batch_size: int = 64):
        if ModelHandler is not object:
            super().__init__(min_batch_size=int(batch_size), max_batch_size=int(batch_size))
        if (model_path is None) == (registry is None):
            raise ValueError("BackboneModelHandler needs exactly one of model_path and registry.")
        self.model_path = model_path
        self.registry = dict(registry) if registry is not None else None
        self.spec = spec
        self.expected_weights = expected_weights
        self.probe_keys = frozenset(probe_keys)
        self.batch_size = int(batch_size)
        # Full batches (the last of a bundle may be smaller): one backbone call per batch_size images.
        self._batching = {"min_batch_size": self.batch_size, "max_batch_size": self.batch_size}

    def batch_elements_kwargs(self):
        return dict(self._batching)

    # --------------------------------------------------------------- loading
    def load_model(self):
        """Build the backbone on this worker (once); returns an object with ``.backbone`` and ``.step``."""
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        from keras_transfer.backbones.catalog import find_spec, register
        from keras_transfer.features.fingerprint import weights_hash

        if self.spec is not None and find_spec(self.spec.name) is None:
            register(self.spec)
        if self.model_path is not None:
            backbone = _load_backbone_file(self.model_path)
        else:
            from keras_transfer.backbones.registry import get

            reg = self.registry
            backbone = get(reg["name"], weights=reg.get("weights"), input_shape=reg.get("input_shape"),
                           pooling=reg.get("pooling", "avg"))
        if self.expected_weights is not None and weights_hash(backbone) != self.expected_weights:
            raise KerasTransferError(
                f"The backbone loaded on a Beam worker has other weights than the driver's. Received: "
                f"{self.model_path or self.registry}. Stage the backbone as a .keras file (the default of "
                "extract(..., runner='beam')) or install the same weight packages on the workers."
            )

        return _LoadedBackbone(backbone)

    # ------------------------------------------------------------- inference
    def run_inference(self, batch, model, inference_args=None):
        """``[(key, image, label)] -> [(key, features, label, image or None)]`` with one backbone call."""
        images = np.stack([np.asarray(element[1]) for element in batch])
        features = model.step(images)(images).numpy()
        return [
            (key, features[i], label, np.asarray(image) if key in self.probe_keys else None)
            for i, (key, image, label) in enumerate(batch)
        ]

    def get_num_bytes(self, batch) -> int:
        return int(sum(np.asarray(element[1]).nbytes for element in batch))

    def get_metrics_namespace(self) -> str:
        return "keras_transfer_backbone"


class _LoadedBackbone:
    """A worker's backbone and its traced steps (Beam keeps a weak reference to the loaded model)."""

    def __init__(self, backbone):
        self.backbone = backbone
        self._steps = {}

    def step(self, images):
        """The traced ``images -> float32 features`` for this image shape and dtype, any batch size (one trace:
        the last, smaller batch of a bundle must not trace again)."""
        import tensorflow as tf

        key = (images.shape[1:], images.dtype.str)
        if key not in self._steps:
            backbone = self.backbone

            def step(batch):
                return tf.cast(backbone(batch, training=False), tf.float32)

            signature = [tf.TensorSpec((None,) + images.shape[1:], tf.as_dtype(images.dtype))]
            self._steps[key] = tf.function(step, input_signature=signature, autograph=False)
        return self._steps[key]


def save_backbone(backbone, path: str, input_shape, dtype: str) -> str:
    """Save ``backbone`` to a ``.keras`` file workers load in safe mode (wrapped in a one-layer model).

    Args:
        backbone: keras_transfer Backbone.
        path: str. Destination ending in ``.keras`` (a local path or a TensorFlow file-system URL).
        input_shape: tuple ``(H, W, C)`` of the raw images (None sizes allowed).
        dtype: str. The raw images' dtype.

    Returns:
        str: ``path``.
    """
    import keras
    import tensorflow as tf

    inputs = keras.Input(tuple(input_shape), dtype=dtype, name="images")
    wrapper = keras.Model(inputs, backbone(inputs, training=False), name="beam_backbone")
    local = path
    tmp = None
    if "://" in path:
        tmp = tempfile.mkdtemp(prefix="kt-beam-")
        local = os.path.join(tmp, os.path.basename(path))
    try:
        wrapper.save(local)
        if tmp is not None:
            tf.io.gfile.copy(local, path, overwrite=True)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return path


def _load_backbone_file(path: str):
    import keras
    import tensorflow as tf

    from keras_transfer.backbones.base import BaseBackbone

    tmp = None
    local = path
    if "://" in path:
        tmp = tempfile.mkdtemp(prefix="kt-beam-")
        local = os.path.join(tmp, os.path.basename(path))
        tf.io.gfile.copy(path, local, overwrite=True)
    try:
        wrapper = keras.saving.load_model(local, safe_mode=True, compile=False)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    for layer in wrapper.layers:
        if isinstance(layer, BaseBackbone):
            return layer
    raise KerasTransferError(f"{path} holds no keras_transfer backbone. Received: layers {wrapper.layers}.")
