"""Beam pipeline options for ``extract(..., runner="beam")``: parsed and checked before any work starts.

Apache Beam itself drops flags it does not know with a log line and ends the process (``SystemExit``) on a bad
choice; here both become an ``InvalidConfigError`` naming the flag and the fix, raised before the backbone is
staged or a file is read. Runner-specific needs are checked too: Dataflow needs a project, a region and a
``gs://`` temp location, and workers on other machines need a cache directory they can reach.
"""

import argparse

from keras_transfer.errors import InvalidConfigError

__all__ = ["RUNNERS", "beam_available", "check_pipeline_options", "remote_path"]

#: Beam runners ``extract(..., runner="beam")`` and ``keras-transfer extract`` accept.
RUNNERS = ("DirectRunner", "DataflowRunner", "FlinkRunner", "SparkRunner", "PrismRunner", "PortableRunner")
#: Runners whose workers run on other machines (they cannot see the driver's local disk).
_REMOTE_RUNNERS = ("DataflowRunner",)
_REMOTE_PREFIXES = ("gs://", "s3://", "hdfs://", "viewfs://", "az://")


def beam_available() -> bool:
    """Whether apache-beam can be imported (``pip install keras-transfer[beam]``).

    Returns:
        bool.

    Examples:
    >>> keras_transfer.features.beam_options.beam_available() in (True, False)
    True
    """
    try:
        import apache_beam  # noqa: F401
    except ImportError:
        return False
    return True


def require_beam():
    """Raise an ``InvalidConfigError`` with the install command when apache-beam is missing."""
    if not beam_available():
        raise InvalidConfigError(
            "runner='beam' needs Apache Beam, which is not installed. Received: runner='beam'. Install the extra "
            "with pip install 'keras-transfer[beam]' (or use runner='local')."
        )


def remote_path(path) -> bool:
    """Whether ``path`` is a URL of a TensorFlow file system (``gs://``, ``s3://``, ``hdfs://`` ...)."""
    return isinstance(path, str) and path.startswith(_REMOTE_PREFIXES)


class _RaisingParser(argparse.ArgumentParser):
    def error(self, message):
        raise InvalidConfigError(
            f"Bad Beam pipeline options: {message}. Received: pipeline_options as given. Fix the flag "
            "(python -c \"from apache_beam.options.pipeline_options import PipelineOptions; "
            "PipelineOptions(['--help'])\" lists them)."
        )


def _as_flags(pipeline_options) -> list:
    if pipeline_options is None:
        return []
    if isinstance(pipeline_options, dict):
        flags = []
        for key, value in pipeline_options.items():
            if not isinstance(key, str) or not key:
                raise InvalidConfigError(
                    f"pipeline_options keys must be option names. Received: key {key!r}. "
                    "Pass e.g. {'runner': 'DirectRunner', 'direct_num_workers': 2}."
                )
            name = "--" + key.lstrip("-")
            if value is True:
                flags.append(name)
            elif value is False or value is None:
                continue
            elif isinstance(value, (list, tuple)):
                flags.extend(f"{name}={item}" for item in value)
            else:
                flags.append(f"{name}={value}")
        return flags
    if isinstance(pipeline_options, (list, tuple)) and all(isinstance(f, str) for f in pipeline_options):
        return list(pipeline_options)
    if hasattr(pipeline_options, "get_all_options") and hasattr(pipeline_options, "view_as"):
        return list(getattr(pipeline_options, "_flags", []) or [])
    raise InvalidConfigError(
        "pipeline_options must be a dict, a list of --flags or an apache_beam PipelineOptions. Received: "
        f"pipeline_options of type {type(pipeline_options).__name__}. Pass e.g. "
        "{'runner': 'DirectRunner', 'direct_num_workers': 2, 'direct_running_mode': 'multi_processing'}."
    )


def check_pipeline_options(pipeline_options, cache_dir=None) -> tuple:
    """Parse and check Beam pipeline options; raise before any work when they cannot run.

    Args:
        pipeline_options: dict (``{"runner": "DirectRunner", "direct_num_workers": 2}``), list of flags
            (``["--runner=FlinkRunner", "--flink_master=host:8081"]``), a ``PipelineOptions`` or None
            (DirectRunner, in-process).
        cache_dir: the cache directory, checked against the runner (remote workers need a URL they can reach).

    Returns:
        ``(PipelineOptions, flags, recorded)``: the options object, the flag list, and the options as a dict
        with default values dropped (recorded in the manifest's provenance).

    Raises:
        InvalidConfigError: unknown flag, bad value, unknown runner, missing runner requirements.

    Examples:
    >>> opts, flags, recorded = keras_transfer.features.beam_options.check_pipeline_options(
    ...     {"runner": "DirectRunner", "direct_num_workers": 2})  # doctest: +SKIP
    >>> recorded["runner"]  # doctest: +SKIP
    'DirectRunner'
    """
    require_beam()
    from apache_beam.options import pipeline_options as beam_options

    flags = _as_flags(pipeline_options)
    parser = _RaisingParser(add_help=False, allow_abbrev=False)
    for cls in beam_options.PipelineOptions.__subclasses__() + [beam_options.PipelineOptions]:
        try:
            cls._add_argparse_args(parser)
        except argparse.ArgumentError:  # an option two classes declare
            continue
    known, unknown = parser.parse_known_args(flags)
    if unknown:
        raise InvalidConfigError(
            f"Unknown Beam pipeline option(s): {' '.join(unknown)}. Received: pipeline_options={flags}. Check the "
            "spelling (options are --name=value, e.g. --direct_num_workers=2); each runner's options are listed by "
            "python -c \"from apache_beam.options.pipeline_options import PipelineOptions; "
            "PipelineOptions(['--help'])\"."
        )
    runner = known.runner or "DirectRunner"
    runner_name = runner.rsplit(".", 1)[-1]
    if runner_name not in RUNNERS:
        raise InvalidConfigError(
            f"Unknown Beam runner {runner!r}. Received: runner={runner!r}. Use one of {', '.join(RUNNERS)} "
            "(--runner=DirectRunner runs on this machine)."
        )
    if runner_name == "DataflowRunner":
        missing = [f"--{name}" for name in ("project", "region", "temp_location") if not getattr(known, name, None)]
        if missing:
            raise InvalidConfigError(
                f"DataflowRunner needs {', '.join(missing)}. Received: pipeline_options={flags}. Pass e.g. "
                "--project=my-project --region=europe-west1 --temp_location=gs://my-bucket/tmp."
            )
        if not str(known.temp_location).startswith("gs://"):
            raise InvalidConfigError(
                f"DataflowRunner's --temp_location must be a gs:// path. Received: "
                f"temp_location={known.temp_location!r}. Pass --temp_location=gs://my-bucket/tmp."
            )
    if runner_name in _REMOTE_RUNNERS and cache_dir is not None and not remote_path(str(cache_dir)):
        raise InvalidConfigError(
            f"{runner_name} workers run on other machines and cannot write to this machine's disk. Received: "
            f"cache_dir={str(cache_dir)!r}. Pass a cache_dir they can reach, e.g. gs://my-bucket/features."
        )
    options = beam_options.PipelineOptions(flags)
    recorded = {"runner": runner_name}
    recorded.update({k: v for k, v in options.get_all_options(drop_default=True).items() if v is not None})
    return options, flags, _jsonable(recorded)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
