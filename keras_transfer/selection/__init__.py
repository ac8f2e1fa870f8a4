"""Choosing a base model before training: transferability scores (LogME, linear probe, k-NN) on cached features.

- ``rank_backbones(data, candidates, method="logme")`` → ``BackboneRanking`` (table + recommendation under an
  optional latency / size budget); ``keras-transfer rank --data DIR --backbones a,b,c``.
- ``logme_score``, ``linear_probe_score``, ``knn_score``: the scores on ``(features, labels)`` arrays.
"""

from keras_transfer.selection.candidates import resolve_candidates
from keras_transfer.selection.extraction import candidate_features, inference_ms
from keras_transfer.selection.knn import knn_score
from keras_transfer.selection.linear_probe import linear_probe_score, stratified_folds
from keras_transfer.selection.logme import logme_evidence, logme_score
from keras_transfer.selection.ranking import METHODS, BackboneRanking, rank_backbones

__all__ = [
    "BackboneRanking",
    "METHODS",
    "candidate_features",
    "inference_ms",
    "knn_score",
    "linear_probe_score",
    "logme_evidence",
    "logme_score",
    "rank_backbones",
    "resolve_candidates",
    "stratified_folds",
]
