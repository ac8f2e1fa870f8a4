"""`WordVectorBackbone`: pretrained word vectors (GloVe, word2vec) as a text feature layer taking raw strings."""

import os
from typing import List, Optional, Sequence, Tuple

import keras
import numpy as np
from keras import ops

from keras_transfer.backbones.base import BaseBackbone
from keras_transfer.backbones.layer_groups import LayerGroup
from keras_transfer.backbones.text_inputs import TextInputs, as_string_tensor
from keras_transfer.checks import check_int
from keras_transfer.errors import CorruptWeightsError, InvalidConfigError, WeightsUnavailableError

__all__ = ["WordVectorBackbone", "OOV_MODES", "read_word_vectors"]

#: How out-of-vocabulary words count in the mean: "zero" (a zero vector), "mean" (the mean of all
#: vectors), "ignore" (left out of the mean, like padding).
OOV_MODES = ("zero", "mean", "ignore")


def _parse_floats(parts, path, line_number):
    try:
        return np.asarray(parts, dtype=np.float32)
    except ValueError:
        raise CorruptWeightsError(
            f"{path}, line {line_number}: the vector holds something that is not a number. Received: "
            f"{' '.join(parts[:5])[:80]!r}... Expected a word followed by numbers separated by spaces "
            "(GloVe / word2vec text format)."
        ) from None


def _read_text_vectors(path: str, max_words: Optional[int], encoding: str) -> Tuple[List[str], np.ndarray]:
    words, rows, dim = [], [], None
    with open(path, encoding=encoding, errors="strict") as handle:
        for line_number, line in enumerate(handle, start=1):
            parts = line.rstrip("\r\n").rstrip(" ").split(" ")
            if line_number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                dim = int(parts[1])  # word2vec header: "<count> <dim>"
                continue
            if parts == [""]:
                continue
            if dim is None:
                dim = len(parts) - 1
                if dim < 1:
                    raise CorruptWeightsError(
                        f"{path}, line {line_number}: a word without a vector. Received: {line[:80]!r}. "
                        "Expected lines 'word v1 v2 ... vd'."
                    )
            if len(parts) - 1 != dim:
                raise CorruptWeightsError(
                    f"{path}, line {line_number}: ragged vectors: the word {parts[0][:40]!r} has {len(parts) - 1} "
                    f"values, but the vectors have {dim}. Received: a file mixing vector sizes. Repair or "
                    "re-export the file; every line must be 'word' plus the same number of values."
                )
            words.append(parts[0])
            rows.append(_parse_floats(parts[1:], path, line_number))
            if max_words is not None and len(words) >= max_words:
                break
    if not words:
        raise CorruptWeightsError(f"No word vectors found. Received: an empty file {path}.")
    return words, np.stack(rows)


def read_word_vectors(path, vocabulary_path=None, max_words: Optional[int] = None,
                      encoding: str = "utf-8") -> Tuple[List[str], np.ndarray]:
    """Read word vectors from GloVe / word2vec text format, or a ``.npy`` matrix plus a vocabulary file.

    Args:
        path: str. A text file (``word v1 ... vd`` per line; an optional word2vec ``count dim`` header) or
            a ``.npy`` array ``(num_words, dim)``.
        vocabulary_path: str or None. For ``.npy``: one word per line (extra columns, e.g. counts, ignored).
        max_words: int or None. Keep only the first N words (files are sorted by frequency).
        encoding: str. Text encoding of the files.

    Returns:
        (list of str, np.ndarray float32 ``(num_words, dim)``).

    Raises:
        WeightsUnavailableError: a file is missing.
        CorruptWeightsError: ragged vectors, non-numeric values, a vocabulary whose length differs from
            the matrix's, or text that is not valid in ``encoding``.

    Examples:
    >>> words, vectors = keras_transfer.backbones.word_vectors.read_word_vectors("glove.6B.50d.txt")  # doctest: +SKIP
    """
    path = os.fspath(path)
    for file in (path, vocabulary_path):
        if file is not None and not os.path.isfile(file):
            raise WeightsUnavailableError(f"No such word-vector file. Received: {file!r}. Check the path.")
    check_int("max_words", max_words, minimum=1, allow_none=True, expected="a positive int or None")
    try:
        if path.endswith(".npy"):
            if vocabulary_path is None:
                raise InvalidConfigError(
                    f"A .npy matrix needs its vocabulary. Received: path={path!r}, vocabulary_path=None. Pass "
                    "vocabulary_path= a text file with one word per line, in the matrix's row order."
                )
            vectors = np.load(path, allow_pickle=False)
            with open(vocabulary_path, encoding=encoding) as handle:
                words = [line.rstrip("\r\n").split(" ")[0] for line in handle if line.strip()]
            if vectors.ndim != 2 or len(words) != len(vectors):
                raise CorruptWeightsError(
                    f"The vocabulary has {len(words)} words but the matrix has shape {vectors.shape}. Received: "
                    f"{path!r} and {vocabulary_path!r}. Expected one vocabulary line per matrix row."
                )
            if max_words is not None:
                words, vectors = words[:max_words], vectors[:max_words]
            return words, np.asarray(vectors, np.float32)
        return _read_text_vectors(path, max_words, encoding)
    except UnicodeDecodeError as error:
        raise CorruptWeightsError(
            f"The word-vector file is not valid {encoding} ({error.reason} at byte {error.start}). Received: "
            f"{path!r}. Pass encoding= the file's encoding (e.g. 'latin-1')."
        ) from error


@keras.saving.register_keras_serializable(package="keras_transfer")
class WordVectorBackbone(TextInputs, BaseBackbone):
    """Raw strings → ``TextVectorization`` (the vectors' vocabulary) → frozen ``Embedding`` → mean pooling.

    Token index 0 is padding and 1 the out-of-vocabulary bucket; ``oov`` decides what unknown words
    contribute: ``"zero"`` (a zero vector, counted in the mean), ``"mean"`` (the mean word vector) or
    ``"ignore"`` (left out of the mean). A text with no counted words gives a zero vector. One layer group,
    ``embeddings``: frozen by default, ``"full"`` fine-tunes the vectors.

    Args:
        vocabulary: list of str or None. The words, in the vectors' row order (None when loading a saved
            model: the vocabulary comes back from the file's assets).
        vectors: array ``(len(vocabulary), dim)`` or None (loading).
        vocabulary_size: int or None. Needed only when ``vocabulary`` is None.
        embedding_dim: int or None. Needed only when ``vectors`` is None.
        sequence_length: int. Tokens kept per text.
        oov: ``"zero"``, ``"mean"`` or ``"ignore"``.
        standardize: ``TextVectorization`` standardisation (``"lower_and_strip_punctuation"``,
            ``"strip_punctuation"`` for cased vectors, or None).
        mode: trainable mode.
        backbone_name: str.
        weights_source: str or None.
        **kwargs: base ``keras.layers.Layer`` arguments.

    Examples:
    >>> backbone = keras_transfer.backbones.WordVectorBackbone(["good", "bad"], np.eye(2, 3), sequence_length=4)
    >>> backbone(np.array(["good good", "bad unknown"])).numpy().round(2).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.5, 0.0]]
    """

    input_kind = "text"

    def __init__(
        self,
        vocabulary: Optional[Sequence[str]] = None,
        vectors=None,
        vocabulary_size: Optional[int] = None,
        embedding_dim: Optional[int] = None,
        sequence_length: int = 64,
        oov: str = "zero",
        standardize: Optional[str] = "lower_and_strip_punctuation",
        mode="frozen",
        train_bn="auto",
        backbone_name: str = "word_vectors",
        weights_source: Optional[str] = None,
        **kwargs,
    ):
        kwargs.setdefault("name", backbone_name)
        super().__init__(train_bn=train_bn, **kwargs)
        if oov not in OOV_MODES:
            raise InvalidConfigError(f"Unknown oov mode. Received: oov={oov!r}. Use one of {OOV_MODES}.")
        check_int("sequence_length", sequence_length, minimum=1, expected="a positive int")
        words, matrix = None, None
        if vocabulary is not None:
            words, keep = [], []
            seen = set()
            for i, word in enumerate(vocabulary):  # TextVectorization needs unique, non-reserved tokens
                if word and word not in seen and word != "[UNK]":
                    seen.add(word)
                    words.append(word)
                    keep.append(i)
            if vectors is None:
                raise InvalidConfigError(
                    "WordVectorBackbone needs vectors with its vocabulary. Received: vectors=None."
                )
            vectors = np.asarray(vectors, np.float32)
            if vectors.ndim != 2 or len(vectors) != len(vocabulary):
                raise InvalidConfigError(
                    f"vectors must be (len(vocabulary), dim). Received: {len(vocabulary)} words and vectors of "
                    f"shape {vectors.shape}."
                )
            vectors = vectors[keep]
            vocabulary_size, embedding_dim = len(words), vectors.shape[1]
            oov_vector = vectors.mean(axis=0) if oov == "mean" else np.zeros(embedding_dim, np.float32)
            matrix = np.concatenate([np.zeros((1, embedding_dim), np.float32), oov_vector[None], vectors])
        if vocabulary_size is None or embedding_dim is None:
            raise InvalidConfigError(
                "WordVectorBackbone needs (vocabulary, vectors), or vocabulary_size and embedding_dim when "
                "restored from a saved model. Use WordVectorBackbone.from_file(path)."
            )
        self.vocabulary_size, self.embedding_dim = int(vocabulary_size), int(embedding_dim)
        self.sequence_length, self.oov, self.standardize = sequence_length, oov, standardize
        self.backbone_name = backbone_name
        self.weights_source = weights_source or "given vectors"
        # The vocabulary is set after construction, so .keras files keep it as an asset, not in the config.
        self.vectorizer = keras.layers.TextVectorization(
            standardize=standardize, output_mode="int", output_sequence_length=sequence_length, name="vectorizer"
        )
        if words is not None:
            self.vectorizer.set_vocabulary(words)
        token_ids = keras.Input((sequence_length,), dtype="int64", name="token_ids")
        embedding = keras.layers.Embedding(self.vocabulary_size + 2, self.embedding_dim, name="embedding")
        self.network = keras.Model(token_ids, embedding(token_ids), name=f"{backbone_name}_embedding")
        if matrix is not None:
            embedding.set_weights([matrix])
        self._init_groups([LayerGroup("embeddings", [embedding])], mode)

    @classmethod
    def from_file(cls, path, vocabulary_path=None, *, max_words: Optional[int] = None, sequence_length: int = 64,
                  oov: str = "zero", standardize="lower_and_strip_punctuation", mode="frozen",
                  encoding: str = "utf-8") -> "WordVectorBackbone":
        """Build from a GloVe / word2vec text file, or a ``.npy`` matrix with ``vocabulary_path``.

        Args:
            path: str. The vectors (see ``read_word_vectors``).
            vocabulary_path: str or None. Words of a ``.npy`` matrix, one per line.
            max_words: int or None. Keep the first N words.
            sequence_length: int. Tokens kept per text.
            oov: ``"zero"``, ``"mean"`` or ``"ignore"``.
            standardize: ``TextVectorization`` standardisation.
            mode: trainable mode.
            encoding: str.

        Returns:
            WordVectorBackbone.

        Raises:
            WeightsUnavailableError: a missing file.
            CorruptWeightsError: ragged vectors or unreadable values.

        Examples:
        >>> backbone = keras_transfer.backbones.WordVectorBackbone.from_file("glove.6B.100d.txt")  # doctest: +SKIP
        """
        words, vectors = read_word_vectors(path, vocabulary_path, max_words=max_words, encoding=encoding)
        return cls(
            words, vectors, sequence_length=sequence_length, oov=oov, standardize=standardize, mode=mode,
            backbone_name=os.path.splitext(os.path.basename(os.fspath(path)))[0].replace(".", "_"),
            weights_source=f"file {os.fspath(path)}",
        )

    @property
    def output_dim(self) -> int:
        """Vector size."""
        return self.embedding_dim

    def call(self, inputs, training=None):
        ids = self.vectorizer(as_string_tensor(inputs, self.backbone_name))
        vectors = self.network(ids, training=self._network_training(training))
        first_counted = 2 if self.oov == "ignore" else 1
        mask = ops.cast(ops.expand_dims(ids >= first_counted, -1), vectors.dtype)
        return ops.sum(vectors * mask, axis=1) / ops.maximum(ops.sum(mask, axis=1), 1.0)

    def get_config(self):
        config = super().get_config()
        config.update(
            vocabulary_size=self.vocabulary_size, embedding_dim=self.embedding_dim,
            sequence_length=self.sequence_length, oov=self.oov, standardize=self.standardize,
            backbone_name=self.backbone_name, weights_source=self.weights_source,
        )
        return config
