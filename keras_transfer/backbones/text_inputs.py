"""Raw text inputs of the text backbones (``TextBackbone``, ``WordVectorBackbone``): strings in, checked once."""

import keras
import tensorflow as tf

from keras_transfer.data.text import check_text_spec, validate_texts
from keras_transfer.errors import InvalidInputError

__all__ = ["as_string_tensor", "TextInputs"]


def as_string_tensor(inputs, name: str):
    """Raw strings as a ``(batch,)`` ``tf.string`` tensor; static checks of dtype and rank.

    Args:
        inputs: list, tuple, array or tensor of strings, shaped ``(batch,)`` or ``(batch, 1)``.
        name: str. The backbone's name, for messages.

    Returns:
        tf.Tensor: ``tf.string``, shape ``(batch,)``.

    Raises:
        InvalidInputError: not strings, the wrong rank, or (eagerly) empty / non-text entries.

    Examples:
    >>> from keras_transfer.backbones.text_inputs import as_string_tensor
    >>> as_string_tensor(np.array([["a film"], ["a play"]]), "demo").shape
    TensorShape([2])
    """
    if isinstance(inputs, (list, tuple)):
        inputs = validate_texts(inputs, what="inputs")
    if not isinstance(inputs, (tf.Tensor, tf.Variable)) and not keras.backend.is_keras_tensor(inputs):
        inputs = tf.convert_to_tensor(inputs)
    if inputs.dtype != tf.string:
        raise InvalidInputError(
            f"Text backbone {name!r} takes raw strings. Received: inputs of dtype {inputs.dtype.name} and shape "
            f"{tuple(inputs.shape)}. Pass the texts themselves, e.g. np.array(['a fine film', ...]); the "
            "tokenizer runs inside the model."
        )
    if inputs.shape.rank == 2 and inputs.shape[-1] == 1:
        inputs = tf.squeeze(inputs, axis=-1)
    if inputs.shape.rank != 1:
        raise InvalidInputError(
            f"Text backbone {name!r} takes a batch of strings shaped (batch,) or (batch, 1). "
            f"Received: inputs of shape {tuple(inputs.shape)}. Flatten it, e.g. texts.reshape(-1)."
        )
    if tf.executing_eagerly():
        validate_texts(inputs.numpy(), what="inputs")
    return inputs


class TextInputs:
    """Mixin of the backbones that read raw strings ``(batch,)``: output shapes and pre-training checks."""

    def build(self, input_shape):
        self.built = True

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_dim)

    def compute_output_spec(self, inputs, training=None):
        # Symbolic calls (model building, loading) never run the tokenizer on placeholder tensors.
        return keras.KerasTensor((inputs.shape[0], self.output_dim), dtype=self.compute_dtype)

    def validate_inputs(self, x, what: str = "x"):
        """Check raw texts before training (``keras_transfer.data.validate_texts``).

        Args:
            x: strings: a list, a 1-D array, or ``(N, 1)``.
            what: str. The argument name used in error messages.

        Returns:
            np.ndarray of str, shape ``(N,)``.
        """
        return validate_texts(x, what=what)

    def _check_x_spec(self, x_spec, what: str) -> None:
        check_text_spec(x_spec, what)
