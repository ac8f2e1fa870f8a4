"""The recipe config schema: pydantic models for a whole transfer run (data, backbone, heads, stages, export).

Every model forbids unknown keys (``extra="forbid"``); ``keras_transfer.recipe.validation`` turns pydantic's
errors into ``InvalidConfigError`` messages naming the key, the value received and the allowed values (with a
close-match suggestion for misspelt keys). Checks that need the registry or the file system (backbone / data
compatibility, data paths) live in ``keras_transfer.recipe.checks``.

A config, in YAML (JSON has the same structure)::

    name: animals                 # the run folder is <output_dir>/<name>-<timestamp>/
    seed: 0
    data: {kind: dataset, name: animal_mnist, n_per_class: 100}
    backbone: {name: mobilenet_v2, weights: imagenet, input_size: [64, 64]}
    head: {type: classification, dropout: 0.2}
    augmentation: light
    optimizer: {name: adam, head_lr: 0.001, lr: fixed}
    stages: {head_epochs: 3, fine_tune_epochs: 3, unfreeze: all}
    export: [{format: tflite, quantization: int8}]
"""

import re
from typing import Any, Dict, List, Literal, Optional, Tuple, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator, model_validator
from typing_extensions import Annotated

from keras_transfer.training.options import FineTuneOptions

__all__ = [
    "ArraysData",
    "BackboneConfig",
    "CacheConfig",
    "CsvTextData",
    "DATA_KINDS",
    "DatasetData",
    "EvaluationConfig",
    "ExportTarget",
    "HeadConfig",
    "ImageFolderData",
    "OptimizerConfig",
    "RecipeConfig",
    "StagesConfig",
    "SyntheticAudioData",
    "TfdsData",
    "WavFolderData",
]

PositiveInt = Annotated[StrictInt, Field(ge=1)]
NonNegativeInt = Annotated[StrictInt, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)]
#: A split size: a fraction of the whole dataset in [0, 1) or a count of examples.
SplitSize = Union[NonNegativeInt, Fraction]
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
#: A key that sets a ``fine_tune`` option: ``FineTuneOptions``' check, help text and default (see its ``recipe`` paths).
_option = FineTuneOptions.recipe_field


class _Section(BaseModel):
    """Base of every section: unknown keys are errors, values are checked on assignment too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# --------------------------------------------------------------------------------------------------- data
class _SplitOptions(_Section):
    n_per_class: Optional[PositiveInt] = Field(None, description="training examples kept per class (None: all)")
    validation_size: SplitSize = Field(0.1, description="fraction in [0, 1) or count of examples")
    test_size: SplitSize = Field(0.2, description="fraction in [0, 1) or count of examples")
    unlabeled: Optional[str] = Field(
        None, description="unlabelled target inputs for adapt: a .npz file (array x) or a folder of images")


class DatasetData(_SplitOptions):
    """An offline dataset: ``animal_mnist``, ``mnist5k``, ``digits`` (images) or ``rotten_tomatoes`` (text)."""

    kind: Literal["dataset"]
    name: str


class ImageFolderData(_SplitOptions):
    """``path/<class name>/<image file>`` (``keras_transfer.data.image_folder``)."""

    kind: Literal["image_folder"]
    path: str
    image_size: Optional[Tuple[PositiveInt, PositiveInt]] = Field(
        None, description="(height, width) images are decoded at; None: the backbone's input_size")
    channels: Optional[Literal[1, 3]] = 3
    on_error: Literal["skip", "raise"] = "skip"
    stream: Union[Literal["auto"], StrictBool] = Field(
        "auto", description="decode batch by batch (keras_transfer.data.image_stream) instead of into memory; "
                            "auto: when the decoded images would pass 1 GiB")


class TfdsData(_Section):
    """A tensorflow-datasets image classification set (``keras_transfer.data.tfds``)."""

    kind: Literal["tfds"]
    name: str
    split: Union[str, List[str], Dict[str, str]] = Field(
        ["train", "test"], description="(train, test), (train, validation, test) or {role: tfds split}")
    data_dir: Optional[str] = None
    download: Optional[StrictBool] = None
    image_size: Optional[Tuple[PositiveInt, PositiveInt]] = None
    max_examples: Optional[PositiveInt] = None
    n_per_class: Optional[PositiveInt] = None
    unlabeled: Optional[str] = Field(
        None, description="unlabelled target inputs for adapt: a .npz file (array x) or a folder of images")


class CsvTextData(_SplitOptions):
    """Labelled texts in a CSV file with a header row (``keras_transfer.data.csv_text``)."""

    kind: Literal["csv_text"]
    path: str
    text_column: str = "text"
    label_column: str = "label"
    drop_labels: List[str] = []
    encoding: str = "utf-8"


class WavFolderData(_SplitOptions):
    """``path/<class name>/*.wav`` (``keras_transfer.data.wav_folder``)."""

    kind: Literal["wav_folder"]
    path: str
    sample_rate: PositiveInt = 16000
    resample: StrictBool = Field(False, description="resample clips at other rates instead of refusing them")
    channels: Literal[1, 2] = 1
    downmix: StrictBool = False
    duration: Optional[PositiveFloat] = Field(None, description="seconds per clip; None: the longest clip")


class SyntheticAudioData(_Section):
    """Synthesised clips (``keras_transfer.data.synthetic_audio``): no labelled audio installs offline."""

    kind: Literal["synthetic_audio"]
    task: Literal["tones", "chirps"] = "tones"
    n_per_class: PositiveInt = 20
    sample_rate: PositiveInt = 16000
    duration: PositiveFloat = 0.5
    validation_size: SplitSize = 0.0
    test_size: SplitSize = 0.25


class ArraysData(_SplitOptions):
    """A ``.npz`` file of arrays: inputs ``x_key``, labels ``y_key`` and, for multi-task, one array per task."""

    kind: Literal["arrays"]
    path: str
    x_key: str = "x"
    y_key: str = "y"
    input_kind: Literal["image", "text", "audio"] = "image"
    class_names: Optional[List[str]] = Field(None, description="names of the class ids; None: the file's "
                                                               "'class_names' array, else '0'..'n-1'")


DataConfig = Annotated[
    Union[DatasetData, ImageFolderData, TfdsData, CsvTextData, WavFolderData, SyntheticAudioData, ArraysData],
    Field(discriminator="kind"),
]

#: Data kinds and the input kind each one yields (``arrays`` says its own with ``input_kind``).
DATA_KINDS = {
    "dataset": "image",  # rotten_tomatoes: text
    "image_folder": "image",
    "tfds": "image",
    "csv_text": "text",
    "wav_folder": "audio",
    "synthetic_audio": "audio",
    "arrays": None,
}


# --------------------------------------------------------------------------------------------------- model
class BackboneConfig(_Section):
    """The pretrained feature extractor (``keras_transfer.backbones.get``)."""

    name: str = Field(description="a registry name (keras-transfer backbones), a KerasHub preset or folder")
    weights: Optional[str] = Field("imagenet", description="'imagenet', null (random) or a weights file")
    input_size: Optional[List[PositiveInt]] = Field(
        None, description="image: [height, width]; text: [sequence_length]; audio: [num_samples]; None: default")
    pooling: Optional[Literal["avg", "max"]] = "avg"
    train_bn: Union[StrictBool, Literal["auto"]] = Field(
        "auto", description="let BatchNorm train once unfrozen; auto: only when weights is null (random init)")


class HeadConfig(_Section):
    """One head. In ``heads`` (multi-task) it also says where its labels come from and its own LR."""

    type: Literal["classification", "regression"] = "classification"
    hidden_units: List[PositiveInt] = []
    dropout: Fraction = 0.2
    multi_label: StrictBool = Field(False, description="classification: independent sigmoid outputs")
    units: PositiveInt = Field(1, description="regression: number of targets")
    labels: Optional[str] = Field(None, description="arrays data: the .npz array holding this task's labels")
    groups: Optional[Dict[str, List[str]]] = Field(
        None, description="new classes made of groups of the dataset's class names, e.g. {even: ['0', '2']}")
    optimizer: Optional[Union[PositiveFloat, str]] = Field(
        None, description="multi-task: an LR multiplier or an optimizer name for this head")

    @field_validator("groups")
    @classmethod
    def _two_groups(cls, value):
        if value is not None and len(value) < 2:
            raise ValueError(f"groups needs at least 2 groups (new classes). Received: {len(value)} group(s)")
        return value


# --------------------------------------------------------------------------------------------------- training
class OptimizerConfig(_Section):
    """Optimizer and learning-rate policy (``fine_tune``'s ``optimizer``, ``head_lr``, ``lr``, ``lr_factor``).

    Every key is a ``fine_tune`` option (``FineTuneOptions``: one check, help text and default); ``name`` is
    checked against Keras' optimizers by ``keras_transfer.recipe.checks`` (that needs Keras).
    """

    name: _option("optimizer")
    head_lr: _option("head_lr")
    fine_tune_lr: _option("fine_tune_lr")
    lr: _option("lr")
    lr_factor: _option("lr_factor")
    batch_size: _option("batch_size")


class StagesConfig(_Section):
    """Stage 1 trains the head on the frozen backbone; stage 2 unfreezes ``unfreeze`` and fine-tunes.

    Every key is a ``fine_tune`` option (``FineTuneOptions``); the recipe trains 3 + 3 epochs by default.
    """

    head_epochs: _option("head_epochs", default=3)
    fine_tune_epochs: _option("fine_tune_epochs", default=3)
    unfreeze: _option("unfreeze", allow_none=False)


class CacheConfig(_Section):
    """Sequential training: stage 1 on features extracted once (``fine_tune(cache_dir=...)``)."""

    enabled: StrictBool = False
    dir: Optional[str] = Field(None, description="cache folder; None: <output_dir>/feature_cache (shared by runs)")


class ExportTarget(_Section):
    """One export of the trained model (``keras_transfer.export.export``), checked against it."""

    format: Literal["saved_model", "tflite", "onnx"]
    quantization: Optional[Literal["float16", "dynamic", "int8"]] = Field(None, description="tflite only")
    representative_size: PositiveInt = Field(200, description="training inputs calibrating int8")
    parity_size: PositiveInt = Field(200, description="test inputs the export is checked on")


class EvaluationConfig(_Section):
    """The evaluation report written after training (classification heads)."""

    split: Literal["test", "validation"] = "test"
    batch_size: PositiveInt = 64


# --------------------------------------------------------------------------------------------------- recipe
class RecipeConfig(_Section):
    """A whole transfer recipe. Exactly one of ``head`` (one task) and ``heads`` (multi-task) is given."""

    name: str = Field("run", description="run name: letters, digits, '_', '.', '-'")
    seed: _option("seed", allow_none=False, default=0)
    deterministic_ops: StrictBool = Field(
        True, description="TensorFlow's deterministic ops (process-wide): the same seed gives the same weights")
    output_dir: str = Field("runs", description="parent of the run folders")
    data: DataConfig
    backbone: BackboneConfig
    head: Optional[HeadConfig] = None
    heads: Optional[Dict[str, HeadConfig]] = None
    loss_weighting: Optional[Union[Literal["uncertainty", "dwa"], Dict[str, PositiveFloat]]] = None
    shift_bias: StrictBool = False
    augmentation: Union[str, List[Any], Dict[str, Any]] = Field(
        "none", description="a preset (none, light, medium, strong) or a list / dict of ops")
    mixup: _option("mixup")
    cutmix: _option("cutmix")
    label_smoothing: _option("label_smoothing")
    loss: _option("loss")
    class_weight: _option("class_weight")
    ema: _option("ema")
    adapt: _option("adapt")
    adapt_epochs: _option("adapt_epochs")
    optimizer: OptimizerConfig = OptimizerConfig()
    stages: StagesConfig = StagesConfig()
    cache: CacheConfig = CacheConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    export: List[ExportTarget] = []

    @model_validator(mode="after")
    def _adapt_and_unlabeled(self):
        unlabeled = getattr(self.data, "unlabeled", None)
        if (self.adapt is None) != (unlabeled is None):
            raise ValueError(
                "adapt and data.unlabeled go together: adapt adapts the model to the unlabelled target inputs "
                "data.unlabeled names (a .npz file with array x, or a folder of images). Received: "
                f"adapt={self.adapt!r}, data.unlabeled={unlabeled!r}. Set both, or neither")
        return self

    @field_validator("name")
    @classmethod
    def _name(cls, value):
        if not _NAME.match(value):
            raise ValueError(f"a run name is letters, digits, '_', '.' and '-'. Received: {value!r}")
        return value
