"""``kt.interpret``: top losses worst first, most-confused pairs from the confusion matrix, inline display."""

import json

import numpy as np

import keras_transfer as kt
from keras_transfer.evaluation import most_confused, top_losses


def test_top_losses_and_most_confused_come_from_the_predictions():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.2, 0.7, 0.1], [0.05, 0.9, 0.05], [0.3, 0.3, 0.4]])
    labels = [0, 0, 0, 2, 2]
    rows = top_losses(p, labels, k=3, class_names=["a", "b", "c"])
    assert [row["index"] for row in rows] == [3, 1, 2]  # losses -log(0.05), -log(0.1), -log(0.2)
    assert rows[0] == {"index": 3, "true": "c", "predicted": "b", "loss": rows[0]["loss"], "probability": 0.9,
                       "true_probability": 0.05}
    assert most_confused(p, labels, ["a", "b", "c"]) == [("a", "b", 1), ("a", "c", 1), ("c", "b", 1)]


def test_interpret_shows_itself_in_a_notebook_and_saves_files(square_task, tmp_path):
    model, _, (tx, ty, _) = square_task
    wrong = np.where(np.arange(len(ty)) < 4, 1 - ty, ty)  # 4 labels flipped: the 4 worst examples
    result = kt.interpret(model, (tx, wrong), k=6, class_names=["left", "right"])
    assert sorted(row["index"] for row in result.top_losses[:4]) == [0, 1, 2, 3]
    assert [row["loss"] for row in result.top_losses] == sorted((row["loss"] for row in result.top_losses),
                                                                reverse=True)
    assert result.heatmaps.shape == (6, 32, 32)
    assert sum(count for _, _, count in result.most_confused) == int(np.sum(result.probabilities.argmax(1) != wrong))
    assert result.metrics["accuracy"] == np.mean(result.probabilities.argmax(1) == wrong)
    assert result._repr_png_().startswith(b"\x89PNG")
    html = result._repr_html_()
    assert html.count("<img") == 2 and "balanced_accuracy" in html
    files = result.save(tmp_path)
    assert json.loads(open(files["interpretation"]).read())["top_losses"][0]["true"] in ("left", "right")
    assert open(files["reliability_diagram"], "rb").read(4) == b"\x89PNG"
