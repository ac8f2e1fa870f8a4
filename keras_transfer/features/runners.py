"""`extract(..., runner=)`: the public entry point choosing where feature extraction runs.

``runner="local"`` (the default) is the in-process ``tf.data`` pass of ``keras_transfer.features.cache``;
``runner="beam"`` is the Apache Beam pipeline of ``keras_transfer.features.beam_extract`` (DirectRunner,
Dataflow, Flink, Spark through ``pipeline_options``). Both write the same cache format.
"""

from keras_transfer.errors import InvalidConfigError
from keras_transfer.features.beam_extract import beam_extract
from keras_transfer.features.cache import extract as local_extract

__all__ = ["RUNNER_NAMES", "extract"]

#: Values of ``extract(..., runner=)``.
RUNNER_NAMES = ("local", "beam")
_BEAM_ONLY = ("image_size", "channels", "image_key", "label_key", "tfds_data_dir", "weights_from")


def extract(backbone, data, cache_dir, views: int = 0, *, runner: str = "local", pipeline_options=None, **kwargs):
    """Run the frozen backbone once over ``data`` and cache its features (in this process or on Apache Beam).

    Args:
        backbone: keras_transfer.backbones.Backbone.
        data: ``runner="local"``: see ``keras_transfer.features.cache.extract`` (arrays, memmaps, a batched
            ``tf.data.Dataset``). ``runner="beam"``: arrays, a folder of class sub-folders of images, TFRecord
            files, or ``"tfds:NAME[:SPLIT]"`` (decoded on the workers).
        cache_dir: str or os.PathLike. Directory of cache entries.
        views: int ≥ 0. Augmented views per example (``runner="local"`` only).
        runner: ``"local"`` or ``"beam"``.
        pipeline_options: Beam options for ``runner="beam"``: a dict
            (``{"runner": "DirectRunner", "direct_num_workers": 2, "direct_running_mode": "multi_processing"}``),
            a list of ``--flags`` or a ``PipelineOptions``; None runs DirectRunner in this process.
        **kwargs: ``augmentation``, ``batch_size``, ``shard_size``, ``verify``, ``verbose``; with
            ``runner="beam"`` also ``image_size``, ``channels``, ``image_key``, ``label_key``,
            ``tfds_data_dir``, ``weights_from`` (see ``keras_transfer.features.beam_extract.beam_extract``).

    Returns:
        FeatureCache.

    Raises:
        InvalidConfigError: an unknown ``runner``, Beam options or file options with ``runner="local"``, bad
            pipeline options (checked before any work), and the errors of either extractor.

    Examples:
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> backbone = keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32))
    >>> x, y = np.zeros((4, 28, 28, 1), "uint8"), np.arange(4) % 2
    >>> keras_transfer.features.extract(backbone, (x, y), "/tmp/kt-doc-cache", runner="spark")
    Traceback (most recent call last):
    ...
    keras_transfer.errors.InvalidConfigError: runner must be 'local' or 'beam'. Received: runner='spark'. ...
    >>> beam = keras_transfer.features.extract(backbone, (x, y), "/tmp/kt-doc-beam", runner="beam")  # doctest: +SKIP
    >>> beam.manifest["provenance"]["runner"]  # doctest: +SKIP
    'DirectRunner'
    """
    if runner not in RUNNER_NAMES:
        raise InvalidConfigError(
            f"runner must be 'local' or 'beam'. Received: runner={runner!r}. Beam runners (DirectRunner, "
            "DataflowRunner, FlinkRunner, SparkRunner) go in pipeline_options: runner='beam', "
            f"pipeline_options={{'runner': {_beam_name(runner)!r}, ...}}."
        )
    if runner == "beam":
        return beam_extract(backbone, data, cache_dir, views, pipeline_options=pipeline_options, **kwargs)
    misplaced = [name for name in _BEAM_ONLY if name in kwargs]
    if pipeline_options is not None or misplaced:
        given = ["pipeline_options"] if pipeline_options is not None else []
        raise InvalidConfigError(
            f"{', '.join(given + misplaced)} only apply with runner='beam'. Received: runner='local'. Pass "
            "runner='beam', or drop them (the local runner reads arrays and tf.data datasets)."
        )
    return local_extract(backbone, data, cache_dir, views, **kwargs)


def _beam_name(runner) -> str:
    lowered = str(runner).lower().replace("runner", "")
    for name in ("Direct", "Dataflow", "Flink", "Spark"):
        if lowered == name.lower():
            return f"{name}Runner"
    return "DirectRunner"
