"""`load_recipe_data`: the config's ``data`` section through the loaders of ``keras_transfer.data``.

Single-task runs get ``(x, y)`` splits; multi-task runs get ``(x, {task: y})`` splits, each task labelled by
the dataset's labels, by groups of its class names (classes in no group are missing labels, ``-1``) or, for an
arrays file, by its own array.
"""

import dataclasses
import os
from typing import Dict, List, Optional

import numpy as np

from keras_transfer.errors import InvalidConfigError, InvalidInputError
from keras_transfer.recipe.schema import RecipeConfig

__all__ = ["RecipeData", "load_recipe_data"]


@dataclasses.dataclass
class RecipeData:
    """The splits of a run and what each task predicts.

    Attributes:
        train, validation, test: ``(x, y)`` (``y`` a dict ``{task: labels}`` for multi-task) or None.
        class_names: dict ``{task: list of class names}`` (None for a regression task); the single task is
            ``"output"``.
        source: str. A short description of the data.
    """

    train: tuple
    validation: Optional[tuple]
    test: Optional[tuple]
    class_names: Dict[str, Optional[List[str]]]
    source: str = ""

    def summary(self) -> str:
        sizes = ", ".join(f"{name} {len(split[0])}" for name, split in
                          (("train", self.train), ("validation", self.validation), ("test", self.test)) if split)
        tasks = "; ".join(f"{task}: {len(names)} classes" if names else f"{task}: regression"
                          for task, names in self.class_names.items())
        return f"{self.source}: {sizes} examples ({tasks})"


def _default_image_size(config):
    size = config.backbone.input_size
    return tuple(size) if size is not None and len(size) == 2 else (224, 224)


_STREAM_ABOVE_BYTES = 2**30


def _streams(config: RecipeConfig, image_size) -> bool:
    """Whether an image folder is streamed: ``data.stream`` true, or ``auto`` and more than 1 GiB decoded
    (single-task runs; a multi-task run relabels arrays in memory)."""
    d = config.data
    if d.stream is False or config.heads is not None:
        return False
    if d.stream is True:
        return True
    from keras_transfer.data.image_folder import IMAGE_EXTENSIONS

    files = sum(1 for _, _, names in os.walk(d.path) for n in names
                if not n.startswith(".") and os.path.splitext(n)[1].lower() in IMAGE_EXTENSIONS)
    return files * image_size[0] * image_size[1] * (d.channels or 3) > _STREAM_ABOVE_BYTES


def _single_label_splits(config: RecipeConfig):
    """The data's own splits (single labels), by kind."""
    import keras_transfer.data as kt_data

    d, seed = config.data, config.seed
    if d.kind == "dataset":
        if d.name == "rotten_tomatoes":
            return kt_data.rotten_tomatoes(validation_size=d.validation_size, test_size=d.test_size,
                                           n_per_class=d.n_per_class, seed=seed)
        return kt_data.load_dataset(d.name, n_per_class=d.n_per_class, validation_size=d.validation_size,
                                    test_size=d.test_size, seed=seed)
    if d.kind == "image_folder":
        options = dict(image_size=d.image_size or _default_image_size(config), on_error=d.on_error,
                       validation_size=d.validation_size, test_size=d.test_size, n_per_class=d.n_per_class,
                       seed=seed, channels=d.channels)
        if _streams(config, options["image_size"]):
            return kt_data.image_stream(d.path, batch_size=config.optimizer.batch_size, **options).splits()
        return kt_data.image_folder(d.path, **options)
    if d.kind == "tfds":
        split = tuple(d.split) if isinstance(d.split, list) else d.split
        return kt_data.tfds(d.name, split=split, data_dir=d.data_dir, download=d.download,
                            n_per_class=d.n_per_class, image_size=d.image_size, seed=seed,
                            max_examples=d.max_examples)
    if d.kind == "csv_text":
        return kt_data.csv_text(d.path, d.text_column, d.label_column, drop_labels=d.drop_labels,
                                validation_size=d.validation_size, test_size=d.test_size,
                                n_per_class=d.n_per_class, seed=seed, encoding=d.encoding)
    if d.kind == "wav_folder":
        return kt_data.wav_folder(d.path, sample_rate=d.sample_rate, resample_to_rate=d.resample,
                                  channels=d.channels, downmix=d.downmix, duration=d.duration,
                                  validation_size=d.validation_size, test_size=d.test_size,
                                  n_per_class=d.n_per_class, seed=seed)
    if d.kind == "synthetic_audio":
        return kt_data.synthetic_audio(d.task, n_per_class=d.n_per_class, sample_rate=d.sample_rate,
                                       duration=d.duration, validation_size=d.validation_size,
                                       test_size=d.test_size, seed=seed)
    raise InvalidConfigError(f"Unknown data.kind. Received: {d.kind!r}.")  # pragma: no cover (schema refuses it)


def _group_labels(task: str, groups: dict, class_names: List[str], y: np.ndarray):
    """Class ids of the dataset → ids of the task's groups (-1: a class in no group)."""
    known = set(class_names)
    mapping = np.full(len(class_names), -1, dtype=np.int64)
    for group_id, (group, members) in enumerate(groups.items()):
        for member in members:
            member = str(member)
            if member not in known:
                raise InvalidConfigError(
                    f"'heads.{task}.groups.{group}': {member!r} is not a class of the data. Received: {member!r}; "
                    f"allowed: {', '.join(class_names)}."
                )
            if mapping[class_names.index(member)] != -1:
                raise InvalidConfigError(
                    f"'heads.{task}.groups': class {member!r} is in two groups. Received: {groups!r}."
                )
            mapping[class_names.index(member)] = group_id
    ids = np.asarray(y, dtype=np.int64)
    return np.where(ids >= 0, mapping[np.clip(ids, 0, None)], -1), [str(g) for g in groups]


def _from_single_label(config: RecipeConfig) -> RecipeData:
    splits = _single_label_splits(config)
    names = list(splits.class_names)
    if config.heads is None:
        return RecipeData(splits.train, splits.validation, splits.test, {"output": names}, splits.source)
    task_names = {}
    for task, head in config.heads.items():
        task_names[task] = list(head.groups) if head.groups is not None else names

    def relabel(split):
        if split is None:
            return None
        x, y = split
        labels = {}
        for task, head in config.heads.items():
            labels[task] = _group_labels(task, head.groups, names, y)[0] if head.groups is not None else y
        return x, labels

    return RecipeData(relabel(splits.train), relabel(splits.validation), relabel(splits.test), task_names,
                      splits.source)


def _from_arrays(config: RecipeConfig) -> RecipeData:
    from keras_transfer.data.arrays import _build_splits, _labels_to_ids

    d = config.data
    try:
        with np.load(d.path, allow_pickle=False) as handle:
            arrays = {key: handle[key] for key in handle.files}
    except (OSError, ValueError) as error:
        raise InvalidInputError(f"Cannot read the arrays file ({error}). Received: data.path={d.path!r}. Save it "
                                "with numpy.savez(path, x=..., y=...).") from error
    heads = {"output": config.head} if config.heads is None else dict(config.heads)
    keys = {task: (head.labels or d.y_key) for task, head in heads.items()}
    for task, key in [("x", d.x_key)] + list(keys.items()):
        if key not in arrays:
            where = "data.x_key" if task == "x" else ("data.y_key" if heads[task].labels is None else
                                                      f"heads.{task}.labels")
            raise InvalidConfigError(f"'{where}': the arrays file has no array {key!r}. Received: {key!r}; allowed: "
                                     f"{', '.join(sorted(arrays))} (in {d.path}).")
    x = arrays[d.x_key]
    file_names = [str(c) for c in arrays["class_names"]] if "class_names" in arrays else None
    labels, class_names = {}, {}
    stratify, stratify_names = None, None
    for task, head in heads.items():
        y = arrays[keys[task]]
        if len(y) != len(x):
            raise InvalidInputError(f"The arrays file's {keys[task]!r} has {len(y)} rows but {d.x_key!r} has "
                                    f"{len(x)}. Received: both in {d.path}. Give one label per example.")
        if head.type == "regression":
            labels[task], class_names[task] = np.asarray(y, dtype=np.float32), None
            continue
        names = (d.class_names or file_names) if keys[task] == d.y_key else None
        y = np.asarray(y)
        missing = y.dtype.kind in "iu" and bool((y.astype(np.int64) < 0).any())
        if missing:  # missing labels (-1) in a multi-task array
            ids = y.astype(np.int64)
            names = names or [str(i) for i in range(int(ids.max()) + 1)]
        else:
            ids, names = _labels_to_ids(y, names)
        if stratify is None and not missing:
            stratify, stratify_names = ids, list(names)
        if head.groups is not None:
            ids, names = _group_labels(task, head.groups, list(names), ids)
        labels[task], class_names[task] = ids, list(names)
    if stratify is None:
        stratify, stratify_names = np.zeros(len(x), dtype=np.int64), ["all"]
    index = _build_splits(np.arange(len(x)), stratify, stratify_names, validation_size=d.validation_size,
                          test_size=d.test_size, n_per_class=d.n_per_class, seed=config.seed,
                          source=os.path.basename(d.path))

    def gather(split):
        if split is None:
            return None
        rows = split[0]
        if config.heads is None:
            return x[rows], labels["output"][rows]
        return x[rows], {task: y[rows] for task, y in labels.items()}

    return RecipeData(gather(index.train), gather(index.validation), gather(index.test), class_names,
                      os.path.basename(d.path))


def load_recipe_data(config: RecipeConfig) -> RecipeData:
    """Load the run's data as the config says (seeded by ``config.seed``).

    Returns:
        RecipeData.

    Raises:
        InvalidConfigError, InvalidInputError, DatasetUnavailableError: from the loaders, or a group naming a
            class the data does not have.
    """
    if config.data.kind == "arrays":
        return _from_arrays(config)
    return _from_single_label(config)
