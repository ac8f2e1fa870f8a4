"""`ShapePreservingAugmentation`: the base of the augmentation layers, whose output is shaped as their input."""

import keras

__all__ = ["ShapePreservingAugmentation"]


class ShapePreservingAugmentation(keras.layers.Layer):
    """Base of augmentation layers: the output has the input's shape; the config is the attributes in ``config_keys``.

    Subclasses list their constructor arguments in ``config_keys`` (each stored under the same attribute name)
    and implement ``call``.

    Examples:
    >>> from keras_transfer.augmentation.shape_preserving import ShapePreservingAugmentation
    >>> class Flip(ShapePreservingAugmentation):
    ...     config_keys = ("axis",)
    ...     def __init__(self, axis=2, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.axis = axis
    ...     def call(self, inputs, training=None):
    ...         return keras.ops.flip(inputs, self.axis) if training else inputs
    >>> Flip(axis=1).get_config()["axis"], Flip().compute_output_shape((None, 8, 8, 3))
    (1, (None, 8, 8, 3))
    """

    config_keys = ()

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({key: getattr(self, key) for key in self.config_keys})
        return config
