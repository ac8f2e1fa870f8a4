"""`RawInputModel`: the base of TransferModel and MultiTaskModel: ``predict`` / ``evaluate`` take every input
form ``fine_tune`` takes, through the same conversion (``keras_transfer.models.inputs``)."""

import keras

__all__ = ["RawInputModel"]


class RawInputModel(keras.Model):
    """A ``keras.Model`` with a ``backbone`` whose ``predict`` and ``evaluate`` take raw inputs in every form
    ``keras_transfer.fine_tune`` takes: NumPy arrays (uint8 / float images, ``str`` or object arrays of texts,
    float waveforms), Python lists (of texts, of images, of clips), a ``tf.data.Dataset``, a
    ``keras.utils.PyDataset`` and, for ``evaluate``, a ``keras_transfer.data.Splits`` (its test split).

    The overrides apply to models loaded with ``keras_transfer.load_model`` too (the subclasses are registered
    serializables). Subclasses set ``self.backbone``.

    Examples:
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> model = keras_transfer.TransferModel(keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32)),
    ...                                      keras_transfer.ClassificationHead(2))
    >>> isinstance(model, keras_transfer.models.raw_input_model.RawInputModel)
    True
    """

    @property
    def input_dtype(self):
        """``"string"`` for a text backbone (so SavedModel signatures trace strings), else Keras' float dtype."""
        if getattr(getattr(self, "backbone", None), "input_kind", None) == "text":
            return "string"
        return super().input_dtype

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """``keras.Model.predict`` on raw inputs in any form ``fine_tune`` takes, checked first.

        Args:
            x: NumPy array or list of images ``(N, H, W, C)`` (uint8 or float in [0, 255]), texts (``str`` or
                object array, list of ``str``) or float waveforms ``(N, samples)``, by the backbone's
                ``input_kind``; a batched ``tf.data.Dataset`` of ``x`` or ``(x, y)`` (labels ignored); a
                ``keras.utils.PyDataset``. A ``Splits`` is refused: predict on one split's inputs,
                ``splits.test[0]``, so rows stay aligned with the inputs you chose.
            batch_size: int or None. Batch size for arrays and lists (default 32).
            verbose: ``"auto"``, 0, 1 or 2.
            steps: int or None. Batches to run from a dataset.
            callbacks: list of ``keras.callbacks.Callback`` or None.

        Returns:
            np.ndarray (a dict ``{task: array}`` for a MultiTaskModel).

        Raises:
            InvalidInputError: inputs the backbone cannot take (e.g. numbers for a text model), or a ``Splits``.

        Examples:
        >>> name = keras_transfer.testing.register_tiny_backbone()
        >>> backbone = keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32))
        >>> model = keras_transfer.TransferModel(backbone, keras_transfer.ClassificationHead(3))
        >>> images = [np.zeros((28, 28, 1), "uint8"), np.full((28, 28, 1), 255, "uint8")]  # a list of images
        >>> model.predict(images, verbose=0).shape
        (2, 3)
        """
        from keras_transfer.models.inputs import model_inputs

        return super().predict(model_inputs(self, x), batch_size=batch_size, verbose=verbose, steps=steps,
                               callbacks=callbacks)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, **kwargs):
        """``keras.Model.evaluate`` on raw inputs in any form ``fine_tune`` takes, inputs and labels checked first.

        A ``keras_transfer.data.Splits`` is evaluated on its test split (``splits.test``); a Splits without one
        raises, naming ``splits.validation``.

        Args:
            x: inputs as for ``predict`` with labels ``y``; or, alone, a labelled ``tf.data.Dataset`` /
                ``keras.utils.PyDataset`` of ``(x, y)`` batches, or a ``Splits``.
            y: labels for array / list inputs (``{task: y}`` for a MultiTaskModel), else None.
            batch_size: int or None.
            verbose: ``"auto"``, 0, 1 or 2.
            sample_weight: array or None.
            steps: int or None.
            callbacks: list of ``keras.callbacks.Callback`` or None.
            return_dict: bool. Return ``{metric: value}`` instead of a list.
            **kwargs: passed to ``keras.Model.evaluate``.

        Returns:
            float, list of floats, or dict (``return_dict=True``).

        Raises:
            InvalidInputError: bad inputs or labels (shape, type, range, length), or a Splits without a test split.

        Examples:
        >>> name = keras_transfer.testing.register_tiny_backbone()
        >>> backbone = keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32))
        >>> model = keras_transfer.TransferModel(backbone, keras_transfer.ClassificationHead(2))
        >>> model.compile("adam")
        >>> splits = keras_transfer.data.from_arrays(np.zeros((8, 28, 28, 1), "uint8"), np.arange(8) % 2,
        ...                                          test_size=4)
        >>> sorted(model.evaluate(splits, verbose=0, return_dict=True))  # on splits.test
        ['accuracy', 'loss']
        """
        if not kwargs.get("_use_cached_eval_dataset"):  # fit's validation: converted once by fine_tune / fit
            from keras_transfer.models.inputs import evaluation_data

            x, y = evaluation_data(self, x, y)
        return super().evaluate(x, y, batch_size=batch_size, verbose=verbose, sample_weight=sample_weight,
                                steps=steps, callbacks=callbacks, return_dict=return_dict, **kwargs)
