"""Write a Keras model as a TensorFlow SavedModel through ``model.export(format="tf_saved_model")``."""

__all__ = ["export_saved_model"]


def export_saved_model(model, path, input_signature) -> str:
    """Write ``model`` as a SavedModel directory whose ``serve`` endpoint runs inference.

    The endpoint traces ``model(x)`` outside training, so augmentation layers and dropout are absent from
    the graph and preprocessing that lives inside the model (a ``Backbone``'s resize and normalisation) is in it.

    Args:
        model: keras.Model. A built model.
        path: str. Directory to create.
        input_signature: list of one ``keras.InputSpec``: the batch-agnostic raw input.

    Returns:
        str: ``path``.

    Examples:
    >>> spec = [keras.InputSpec(shape=(None, 28, 28, 1), dtype="uint8")]
    >>> keras_transfer.export.saved_model.export_saved_model(model, "/tmp/sm", spec)  # doctest: +SKIP
    '/tmp/sm'
    """
    model.export(str(path), format="tf_saved_model", input_signature=input_signature, verbose=False)
    return str(path)
