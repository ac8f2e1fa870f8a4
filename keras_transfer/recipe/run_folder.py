"""`RunFolder`: the folder one recipe run writes, ``<output_dir>/<name>-<timestamp>/``.

Layout::

    config.yaml          the resolved config (every default filled in, absolute data paths): reproduces the run
    environment.json     Python, platform, package versions, devices, the command line
    status.json          state (running / complete / failed), start and end times, epochs done
    history.json         the FineTuneHistory (per-epoch metrics and the stages), also history.csv
    tensorboard/         TensorBoard logs (tensorboard --logdir RUN_DIR/tensorboard)
    models/best.keras    the model at the best monitored epoch; models/last.keras at the end
    checkpoints/         per-epoch training state for --resume
    curves.png           loss and metric curves, stage boundaries marked
    evaluation.json      the evaluation report (also evaluation.md and confusion_matrix*.png)
    results.json         the headline numbers: test metrics, epochs, seconds
    exports/             exported files, if the config asks
"""

import csv
import datetime
import json
import math
import os
import platform
import shutil
import sys
import warnings
from pathlib import Path

from keras_transfer.atomic import write_file, write_json
from keras_transfer.errors import InvalidConfigError

__all__ = ["RunFolder", "environment_info", "write_json"]

CONFIG_FILE = "config.yaml"
_SUBFOLDERS = ("models", "tensorboard", "checkpoints")


def environment_info(argv=None) -> dict:
    """Versions and devices a run depended on.

    Returns:
        dict: ``python``, ``platform``, ``packages`` (name → version or None), ``devices``, ``cpu_count``,
        ``command``.
    """
    from importlib import metadata

    packages = {}
    for name in ("keras-transfer", "keras", "tensorflow", "keras-hub", "numpy", "pydantic", "pyyaml",
                 "tensorflow-datasets", "ai-edge-litert", "tensorboard", "matplotlib"):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    try:
        import tensorflow as tf

        devices = [f"{d.device_type}:{d.name}" for d in tf.config.list_physical_devices()]
    except Exception as error:  # noqa: BLE001 - recorded, never fatal
        devices = [f"unknown ({error})"]
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": packages,
        "devices": devices,
        "cpu_count": os.cpu_count(),
        "command": list(sys.argv if argv is None else argv),
    }


class RunFolder:
    """One run's folder and the files in it.

    Args:
        path: str or Path. The folder.

    Examples:
    >>> run = keras_transfer.recipe.RunFolder.create("/tmp/runs", "demo")  # doctest: +SKIP
    >>> run.path.name  # doctest: +SKIP
    'demo-20261127-210501'
    """

    def __init__(self, path):
        self.path = Path(path).resolve()

    # --------------------------------------------------------------------------------------- creation
    @staticmethod
    def timestamp() -> str:
        return datetime.datetime.now().strftime("%Y%m%d-%H%M%S")

    @classmethod
    def create(cls, output_dir, name: str, *, run_dir=None, overwrite: bool = False) -> "RunFolder":
        """A new run folder: ``run_dir``, or ``output_dir/<name>-<timestamp>``.

        Raises:
            InvalidConfigError: the folder exists and ``overwrite`` is False.
        """
        path = Path(run_dir) if run_dir is not None else Path(output_dir) / f"{name}-{cls.timestamp()}"
        if path.exists():
            if not overwrite:
                raise InvalidConfigError(
                    f"The run folder exists. Received: {str(path)!r}. Pass --resume to continue that run, "
                    "--overwrite to replace it, or choose another folder (--run-dir)."
                )
            is_run = path.is_dir() and (
                (path / CONFIG_FILE).is_file() or (path / "status.json").is_file()
                or {entry.name for entry in path.iterdir()} <= set(_SUBFOLDERS))  # empty, or made but never written
            if path.is_dir() and not is_run:
                raise InvalidConfigError(
                    f"--overwrite replaces run folders only, and this folder holds other files (no {CONFIG_FILE} or "
                    f"status.json). Received: {str(path)!r}. Choose a new or empty folder for --run-dir."
                )
            if not path.is_dir():
                raise InvalidConfigError(
                    f"The run folder path is a file. Received: {str(path)!r}. Choose a folder path for --run-dir."
                )
            shutil.rmtree(path)
        path.mkdir(parents=True)
        run = cls(path)
        for sub in _SUBFOLDERS:
            (run.path / sub).mkdir()
        return run

    @classmethod
    def open(cls, run_dir) -> "RunFolder":
        """An existing run folder (for ``--resume``).

        Raises:
            InvalidConfigError: not a run folder (no ``config.yaml``).
        """
        run = cls(run_dir)
        if not (run.path / CONFIG_FILE).is_file():
            raise InvalidConfigError(
                f"Not a run folder: it has no {CONFIG_FILE}. Received: {str(run_dir)!r}. Pass the folder a "
                "keras-transfer fit run wrote (runs/<name>-<timestamp>)."
            )
        for sub in _SUBFOLDERS:
            (run.path / sub).mkdir(exist_ok=True)
        return run

    # --------------------------------------------------------------------------------------- paths
    def __truediv__(self, name) -> Path:
        return self.path / name

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def best_model_path(self) -> Path:
        return self.path / "models" / "best.keras"

    @property
    def last_model_path(self) -> Path:
        return self.path / "models" / "last.keras"

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def tensorboard_dir(self) -> Path:
        return self.path / "tensorboard"

    # --------------------------------------------------------------------------------------- files
    def write_config(self, config_dict: dict) -> Path:
        import yaml

        header = "# Resolved config of this run: `keras-transfer fit THIS_FILE` reproduces it.\n"
        write_file(self.config_path, header + yaml.safe_dump(config_dict, sort_keys=False))
        return self.config_path

    def write_environment(self, argv=None) -> Path:
        return Path(write_json(self.path / "environment.json", environment_info(argv)))

    def read_status(self) -> dict:
        path = self.path / "status.json"
        if not path.is_file():
            return {}
        try:
            with open(path, encoding="utf-8") as handle:
                status = json.load(handle)
        except (OSError, ValueError) as error:  # damaged by hand: the checkpoint, not the status, decides a resume
            warnings.warn(f"Ignoring an unreadable {path} ({error.__class__.__name__}: {error}); it is rewritten.")
            return {}
        return status if isinstance(status, dict) else {}

    def write_status(self, state: str, **fields) -> dict:
        status = self.read_status()
        status.update(fields, state=state, updated=datetime.datetime.now().isoformat(timespec="seconds"))
        status.setdefault("started", status["updated"])
        write_json(self.path / "status.json", status)
        return status

    def write_history(self, history: dict) -> tuple:
        """``history.json`` (``FineTuneHistory.to_dict()``) and ``history.csv`` (one row per epoch)."""
        json_path = write_json(self.path / "history.json", history)
        columns = list(history.get("history", {}))
        epochs = history.get("epoch", [])
        stage_of = {}
        for stage in history.get("stages", []):
            for epoch in stage.get("epochs", []):
                stage_of[epoch] = stage.get("name")
        csv_path = self.path / "history.csv"
        with open(csv_path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["epoch", "stage"] + columns)
            for i, epoch in enumerate(epochs):
                row = [history["history"][c][i] if i < len(history["history"][c]) else "" for c in columns]
                writer.writerow([epoch, stage_of.get(epoch, "")] + [
                    "" if isinstance(v, float) and not math.isfinite(v) else v for v in row])
        return json_path, str(csv_path)
