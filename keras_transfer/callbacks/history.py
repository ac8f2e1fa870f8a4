"""`FineTuneHistory`: one History over all training stages (returned by ``fine_tune`` and ``GrowOnPlateau``)."""

from typing import Dict, List

import keras

__all__ = ["FineTuneHistory"]


class FineTuneHistory(keras.callbacks.History):
    """A ``keras.callbacks.History`` merged over the stages of ``fine_tune``.

    ``history`` maps each metric to one list over all epochs of all stages (epoch numbering continues
    across stages); ``stages`` says which epochs each stage ran, with its learning rate and backbone mode.

    Examples:
    >>> h = keras_transfer.FineTuneHistory()
    >>> h.add_stage("head", keras.callbacks.History(), learning_rate=1e-3, mode="frozen")
    >>> h.stages[0]["name"]
    'head'
    """

    def __init__(self):
        super().__init__()
        self.history: Dict[str, List[float]] = {}
        self.epoch: List[int] = []
        self.stages: List[dict] = []

    def add_stage(self, name: str, stage_history: keras.callbacks.History, learning_rate: float, mode: str):
        """Append one stage's History.

        Args:
            name: str. Stage name ("head", "fine_tune").
            stage_history: keras.callbacks.History returned by ``fit``.
            learning_rate: float. The stage's initial learning rate.
            mode: str. The backbone's trainable mode during the stage.
        """
        epochs = list(getattr(stage_history, "epoch", []))
        n_before = len(self.epoch)
        for key, values in getattr(stage_history, "history", {}).items():
            column = self.history.setdefault(key, [float("nan")] * n_before)
            column.extend(float(v) for v in values)
        self.epoch.extend(epochs)
        for column in self.history.values():  # metrics missing in this stage stay aligned with NaN
            column.extend([float("nan")] * (len(self.epoch) - len(column)))
        self.stages.append(
            {"name": name, "epochs": epochs, "learning_rate": float(learning_rate), "mode": mode}
        )
        if getattr(stage_history, "model", None) is not None:
            self.set_model(stage_history.model)
        self.params = getattr(stage_history, "params", self.params if hasattr(self, "params") else {})

    def stage_of_epoch(self, epoch: int) -> str:
        """Name of the stage that ran ``epoch``."""
        for stage in self.stages:
            if epoch in stage["epochs"]:
                return stage["name"]
        raise KeyError(f"No stage ran epoch {epoch}. Received: epoch={epoch}; epochs run: {self.epoch}.")

    def to_dict(self) -> dict:
        """Plain-JSON summary: per-epoch metrics and the stages."""
        return {"epoch": list(self.epoch), "history": dict(self.history), "stages": list(self.stages)}
