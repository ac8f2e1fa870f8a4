"""`load_model`: load a ``.keras`` file safely, with clear errors, ready for more training."""

import os
import zipfile

import keras

from keras_transfer.errors import CorruptWeightsError, InvalidConfigError, InvalidInputError, UnsafeCheckpointError

__all__ = ["load_model"]


def _num_classes(model):
    heads = getattr(model, "heads", None)
    if heads is not None:
        return {name: getattr(head, "num_classes", None) for name, head in heads.items()}
    head = getattr(model, "head", None)
    if head is not None:
        return getattr(head, "num_classes", None)
    shape = getattr(model, "output_shape", None)
    return shape[-1] if isinstance(shape, tuple) and shape and isinstance(shape[-1], int) else None


def _check_file(path):
    """Refuse a missing path, a directory or a file that is not a zip archive (every .keras file is one)."""
    if not os.path.exists(path):
        raise InvalidInputError(
            f"No model file at this path. Received: path={path!r}. Pass the path of a .keras file saved with "
            "model.save('name.keras')."
        )
    if os.path.isdir(path) or not zipfile.is_zipfile(path):
        raise CorruptWeightsError(
            f"This is not a .keras file: a .keras file is a zip archive, and this one is "
            f"{'a directory' if os.path.isdir(path) else 'truncated or in another format'}. Received: path={path!r} "
            f"({0 if os.path.isdir(path) else os.path.getsize(path)} bytes). Save the model again with "
            "model.save('name.keras'); for a SavedModel directory use tf.saved_model.load or keras-transfer predict."
        )


def load_model(path, *, num_classes=None, safe_mode: bool = True, compile: bool = True):
    """Load a ``.keras`` model in Keras' safe mode and check it fits the task it will be trained on.

    Safe mode (the default) refuses files that would run Python code when loaded (``Lambda`` layers holding
    lambdas, ``__lambda__`` functions); a ``.keras`` file is otherwise plain JSON and HDF5 weights, never a pickle.
    Missing, truncated and non-``.keras`` files get an error naming the file instead of Keras' misleading
    "File not found".

    Args:
        path: str or os.PathLike. A ``.keras`` file.
        num_classes: int, dict ``{task: int}`` or None. The classes of the data you will train on: a saved head
            with a different number raises here, before any training, rather than as out-of-range labels later.
        safe_mode: bool. Keras' safe mode; pass False only for files you trust.
        compile: bool. Restore the saved optimizer, loss and metrics.

    Returns:
        keras.Model (a ``keras_transfer.TransferModel`` or ``MultiTaskModel`` for models saved from them).

    Raises:
        InvalidInputError: no file at ``path``.
        CorruptWeightsError: not a ``.keras`` archive (truncated, another format) or unreadable.
        UnsafeCheckpointError: the file holds code that safe mode refuses.
        InvalidConfigError: ``num_classes`` differs from the saved head's.

    Examples:
    >>> import tempfile, os
    >>> name = keras_transfer.testing.register_tiny_backbone()  # any backbone, e.g. "mobilenet_v2"
    >>> backbone = keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32))
    >>> model = keras_transfer.TransferModel(backbone, keras_transfer.ClassificationHead(2))
    >>> _ = model.predict(np.zeros((1, 32, 32, 3), "uint8"), verbose=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.keras")
    >>> model.save(path)
    >>> keras_transfer.load_model(path, num_classes=2).num_classes
    2
    """
    path = os.fspath(path)
    _check_file(path)
    from keras_transfer.models.serializables import register_serializables

    register_serializables()

    try:
        model = keras.saving.load_model(path, compile=compile, safe_mode=safe_mode)
    except (ValueError, TypeError) as error:  # TypeError: "Could not locate class ..." (an unregistered class)
        if "safe_mode" in str(error) or "unsafe" in str(error).lower():
            raise UnsafeCheckpointError(
                f"The model file holds Python code that would run when loaded (e.g. a Lambda layer), which safe mode "
                f"refuses. Received: path={path!r} ({str(error).splitlines()[0][:200]}). Load it with "
                "safe_mode=False only if you trust its source, or rebuild the model without Lambda layers."
            ) from error
        raise CorruptWeightsError(
            f"The .keras file cannot be loaded ({error.__class__.__name__}: {str(error)[:300]}). Received: "
            f"path={path!r}. Check that it was saved by this version of keras_transfer / Keras and that custom "
            "backbones are registered (keras_transfer.backbones.register) before loading."
        ) from error
    except (OSError, KeyError, zipfile.BadZipFile) as error:
        raise CorruptWeightsError(
            f"The .keras file is damaged ({error.__class__.__name__}: {str(error)[:300]}). Received: path={path!r}. "
            "Save the model again."
        ) from error
    if num_classes is not None:
        saved = _num_classes(model)
        if saved is not None and saved != num_classes:
            raise InvalidConfigError(
                f"The saved model's head has {saved} classes, but the data for more training has {num_classes}. "
                f"Received: num_classes={num_classes!r} for {os.path.basename(path)!r}. To train on the new classes "
                "replace the head and keep the trained backbone: keras_transfer.TransferModel(model.backbone, "
                f"keras_transfer.ClassificationHead({num_classes if isinstance(num_classes, int) else 'n'}))."
            )
    return model
