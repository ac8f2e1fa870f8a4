"""WordVectorBackbone: GloVe / word2vec / .npy files, OOV handling, mean pooling, bad files."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.backbones import WordVectorBackbone
from keras_transfer.errors import CorruptWeightsError, InvalidInputError

VECTORS = {"good": [1.0, 0.0, 0.0], "great": [0.9, 0.1, 0.0], "bad": [0.0, 1.0, 0.0], "awful": [0.1, 0.9, 0.0],
           "film": [0.0, 0.0, 1.0]}


def _glove(tmp_path, header=False):
    path = tmp_path / ("vectors.w2v.txt" if header else "glove.txt")
    lines = [f"{len(VECTORS)} 3"] if header else []
    lines += [f"{word} " + " ".join(str(v) for v in vector) for word, vector in VECTORS.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _out(backbone, texts):
    return keras.ops.convert_to_numpy(backbone(np.array(texts, dtype=object)))


@pytest.mark.parametrize("header", [False, True])
def test_mean_of_known_word_vectors(tmp_path, header):
    backbone = WordVectorBackbone.from_file(_glove(tmp_path, header), sequence_length=6)
    out = _out(backbone, ["Good FILM!", "bad unknownword"])
    np.testing.assert_allclose(out[0], np.mean([VECTORS["good"], VECTORS["film"]], 0), atol=1e-6)
    np.testing.assert_allclose(out[1], np.array(VECTORS["bad"]) / 2, atol=1e-6)  # OOV counts as a zero vector
    assert backbone.output_dim == 3 and backbone.mode == "frozen" and backbone.trainable_weights == []
    ignore = WordVectorBackbone.from_file(_glove(tmp_path, header), oov="ignore")
    np.testing.assert_allclose(_out(ignore, ["bad unknownword", "zzz"]), [VECTORS["bad"], [0, 0, 0]], atol=1e-6)
    mean = WordVectorBackbone.from_file(_glove(tmp_path, header), oov="mean")
    np.testing.assert_allclose(_out(mean, ["qqq"])[0], np.mean(list(VECTORS.values()), 0), atol=1e-6)


def test_npy_with_vocabulary_and_max_words(tmp_path):
    np.save(tmp_path / "vectors.npy", np.array(list(VECTORS.values()), "float32"))
    (tmp_path / "vocab.txt").write_text("\n".join(f"{w} 100" for w in VECTORS) + "\n")
    backbone = WordVectorBackbone.from_file(tmp_path / "vectors.npy", tmp_path / "vocab.txt", max_words=2)
    assert backbone.vocabulary_size == 2
    np.testing.assert_allclose(_out(backbone, ["great film"])[0], np.array(VECTORS["great"]) / 2, atol=1e-6)
    (tmp_path / "short.txt").write_text("good\n")
    with pytest.raises(CorruptWeightsError, match="1 words but the matrix has shape"):
        WordVectorBackbone.from_file(tmp_path / "vectors.npy", tmp_path / "short.txt")


def test_ragged_and_broken_files_are_refused(tmp_path):
    ragged = tmp_path / "ragged.txt"
    ragged.write_text("good 1 0 0\nbad 0 1\nfilm 0 0 1\n")
    with pytest.raises(CorruptWeightsError, match=r"line 2: ragged vectors: the word 'bad' has 2 values.*have 3"):
        WordVectorBackbone.from_file(ragged)
    words = tmp_path / "words.txt"
    words.write_text("good 1 0 x\n")
    with pytest.raises(CorruptWeightsError, match="line 1.*not a number"):
        WordVectorBackbone.from_file(words)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9 1 0\n".encode("latin-1"))
    with pytest.raises(CorruptWeightsError, match="not valid utf-8"):
        WordVectorBackbone.from_file(latin)
    assert WordVectorBackbone.from_file(latin, encoding="latin-1").vocabulary_size == 1
    with pytest.raises(kt.errors.WeightsUnavailableError):
        WordVectorBackbone.from_file(tmp_path / "missing.txt")


def test_trains_a_head_on_strings_and_round_trips(tmp_path):
    backbone = WordVectorBackbone.from_file(_glove(tmp_path), sequence_length=4)
    model = kt.TransferModel(backbone, kt.ClassificationHead(2, dropout=0.0))
    x = np.array(["good film", "great", "bad film", "awful", "good", "bad"] * 3, dtype=object)
    y = np.array([1, 1, 0, 0, 1, 0] * 3)
    kt.fine_tune(model, (x, y), head_epochs=2, fine_tune_epochs=1, head_lr=0.1, batch_size=6, verbose=0)
    assert backbone.mode == "full"  # stage 2 fine-tuned the vectors themselves
    before = keras.ops.convert_to_numpy(model(x))
    model.save(tmp_path / "wv.keras")
    loaded = keras.saving.load_model(tmp_path / "wv.keras", safe_mode=True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)), before, atol=1e-6)
    assert loaded.backbone.vectorizer.get_vocabulary()[2:] == list(VECTORS)
    with pytest.raises(InvalidInputError, match="empty text"):
        kt.fine_tune(model, (np.array(["good", ""], dtype=object), np.array([1, 0])), head_epochs=1,
                     fine_tune_epochs=0, verbose=0)
