"""The label-free signals of an adaptation: accuracy on labelled *source* data and scores of target predictions.

No target label is ever read. ``target_scores`` summarises a model's predicted class probabilities on the
unlabelled target inputs: the mean prediction entropy (low: confident), the entropy of the mean prediction
(high: classes used evenly, no collapse onto one class) and their difference, the *information-maximisation
score* (Shi & Sha 2012; the SHOT objective): high when predictions are both confident and diverse.
``reverse_validation`` (Zhong et al. 2010) asks whether the model's target predictions carry the source's
classes: a linear classifier trained on the target features with the model's predicted labels is scored on the
labelled source validation features. Confident but permuted or collapsed predictions score low there.
"""

import numpy as np

from keras_transfer.errors import InvalidConfigError

__all__ = ["accuracy", "class_outputs", "reverse_validation", "source_accuracy", "target_scores"]


def class_outputs(model, predictions) -> list:
    """The single-label classification outputs among ``model.predict``'s (a list: one, or one per such task)."""
    heads = getattr(model, "heads", None)
    if heads is None:
        heads, predictions = {"output": model.head}, {"output": predictions}
    return [np.asarray(predictions[task]) for task, head in heads.items()
            if getattr(head, "num_classes", None) and not getattr(head, "multi_label", False)]


def target_scores(probabilities) -> dict:
    """Label-free scores of class probabilities ``(n, classes)`` (or a list of such arrays: averaged).

    Entropies are divided by ``log(classes)``, so each lies in [0, 1].

    Returns:
        dict: ``entropy`` (mean per-example entropy), ``diversity`` (entropy of the mean prediction) and
        ``score`` (``diversity - entropy``, higher is better).

    Examples:
    >>> import numpy as np
    >>> from keras_transfer.adaptation.signals import target_scores
    >>> confident_diverse = np.eye(4)[[0, 1, 2, 3]] * 0.97 + 0.01
    >>> collapsed = np.eye(4)[[0, 0, 0, 0]] * 0.97 + 0.01
    >>> target_scores(confident_diverse)["score"] > target_scores(collapsed)["score"]
    True
    """
    if isinstance(probabilities, (list, tuple)):
        parts = [target_scores(p) for p in probabilities]
        if not parts:
            raise InvalidConfigError("target_scores needs classification outputs. Received: none.")
        return {key: float(np.mean([p[key] for p in parts])) for key in parts[0]}
    p = np.clip(np.asarray(probabilities, "float64"), 1e-12, 1.0)
    p = p / p.sum(axis=1, keepdims=True)
    norm = np.log(p.shape[1])
    entropy = float(np.mean(-np.sum(p * np.log(p), axis=1)) / norm)
    mean = p.mean(axis=0)
    diversity = float(-np.sum(mean * np.log(mean)) / norm)
    return {"entropy": entropy, "diversity": diversity, "score": diversity - entropy}


def accuracy(probabilities, labels) -> float:
    """Accuracy of class probabilities against integer or one-hot labels (``-1`` labels skipped)."""
    labels = np.asarray(labels)
    if labels.ndim == 2:
        labels = labels.argmax(axis=1)
    known = labels >= 0
    return float(np.mean(np.asarray(probabilities)[known].argmax(axis=1) == labels[known]))


def source_accuracy(model, x, y, batch_size: int = 256) -> float:
    """Accuracy on labelled source data (integer or one-hot labels; a MultiTaskModel: the mean over its
    single-label classification tasks, ``-1`` labels skipped)."""
    outputs = class_outputs(model, model.predict(x, batch_size=batch_size, verbose=0))
    heads = getattr(model, "heads", None)
    labels = [y] if heads is None else [y[t] for t, h in heads.items()
                                         if getattr(h, "num_classes", None) and not getattr(h, "multi_label", False)]
    return float(np.mean([accuracy(output, label) for output, label in zip(outputs, labels)]))


def _standardised(features):
    features = np.asarray(features, "float64")
    return (features - features.mean(0)) / (features.std(0) + 1e-6)


def reverse_validation(target_features, target_predictions, source_features, source_labels, steps: int = 300,
                       learning_rate: float = 0.5, l2: float = 1e-3) -> float:
    """Reverse-validation accuracy: a softmax regression fitted to ``(target_features, argmax predictions)``,
    scored on ``(source_features, source_labels)``.

    Each domain's features are standardised with its own mean and deviation (the classifier transfers back
    across the shift as AdaBN would). Plain full-batch gradient descent, seeded by nothing: deterministic.

    Args:
        target_features: ``(n, d)`` features of the unlabelled target inputs.
        target_predictions: ``(n, classes)`` the model's class probabilities on them.
        source_features: ``(m, d)`` features of labelled source inputs.
        source_labels: ``(m,)`` integer (or one-hot) labels.
        steps, learning_rate, l2: the regression's gradient descent.

    Returns:
        float: the accuracy on the source.

    Examples:
    >>> import numpy as np
    >>> from keras_transfer.adaptation.signals import reverse_validation
    >>> rng = np.random.default_rng(0)
    >>> labels = np.arange(60) % 3
    >>> features = np.eye(3)[labels] + rng.normal(0, 0.1, (60, 3))
    >>> right, permuted = np.eye(3)[labels], np.eye(3)[(labels + 1) % 3]
    >>> reverse_validation(features, right, features, labels), reverse_validation(features, permuted, features, labels)
    (1.0, 0.0)
    """
    source_labels = np.asarray(source_labels)
    if source_labels.ndim == 2:
        source_labels = source_labels.argmax(1)
    x, classes = _standardised(target_features), np.asarray(target_predictions).shape[1]
    y = np.eye(classes)[np.asarray(target_predictions).argmax(1)]
    weights, bias = np.zeros((x.shape[1], classes)), np.zeros(classes)
    for _ in range(steps):
        logits = x @ weights + bias
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        error = (p - y) / len(x)
        weights -= learning_rate * (x.T @ error + l2 * weights)
        bias -= learning_rate * error.sum(0)
    predicted = (_standardised(source_features) @ weights + bias).argmax(1)
    return float(np.mean(predicted == source_labels))
