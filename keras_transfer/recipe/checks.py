"""`check_config`: the checks a schema cannot make alone, run on load, before any data is read or model built.

They need the backbone registry or the file system: a backbone that does not exist or does not take the
data's input kind (a text backbone on images), a missing data path, options that contradict each other
(regression labels from a dataset of class names, MixUp on several heads, int8 on ONNX, ...).
"""

import difflib
import os

from keras_transfer.errors import InvalidConfigError, UnknownBackboneError
from keras_transfer.recipe.schema import DATA_KINDS, RecipeConfig

__all__ = ["check_config", "backbone_input_kind", "data_input_kind", "resolve_paths"]

_PATH_KINDS = ("image_folder", "csv_text", "wav_folder", "arrays")
_TEXT_DATASETS = ("rotten_tomatoes",)


def resolve_paths(config: RecipeConfig, base_dir) -> RecipeConfig:
    """Make the data path, a weights file path and a tfds ``data_dir`` absolute, relative to ``base_dir``
    (the config file's folder), and ``output_dir`` / ``cache.dir`` absolute, relative to the working directory,
    so a run folder's resolved config works from anywhere.

    Returns:
        RecipeConfig: a copy.
    """
    base_dir = os.path.abspath(os.fspath(base_dir))

    def absolute(path):
        return path if path is None or os.path.isabs(path) else os.path.normpath(os.path.join(base_dir, path))

    data = config.data
    updates = {}
    if data.kind in _PATH_KINDS:
        updates["data"] = data.model_copy(update={"path": absolute(os.path.expanduser(data.path))})
    elif data.kind == "tfds" and data.data_dir is not None:
        updates["data"] = data.model_copy(update={"data_dir": absolute(os.path.expanduser(data.data_dir))})
    weights = config.backbone.weights
    if weights not in (None, "imagenet") and not os.path.isabs(weights):
        updates["backbone"] = config.backbone.model_copy(update={"weights": absolute(weights)})
    # Where runs and the feature cache go: relative to the working directory, as users type them, but written
    # absolute into the resolved config so a resume or a reproduction from elsewhere uses the same folders.
    updates["output_dir"] = os.path.abspath(os.path.expanduser(config.output_dir))
    if config.cache.dir is not None:
        updates["cache"] = config.cache.model_copy(
            update={"dir": os.path.abspath(os.path.expanduser(config.cache.dir))})
    return config.model_copy(update=updates)


def backbone_input_kind(name: str) -> str:
    """``"image"``, ``"text"`` or ``"audio"``: what a backbone name takes (registry, KerasHub preset or folder).

    Raises:
        InvalidConfigError: the name is neither registered nor a KerasHub text preset / preset folder (the
            message suggests close registry names).
    """
    from keras_transfer.backbones.registry import get_spec
    from keras_transfer.backbones.text import preset_spec

    try:
        spec = get_spec(name)
    except UnknownBackboneError as error:
        spec = preset_spec(name)
        if spec is None:
            raise InvalidConfigError(f"'backbone.name': {error}") from None
    return getattr(spec, "input_kind", "image") or "image"


def data_input_kind(config: RecipeConfig) -> str:
    """What the data holds: ``"image"``, ``"text"`` or ``"audio"``."""
    data = config.data
    if data.kind == "arrays":
        return data.input_kind
    if data.kind == "dataset" and data.name in _TEXT_DATASETS:
        return "text"
    return DATA_KINDS[data.kind]


def _check_data(config, problems):
    from keras_transfer.data import list_datasets

    data = config.data
    if data.kind == "dataset":
        names = list_datasets() + list(_TEXT_DATASETS)
        if data.name not in names:
            close = difflib.get_close_matches(data.name, names, n=1, cutoff=0.5)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            problems.append(f"'data.name': unknown offline dataset.{hint} Received: {data.name!r}; allowed: "
                            f"{', '.join(names)} (other data: data.kind image_folder, tfds, csv_text, wav_folder, "
                            "arrays).")
    if data.kind in _PATH_KINDS:
        path = data.path
        wants_dir = data.kind in ("image_folder", "wav_folder")
        exists = os.path.isdir(path) if wants_dir else os.path.isfile(path)
        if not exists:
            what = "folder" if wants_dir else "file"
            problems.append(f"'data.path': no such {what}. Received: {path!r}. Check the path (relative paths are "
                            "relative to the config file's folder).")
        elif data.kind == "arrays" and not path.endswith(".npz"):
            problems.append(f"'data.path': an arrays file is a .npz. Received: {path!r}; save it with "
                            "numpy.savez(path, x=..., y=...).")


def _check_backbone(config, problems):
    backbone = config.backbone
    try:
        kind = backbone_input_kind(backbone.name)
    except InvalidConfigError as error:
        problems.append(str(error))
        return
    wanted = data_input_kind(config)
    if kind != wanted:
        article = {"image": "an"}
        problems.append(
            f"'backbone.name': {article.get(kind, 'a')} {kind} backbone cannot read {wanted} data. Received: "
            f"backbone.name={backbone.name!r} with data.kind={config.data.kind!r}. Use {article.get(wanted, 'a')} "
            f"{wanted} backbone (keras-transfer backbones lists them: images mobilenet_v2, ..., text minilm_l6, "
            "audio audio_cnn) or other data.")
    sizes = {"image": (2, "[height, width]"), "text": (1, "[sequence_length]"), "audio": (1, "[num_samples]")}
    if backbone.input_size is not None and kind in sizes and len(backbone.input_size) != sizes[kind][0]:
        problems.append(f"'backbone.input_size': a {kind} backbone takes {sizes[kind][1]}. Received: "
                        f"{backbone.input_size}.")
    weights = backbone.weights
    if kind == "audio" and weights == "imagenet":
        problems.append("'backbone.weights': no pretrained weights ship for audio backbones. Received: 'imagenet'; "
                        "allowed: null (random) or a .weights.h5 / .npz file of a backbone trained on a source task.")
    if weights not in (None, "imagenet") and not os.path.isfile(weights):
        problems.append(f"'backbone.weights': no such weights file. Received: {weights!r}; allowed: 'imagenet', "
                        "null (random) or a .weights.h5 / .npz file.")


def _check_heads(config, problems):
    if (config.head is None) == (config.heads is None):
        problems.append("'head' / 'heads': give exactly one: head (one task) or heads (multi-task: {task: head}). "
                        f"Received: {'both' if config.head is not None else 'neither'}.")
        return
    data = config.data
    items = {"head": config.head} if config.head is not None else {f"heads.{t}": h for t, h in config.heads.items()}
    for where, head in items.items():
        if head.type == "regression" and data.kind != "arrays":
            problems.append(f"'{where}.type': regression targets come from an arrays file (data.kind: arrays). "
                            f"Received: type='regression' with data.kind={data.kind!r}; allowed: classification.")
        if head.labels is not None and data.kind != "arrays":
            problems.append(f"'{where}.labels': names an array of an arrays file (data.kind: arrays). Received: "
                            f"{head.labels!r} with data.kind={data.kind!r}. Use groups (of the class names).")
        if head.groups is not None and head.type != "classification":
            problems.append(f"'{where}.groups': groups make classes; a regression head has none. Received: "
                            f"{head.groups!r}.")
        if head.groups is not None and head.labels is not None:
            problems.append(f"'{where}': labels and groups both given. Received: labels={head.labels!r}, "
                            "groups=... . Give one.")
        if head.multi_label:
            problems.append(f"'{where}.multi_label': the data loaders give one class per example. Received: true; "
                            "allowed: false (multi-label data: use the Python API).")
    if config.heads is not None:
        import re

        for task in config.heads:
            if not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", task):
                problems.append(f"'heads.{task}': task names are identifiers (a letter, then letters, digits, '_'). "
                                f"Received: {task!r}.")
        if len(config.heads) < 1:
            problems.append("'heads': needs at least one task. Received: {}.")
        labelled_by_y = [t for t, h in config.heads.items() if h.labels is None and h.groups is None]
        if data.kind != "arrays" and len(labelled_by_y) > 1:
            problems.append(f"'heads': tasks {labelled_by_y} would all learn the same labels. Received: no labels / "
                            "groups for them; give each task but one groups (or an arrays file with one label array "
                            "per task).")
        if isinstance(config.loss_weighting, dict):
            unknown = sorted(set(config.loss_weighting) - set(config.heads))
            if unknown:
                problems.append(f"'loss_weighting': names tasks without a head. Received: {unknown}; allowed: "
                                f"{sorted(config.heads)}.")
        for key in ("mixup", "cutmix"):
            if getattr(config, key) is not None:
                problems.append(f"'{key}': mixes one head's labels; not with several heads. Received: "
                                f"{key}={getattr(config, key)}; allowed: null.")
        if config.cache.enabled:
            problems.append("'cache.enabled': sequential training on cached features trains one head. Received: "
                            "true with several heads; allowed: false.")
    else:
        if config.loss_weighting is not None:
            problems.append(f"'loss_weighting': weighs several heads' losses. Received: {config.loss_weighting!r} "
                            "with one head; allowed: null (or use heads).")
        if config.head.optimizer is not None:
            problems.append(f"'head.optimizer': a per-task optimizer is for heads (multi-task). Received: "
                            f"{config.head.optimizer!r}. Use optimizer.name / optimizer.head_lr.")
        if config.head.type == "regression" and (config.mixup or config.cutmix):
            problems.append("'mixup' / 'cutmix': classification heads only. Received: a regression head.")


def _check_training(config, problems):
    import keras

    stages = config.stages
    if stages.head_epochs + stages.fine_tune_epochs == 0:
        problems.append("'stages': nothing to train. Received: head_epochs=0 and fine_tune_epochs=0; set at least "
                        "one above 0.")
    if config.cache.enabled and stages.head_epochs == 0:
        problems.append("'cache.enabled': the cache serves stage 1 (head epochs). Received: head_epochs=0; set "
                        "stages.head_epochs > 0 or cache.enabled: false.")
    try:
        keras.optimizers.get(config.optimizer.name)
    except ValueError:
        problems.append(f"'optimizer.name': unknown Keras optimizer. Received: {config.optimizer.name!r}; allowed: "
                        "adam, adamw, sgd, rmsprop, nadam, adamax, adagrad, adadelta, lion, ftrl, muon.")
    if config.heads is not None:
        for task, head in config.heads.items():
            if isinstance(head.optimizer, str):
                try:
                    keras.optimizers.get(head.optimizer)
                except ValueError:
                    problems.append(f"'heads.{task}.optimizer': unknown Keras optimizer. Received: "
                                    f"{head.optimizer!r}; allowed: an LR multiplier or adam, sgd, rmsprop, ...")


def _check_augmentation(config, problems):
    import keras_transfer.augmentation as augmentation

    value = config.augmentation
    if value in ("none", [], {}):
        return
    if data_input_kind(config) != "image":
        problems.append(f"'augmentation': the presets and ops are image augmentations. Received: {value!r} with "
                        f"{data_input_kind(config)} data; allowed: none (SpecAugment / token masking: Python API).")
        return
    try:
        augmentation.get(value, seed=config.seed)
    except InvalidConfigError as error:
        problems.append(f"'augmentation': {error}")


def _check_export(config, problems):
    for i, target in enumerate(config.export):
        where = f"export.{i}"
        if target.quantization is not None and target.format != "tflite":
            problems.append(f"'{where}.quantization': quantization is for tflite. Received: "
                            f"{target.quantization!r} with format={target.format!r}; allowed: null.")
        if config.heads is not None or (config.head is not None and config.head.type != "classification"):
            problems.append(f"'{where}': exports from a run are for one classification head. Received: "
                            f"{'several heads' if config.heads is not None else 'a regression head'}. Export the "
                            "saved model with keras_transfer.export.export instead.")
        if data_input_kind(config) != "image":
            problems.append(f"'{where}': exports from a run take raw images. Received: {data_input_kind(config)} "
                            "data. Export the saved model with keras_transfer.export.export instead.")
        if target.format == "onnx":
            from keras_transfer.errors import ExportError
            from keras_transfer.export.onnx import require_onnx

            try:
                require_onnx()
            except ExportError as error:
                problems.append(f"'{where}.format': {error}")


def check_config(config: RecipeConfig, source: str = "") -> RecipeConfig:
    """Run every cross-key check; raise one ``InvalidConfigError`` listing all problems.

    Args:
        config: RecipeConfig (paths already resolved).
        source: str. Named in the message.

    Returns:
        RecipeConfig: ``config``.

    Raises:
        InvalidConfigError: one line per problem, naming the key, the value received and what is allowed.
    """
    problems = []
    _check_heads(config, problems)
    _check_data(config, problems)
    _check_backbone(config, problems)
    _check_training(config, problems)
    _check_augmentation(config, problems)
    _check_export(config, problems)
    if problems:
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        where = f" {source}" if source else ""
        raise InvalidConfigError(f"Invalid config{where} ({count}):\n  - " + "\n  - ".join(problems))
    return config
