"""One input contract: every form ``fine_tune`` takes works in predict, evaluate, a reloaded model, the CLI and
exports, for every kind of backbone (image, text, word vectors, audio). One tiny trained model per kind."""

import json
import wave

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import keras_transfer as kt
from keras_transfer.backbones import TextBackbone, WordVectorBackbone, get_spec, list_backbones
from keras_transfer.cli.main import main
from keras_transfer.data import Splits
from keras_transfer.errors import InvalidConfigError, InvalidInputError
from keras_transfer.testing import register_tiny_backbone

keras_hub = pytest.importorskip("keras_hub")

WORDS = ["good", "great", "fine", "bad", "awful", "dull", "film", "plot", "the", "a", "was"]
FORMS = {
    "image": ["uint8", "float", "list", "dataset", "pydataset", "splits"],
    "text": ["str", "object", "list", "dataset", "pydataset", "splits"],
    "word_vectors": ["str", "object", "list", "dataset", "pydataset", "splits"],
    "audio": ["float", "list", "dataset", "pydataset", "splits"],
}
CASES = [(kind, form) for kind, forms in FORMS.items() for form in forms]
SAMPLES = 1600  # 0.1 s at 16 kHz


def _texts(rng, n):
    good, bad = ["good", "great", "fine"], ["bad", "awful", "dull"]
    y = np.arange(n) % 2
    x = np.array([f"the {rng.choice(good if label else bad)} {rng.choice(['film', 'plot'])}" for label in y])
    return x, y  # a NumPy str array: the README's form


def _examples(kind, n, seed):
    rng = np.random.default_rng(seed)
    if kind == "image":
        y = np.arange(n) % 2
        x = (rng.integers(0, 100, (n, 16, 16, 1)) + 120 * y[:, None, None, None]).astype("uint8")
        return x, y
    if kind == "audio":
        y = np.arange(n) % 2
        t = np.arange(SAMPLES) / 16000
        tones = np.sin(2 * np.pi * np.where(y, 2000, 300)[:, None] * t)
        return (0.5 * tones + rng.normal(0, 0.05, (n, SAMPLES))).astype("float32"), y
    return _texts(rng, n)


def _backbone(kind):
    if kind == "image":
        return kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(16, 16))
    if kind == "audio":
        return kt.backbones.get("audio_cnn", weights=None)
    if kind == "word_vectors":
        vectors = np.random.default_rng(0).normal(size=(len(WORDS), 8)).astype("float32")
        return WordVectorBackbone(WORDS, vectors, sequence_length=4)
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocabulary)
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=6)
    network = keras_hub.models.BertBackbone(vocabulary_size=len(vocabulary), num_layers=1, num_heads=2,
                                            hidden_dim=8, intermediate_dim=16, max_sequence_length=6)
    return TextBackbone(network, preprocessor, backbone_name="tiny_bert")


class _Batches(keras.utils.PyDataset):
    """Batches of raw slices, in the arrays' own dtype (NumPy str for texts)."""

    def __init__(self, x, y=None, size=8):
        super().__init__()
        self.x, self.y, self.size = x, y, size

    def __len__(self):
        return -(-len(self.x) // self.size)

    def __getitem__(self, i):
        part = slice(i * self.size, (i + 1) * self.size)
        return (self.x[part],) if self.y is None else (self.x[part], self.y[part])


def _form(form, run, labelled):
    """The test split in the given form: inputs only, or with labels."""
    x, y = run["test"]
    if form == "splits":
        return run["splits"]
    if form in ("dataset", "pydataset"):
        if form == "pydataset":
            return _Batches(x, y if labelled else None)
        return tf.data.Dataset.from_tensor_slices((x, y) if labelled else x).batch(8)
    x = {"float": lambda: x.astype("float32"), "object": lambda: x.astype(object), "list": lambda: list(x)}.get(
        form, lambda: x)()
    return (x, y) if labelled else x


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """``kind -> run``: a model fine-tuned on a Splits (1 epoch per stage), saved, reloaded; built once per kind."""
    runs = {}

    def get(kind):
        if kind not in runs:
            keras.utils.set_random_seed(0)
            splits = Splits(train=_examples(kind, 24, 0), validation=_examples(kind, 8, 1),
                            test=_examples(kind, 8, 2), class_names=["neg", "pos"])
            model = kt.TransferModel(_backbone(kind), kt.ClassificationHead(2, dropout=0.0))
            history = kt.fine_tune(model, splits, head_epochs=1, fine_tune_epochs=1, batch_size=8, verbose=0)
            assert "val_loss" in history.history  # splits.validation was used
            directory = tmp_path_factory.mktemp(kind)
            model.save(directory / "model.keras")
            x, y = splits.test
            runs[kind] = {
                "model": model, "splits": splits, "test": (x, y), "dir": directory,
                "reference": model.predict(x, verbose=0),
                "loss": model.evaluate(x, y, verbose=0, return_dict=True)["loss"],
                "loaded": kt.load_model(directory / "model.keras"),
            }
        return runs[kind]

    return get


def test_every_registered_kind_is_covered():
    kinds = {getattr(get_spec(name), "input_kind", "image") for name in list_backbones()}
    assert kinds <= set(FORMS) and {"image", "text", "audio"} <= kinds


@pytest.mark.parametrize("kind, form", CASES)
def test_form_in_predict_evaluate_reload_and_export(trained, kind, form, tmp_path):
    run = trained(kind)
    model, reference = run["model"], run["reference"]
    if form == "splits":  # predict refuses a Splits (which split?), evaluate uses splits.test
        for predictor in (model, run["loaded"]):
            with pytest.raises(InvalidInputError, match=r"splits\.test\[0\]"):
                predictor.predict(run["splits"], verbose=0)
    else:
        np.testing.assert_allclose(model.predict(_form(form, run, False), verbose=0), reference, atol=1e-5)
        np.testing.assert_allclose(run["loaded"].predict(_form(form, run, False), verbose=0), reference, atol=1e-5)
    labelled = _form(form, run, True)
    data = labelled if form in ("dataset", "pydataset", "splits") else labelled[0]
    labels = None if form in ("dataset", "pydataset", "splits") else labelled[1]
    for evaluator in (model, run["loaded"]):
        loss = evaluator.evaluate(data, labels, verbose=0, return_dict=True)["loss"]
        assert loss == pytest.approx(run["loss"], abs=1e-5)
    if kind == "text":  # a transformer's SavedModel takes seconds to write: once, in the CLI test (word vectors:
        return  # the text modality's export with every form)
    report = kt.export_model(model, tmp_path / "saved", "saved_model", parity_data=labelled, verbose=False)
    assert report.n_examples == len(reference) and report.max_abs_diff < 1e-4 and report.argmax_agreement == 1.0
    assert report.exported_accuracy == report.keras_accuracy is not None


def _scores(out, n_classes=2):
    scores = []
    for result in json.loads(out):
        row = np.zeros(n_classes)
        for entry in result["top"]:
            row[entry["id"]] = entry["score"]
        scores.append(row)
    return np.array(scores)


def _input_files(kind, run, directory):
    """The test split written as files of the kind, and what the model sees after the file round trip."""
    x = run["test"][0]
    if kind == "image":
        paths = [str(directory / f"{i}.png") for i in range(len(x))]
        for path, image in zip(paths, x):
            Image.fromarray(image[..., 0]).save(path)
        return paths, x
    if kind == "audio":
        paths, pcm = [str(directory / f"{i}.wav") for i in range(len(x))], (x * 32767).astype("<i2")
        for path, clip in zip(paths, pcm):
            with wave.open(path, "wb") as handle:
                handle.setnchannels(1)
                handle.setsampwidth(2)
                handle.setframerate(16000)
                handle.writeframes(clip.tobytes())
        return paths, pcm.astype("float32") / 32768.0
    (directory / "texts.txt").write_text("\n".join(x) + "\n", encoding="utf-8")
    return [str(directory / "texts.txt")], x


@pytest.mark.parametrize("kind", list(FORMS))
def test_cli_predict_on_files_with_the_keras_file_and_the_saved_model(trained, kind, tmp_path, capsys):
    run = trained(kind)
    files, seen = _input_files(kind, run, tmp_path)
    expected = run["model"].predict(seen, verbose=0)
    saved = tmp_path / "saved"
    kt.export_model(run["model"], saved, "saved_model", parity_data=run["splits"], verbose=False)
    for model_path in (run["dir"] / "model.keras", saved):
        assert main(["predict", str(model_path), *files, "--json", "--top-k", "2"]) == 0
        np.testing.assert_allclose(_scores(capsys.readouterr().out), expected, atol=1e-4)


@pytest.mark.parametrize("kind", ["image", "audio"])
def test_tflite_export_with_a_dataset_as_parity_data(trained, kind, tmp_path):
    run = trained(kind)
    x, y = run["test"]
    parity = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    report = kt.export_model(run["model"], tmp_path / "m.tflite", "tflite", parity_data=parity, verbose=False)
    assert report.n_examples == len(x) and report.max_abs_diff < 1e-4 and report.argmax_agreement == 1.0


def test_formats_that_cannot_take_the_preprocessing_are_refused_before_any_work(trained, tmp_path):
    with pytest.raises(InvalidConfigError, match="SavedModel only"):
        kt.export_model(trained("word_vectors")["model"], tmp_path / "m.tflite", "tflite", verbose=False)
    with pytest.raises(InvalidInputError, match="checked on real texts"):
        kt.export_model(trained("word_vectors")["model"], tmp_path / "saved", "saved_model", verbose=False)
    assert list(tmp_path.iterdir()) == []


def test_splits_errors_name_the_split_to_use(trained):
    model = trained("image")["model"]
    x, y = _examples("image", 8, 3)
    with pytest.raises(InvalidInputError, match="no train data"):
        kt.fine_tune(model, Splits(test=(x, y), class_names=["a", "b"]), verbose=0)
    with pytest.raises(InvalidInputError, match="validation=splits.validation"):
        kt.fine_tune(model, (x, y), validation=Splits(validation=(x, y)), verbose=0)
    with pytest.raises(InvalidInputError, match=r"evaluate\(\*splits.validation\)"):
        model.evaluate(Splits(train=(x, y), validation=(x, y)), verbose=0)
    with pytest.raises(InvalidInputError, match="must hold strings"):
        trained("text")["model"].predict(np.zeros(2), verbose=0)


def test_multi_task_model_takes_the_same_forms():
    keras.utils.set_random_seed(0)
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(16, 16))
    model = kt.MultiTaskModel(backbone, {"a": kt.ClassificationHead(2), "b": kt.RegressionHead()})
    model.compile("adam")
    x, y = _examples("image", 8, 0)
    reference = model.predict(x, verbose=0)
    for form in (list(x), _Batches(x), tf.data.Dataset.from_tensor_slices(x).batch(4)):
        outputs = model.predict(form, verbose=0)
        for task in ("a", "b"):
            np.testing.assert_allclose(outputs[task], reference[task], atol=1e-5)
    labels = {"a": y, "b": y.astype("float32")}
    expected = model.evaluate(x, labels, verbose=0, return_dict=True)["loss"]
    assert model.evaluate(list(x), labels, verbose=0, return_dict=True)["loss"] == pytest.approx(expected, abs=1e-5)
