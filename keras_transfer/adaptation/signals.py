"""The label-free signals of an adaptation: accuracy on labelled *source* data and scores of target predictions.

No target label is ever read. ``target_scores`` summarises a model's predicted class probabilities on the
unlabelled target inputs: the mean prediction entropy (low: confident), the entropy of the mean prediction
(high: classes used evenly, no collapse onto one class) and their difference, the *information-maximisation
score* (Shi & Sha 2012; the SHOT objective): high when predictions are both confident and diverse.
"""

import numpy as np

from keras_transfer.errors import InvalidConfigError

__all__ = ["class_outputs", "source_accuracy", "target_scores"]


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


def source_accuracy(model, x, y, batch_size: int = 256) -> float:
    """Accuracy on labelled source data (integer or one-hot labels; a MultiTaskModel: the mean over its
    single-label classification tasks, ``-1`` labels skipped)."""
    outputs = class_outputs(model, model.predict(x, batch_size=batch_size, verbose=0))
    heads = getattr(model, "heads", None)
    labels = [y] if heads is None else [y[t] for t, h in heads.items()
                                         if getattr(h, "num_classes", None) and not getattr(h, "multi_label", False)]
    accuracies = []
    for output, label in zip(outputs, labels):
        label = np.asarray(label)
        if label.ndim == 2:
            label = label.argmax(axis=1)
        known = label >= 0
        accuracies.append(float(np.mean(output[known].argmax(axis=1) == label[known])))
    return float(np.mean(accuracies))
