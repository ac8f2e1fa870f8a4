"""Grad-CAM localisation: does the heatmap's peak fall inside the object's box?

A generated task (``make_shapes``): one of 5 shapes (circle, square, triangle, star, cross) in a random colour at a
random position on a cluttered ``SIZE``×``SIZE`` background (a random base colour, 14 random line segments, 30
small random blobs, Gaussian noise). Every length scales with ``SIZE`` (at 128 px: shapes of 36-48 px, so at
224 px 63-84 px: the object covers about 11 % of the image at any size). An ImageNet MobileNetV2 (offline
torchvision weights) is fine-tuned with ``kt.fine_tune`` at its native 224 px (7×7 maps at the last group) on
``N_TRAIN_PER_CLASS`` images per class (``HEAD_EPOCHS`` + ``FINE_TUNE_EPOCHS`` epochs), then
``kt.evaluation.grad_cam`` explains the predicted class of ``N_TEST`` new images, computed through the nested
backbone on the raw images. A hit: the arg-max of the heatmap (upsampled to the image) lies inside the object's
bounding box. Goal: ≥ 90 % hits at the last layer group (``top``: ``grad_cam``'s default target, the
pre-activation ``Conv_1_bn``; see ``kt.evaluation.gradcam_target``). For comparison: ``out_relu`` (the group's
capped ReLU6 output, the default before), ``stage4`` and ``stage3`` (14×14 maps); the hit rate on correctly
classified images; test accuracy; and the hit rate of a heatmap that always peaks at the image centre.

Run: ``python -m benchmarks gradcam``.
"""

import math
import statistics

__all__ = ["make_shapes", "run", "summary"]

SEEDS = (0, 1, 2)
SIZE = 224  # MobileNetV2's native resolution (the first run used 128 px: 4×4 maps)
SHAPES = ("circle", "square", "triangle", "star", "cross")
N_TRAIN_PER_CLASS = 80
N_VALIDATION = 100
N_TEST = 200
HEAD_EPOCHS = 2
FINE_TUNE_EPOCHS = 3
LAYERS = ("top", "out_relu", "stage4", "stage3")


def _draw_shape(draw, kind, box, colour):
    x0, y0, x1, y1 = box
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2
    if kind == "circle":
        draw.ellipse(box, fill=colour)
    elif kind == "square":
        draw.rectangle(box, fill=colour)
    elif kind == "triangle":
        draw.polygon([(cx, y0), (x1, y1), (x0, y1)], fill=colour)
    elif kind == "star":
        points = []
        for i in range(10):
            radius = r if i % 2 == 0 else 0.42 * r
            angle = -math.pi / 2 + i * math.pi / 5
            points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
        draw.polygon(points, fill=colour)
    else:  # cross
        arm = (x1 - x0) / 6
        draw.rectangle((cx - arm, y0, cx + arm, y1), fill=colour)
        draw.rectangle((x0, cy - arm, x1, cy + arm), fill=colour)


def make_shapes(n, seed):
    """``n`` images ``(n, SIZE, SIZE, 3)`` uint8, labels ``(n,)`` (balanced) and boxes ``(n, 4)`` (x0, y0, x1, y1;
    x1 / y1 exclusive)."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    scale = SIZE / 128  # every length scales with the image: the same scene at any resolution
    images, boxes = np.zeros((n, SIZE, SIZE, 3), "uint8"), np.zeros((n, 4), "int64")
    labels = np.arange(n) % len(SHAPES)
    rng.shuffle(labels)
    for i in range(n):
        base = rng.integers(60, 196, 3)
        image = Image.new("RGB", (SIZE, SIZE), tuple(int(v) for v in base))
        draw = ImageDraw.Draw(image)
        for _ in range(14):
            points = [tuple(int(v) for v in rng.integers(0, SIZE, 2)) for _ in range(2)]
            fill = tuple(int(v) for v in rng.integers(0, 256, 3))
            draw.line(points, fill=fill, width=int(rng.integers(round(scale), round(3 * scale) + 1)))
        for _ in range(30):
            x, y = (int(v) for v in rng.integers(0, SIZE, 2))
            s = int(rng.integers(round(2 * scale), round(6 * scale) + 1))
            draw.ellipse((x, y, x + s, y + s), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
        side = int(rng.integers(round(36 * scale), round(48 * scale) + 1))
        x0, y0 = (int(v) for v in rng.integers(0, SIZE - side, 2))
        colour = np.zeros(3, "int64")
        colour[rng.integers(0, 3)] = 255  # one saturated channel, the others random
        colour[colour == 0] = rng.integers(0, 140, int((colour == 0).sum()))
        _draw_shape(draw, SHAPES[labels[i]], (x0, y0, x0 + side - 1, y0 + side - 1), tuple(int(v) for v in colour))
        array = np.asarray(image, dtype="float32") + rng.normal(0, 10, (SIZE, SIZE, 3))
        images[i] = np.clip(np.round(array), 0, 255).astype("uint8")
        boxes[i] = (x0, y0, x0 + side, y0 + side)
    return images, labels.astype("int64"), boxes


def _hits(heatmaps, boxes):
    import numpy as np

    peaks = [np.unravel_index(np.argmax(h), h.shape) for h in heatmaps]  # (row, column)
    return np.array([x0 <= col < x1 and y0 <= row < y1 for (row, col), (x0, y0, x1, y1) in zip(peaks, boxes)])


def _one(seed):
    import keras
    import numpy as np

    import keras_transfer as kt

    n_train = N_TRAIN_PER_CLASS * len(SHAPES)
    x, y, _ = make_shapes(n_train, 1000 + seed)
    vx, vy, _ = make_shapes(N_VALIDATION, 2000 + seed)
    tx, ty, boxes = make_shapes(N_TEST, 3000 + seed)
    keras.utils.set_random_seed(seed)
    backbone = kt.backbones.get("mobilenet_v2", weights="imagenet", input_shape=(SIZE, SIZE))
    model = kt.TransferModel(backbone, kt.ClassificationHead(len(SHAPES)))
    kt.fine_tune(model, (x, y), validation=(vx, vy), head_epochs=HEAD_EPOCHS, fine_tune_epochs=FINE_TUNE_EPOCHS,
                 seed=seed, verbose=0)
    probabilities = kt.predict(model, tx)
    correct = probabilities.argmax(1) == ty
    result = {"accuracy": float(correct.mean())}
    for layer in LAYERS:
        hits = _hits(kt.evaluation.grad_cam(model, tx, layer=layer), boxes)
        result[f"hit_rate_{layer}"] = float(hits.mean())
        result[f"hit_rate_{layer}_correct"] = float(hits[correct].mean()) if correct.any() else float("nan")
        result[f"misses_{layer}"] = int((~hits).sum())
    centre = np.zeros((1, SIZE, SIZE), "float32")
    centre[0, SIZE // 2, SIZE // 2] = 1.0
    result["hit_rate_centre"] = float(_hits(np.repeat(centre, len(tx), axis=0), boxes).mean())
    print(seed, result, flush=True)
    return result


def run():
    runs = [_one(seed) for seed in SEEDS]
    cells = {}
    for key in runs[0]:
        values = [r[key] for r in runs]
        cells[key] = {"mean": statistics.mean(values), "std": statistics.stdev(values), "values": values}
    return {"seeds": list(SEEDS), "size": SIZE, "n_train": N_TRAIN_PER_CLASS * len(SHAPES),
            "n_validation": N_VALIDATION, "n_test": N_TEST, "head_epochs": HEAD_EPOCHS,
            "fine_tune_epochs": FINE_TUNE_EPOCHS, "cells": cells, "runs": runs}


def summary(results):
    cells = results["cells"]

    def cell(key, scale=100.0, unit=" %"):
        return f"{scale * cells[key]['mean']:.1f} ± {scale * cells[key]['std']:.1f}{unit}"

    lines = [
        "# benchmark `gradcam`: Grad-CAM peak inside the object's box",
        "",
        f"5 shapes (about 11 % of the image) on cluttered {results['size']}×{results['size']} backgrounds; "
        f"ImageNet MobileNetV2 fine-tuned at {results['size']} px on "
        f"{results['n_train']} images ({results['head_epochs']} + {results['fine_tune_epochs']} epochs), "
        f"{results['n_test']} test images per seed; mean ± std over seeds {results['seeds']}.",
        "",
        "| Grad-CAM layer group | peak in box, all test images (goal ≥ 90 %) | peak in box, correctly classified "
        "| misses per seed |",
        "|---|---|---|---|",
    ]
    for layer in LAYERS:
        misses = ", ".join(str(v) for v in cells[f"misses_{layer}"]["values"])
        label = {"top": "`top` (last group)", "out_relu": "`out_relu` (last group's capped output)"}.get(
            layer, f"`{layer}`")
        lines.append(f"| {label} | {cell(f'hit_rate_{layer}')} | "
                     f"{cell(f'hit_rate_{layer}_correct')} | {misses} of {results['n_test']} |")
    lines += ["", f"Test accuracy: {cell('accuracy')}. A heatmap that always peaks at the image centre: "
              f"{cell('hit_rate_centre')}.", "",
              "`top` is `grad_cam`'s default target for the last group: the pre-activation `Conv_1_bn`, because "
              "the group's last layer (`out_relu`, ReLU6) is capped; `out_relu` was the default before. Scores are "
              "the class logits centred on their mean (`kt.evaluation.gradcam.explained_scores`). `top` and `stage4` "
              "hit the same images: `Conv_1_bn` is a pointwise affine map (1×1 convolution, batch norm) of "
              "`stage4`'s output, and Grad-CAM weights are linear in it, so the two maps differ by a constant."]
    if "benchmark_seconds" in results:
        lines += ["", f"Wall time: {results['benchmark_seconds']:.0f} s (2 CPU cores shared with other jobs)."]
    return "\n".join(lines) + "\n"
