"""Past one machine: feature extraction on Apache Beam and multi-worker training, measured on local workers.

``python -m benchmarks scale`` measures on this machine (2 shared CPU cores):

- **Beam vs in-process extraction** on a folder of 2,000 PNG photos (64x64 RGB, 2 class folders, generated into
  a temporary directory, never the repository), MobileNetV2 with its offline ImageNet weights at 64x64, batch 64:
  ``keras_transfer.features.extract(..., runner="beam")`` with DirectRunner, ``direct_num_workers=2``,
  ``direct_running_mode=multi_processing`` (decoding on the workers, RunInference, shards written by the workers)
  against the in-process path (the same files decoded with ``keras_transfer.data.image_folder.decode_image`` in
  this process, then ``features.extract``). Reported: max |features difference| over every row, and the
  throughput ratio (in-process seconds ÷ Beam seconds, both including decoding and the cache write; goal ≥ 0.7),
  3 repeats each (fresh cache directories), mean ± std. A 200-image run of each path separates the fixed
  start-up (Beam starts 2 worker processes that import TensorFlow and load the backbone) from the marginal rate
  (the extra 1,800 images ÷ the extra seconds), which is what a long run on a cluster sees.
- **MobileNetV2 at 224x224** in-process extraction throughput (256 images, 3 repeats), the number the 10-million
  image estimate in docs/scale.md scales from.
- **Multi-worker training**: ``tests/training/multi_worker_worker.py`` (a tiny CNN backbone, 16x16 inputs, 512
  examples, global batch 8, 3 head epochs) as one process and as 2 ``MultiWorkerMirroredStrategy`` workers on
  127.0.0.1 (2 free ports): max |loss difference| and seconds per epoch (epochs 2-3; the first one traces).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_IMAGES = 2000
N_SMALL = 200  # a second, small run of each path: its time is the fixed start-up, the difference the marginal rate
IMAGE_SIZE = 64
BATCH = 64
REPEATS = 3
N_224 = 256
MW_EXAMPLES = 512
MW_EPOCHS = 3
BEAM_OPTIONS = {"runner": "DirectRunner", "direct_num_workers": 2, "direct_running_mode": "multi_processing"}
_REPO = Path(__file__).resolve().parents[1]
_WORKER = _REPO / "tests" / "training" / "multi_worker_worker.py"


def _photos(root: Path):
    from PIL import Image

    rng = np.random.default_rng(0)
    files = []
    for label, name in enumerate(("class_a", "class_b")):
        (root / name).mkdir(parents=True)
        for i in range(N_IMAGES // 2):
            # smooth random photos (low-frequency noise upsampled) so PNG decoding costs what photos cost
            small = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
            image = Image.fromarray(small).resize((IMAGE_SIZE + 16, IMAGE_SIZE + 16), Image.BICUBIC)
            path = root / name / f"{i:05d}.png"
            image.save(path)
            files.append((str(path), label))
    return files


def _extraction(work: Path) -> dict:
    import keras_transfer as kt
    from keras_transfer.data.image_folder import decode_image

    files = _photos(work / "photos")
    backbone = kt.backbones.get("mobilenet_v2", weights="imagenet", input_shape=(IMAGE_SIZE, IMAGE_SIZE))
    small = work / "small"
    for label in ("class_a", "class_b"):
        (small / label).mkdir(parents=True)
        for path, _ in [f for f in files if f"/{label}/" in f[0]][:N_SMALL // 2]:
            shutil.copy(path, small / label)
    small_files = [(str(small / Path(p).parent.name / Path(p).name), y) for p, y in files
                   if Path(p).name in {q.name for q in (small / Path(p).parent.name).iterdir()}]
    # warm-up: the in-process trace is made once per process and kept on the backbone (not timed)
    kt.features.extract(backbone, np.zeros((2, IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8), work / "warm")
    local_seconds, beam_seconds, diffs = [], [], []
    local_small, beam_small = [], []
    for repeat in range(REPEATS):
        began = time.perf_counter()
        xs = np.stack([decode_image(path, (IMAGE_SIZE, IMAGE_SIZE), 3) for path, _ in small_files])
        kt.features.extract(backbone, (xs, np.array([y for _, y in small_files])), work / f"local_small{repeat}",
                            batch_size=BATCH)
        local_small.append(time.perf_counter() - began)
        began = time.perf_counter()
        kt.features.extract(backbone, str(small), work / f"beam_small{repeat}", runner="beam",
                            pipeline_options=BEAM_OPTIONS, image_size=(IMAGE_SIZE, IMAGE_SIZE), batch_size=BATCH)
        beam_small.append(time.perf_counter() - began)
        began = time.perf_counter()
        x = np.stack([decode_image(path, (IMAGE_SIZE, IMAGE_SIZE), 3) for path, _ in files])
        y = np.array([label for _, label in files])
        local = kt.features.extract(backbone, (x, y), work / f"local{repeat}", batch_size=BATCH)
        local_seconds.append(time.perf_counter() - began)
        began = time.perf_counter()
        beam = kt.features.extract(backbone, str(work / "photos"), work / f"beam{repeat}", runner="beam",
                                   pipeline_options=BEAM_OPTIONS, image_size=(IMAGE_SIZE, IMAGE_SIZE),
                                   batch_size=BATCH)
        beam_seconds.append(time.perf_counter() - began)
        features, labels = beam.load()
        assert np.array_equal(labels, y)
        diffs.append(float(np.max(np.abs(features - local.load()[0]))))
    local_seconds, beam_seconds = np.array(local_seconds), np.array(beam_seconds)
    ratios = local_seconds / beam_seconds
    extra = N_IMAGES - len(small_files)
    local_marginal = extra / (local_seconds - np.array(local_small))
    beam_marginal = extra / (beam_seconds - np.array(beam_small))
    return {
        "images": N_IMAGES, "image_size": IMAGE_SIZE, "batch": BATCH, "repeats": REPEATS,
        "backbone": "mobilenet_v2 (ImageNet weights) at 64x64",
        "beam_pipeline_options": BEAM_OPTIONS,
        "max_abs_feature_diff": max(diffs),
        "local_seconds_mean": float(local_seconds.mean()), "local_seconds_std": float(local_seconds.std()),
        "beam_seconds_mean": float(beam_seconds.mean()), "beam_seconds_std": float(beam_seconds.std()),
        "local_images_per_second": float(N_IMAGES / local_seconds.mean()),
        "beam_images_per_second": float(N_IMAGES / beam_seconds.mean()),
        "beam_images_per_second_per_worker": float(N_IMAGES / beam_seconds.mean() / 2),
        "throughput_ratio_mean": float(ratios.mean()), "throughput_ratio_std": float(ratios.std()),
        "throughput_ratio_goal": 0.7,
        "small_images": len(small_files),
        "local_small_seconds_mean": float(np.mean(local_small)), "beam_small_seconds_mean": float(np.mean(beam_small)),
        "beam_small_seconds_std": float(np.std(beam_small)),
        "local_marginal_images_per_second_mean": float(local_marginal.mean()),
        "local_marginal_images_per_second_std": float(local_marginal.std()),
        "beam_marginal_images_per_second_mean": float(beam_marginal.mean()),
        "beam_marginal_images_per_second_std": float(beam_marginal.std()),
        "marginal_throughput_ratio_mean": float((beam_marginal / local_marginal).mean()),
        "marginal_throughput_ratio_std": float((beam_marginal / local_marginal).std()),
    }


def _throughput_224(work: Path) -> dict:
    import keras_transfer as kt

    backbone = kt.backbones.get("mobilenet_v2", weights="imagenet", input_shape=(224, 224))
    x = np.random.default_rng(0).integers(0, 256, (N_224, 224, 224, 3), dtype=np.uint8)
    seconds = []
    for repeat in range(REPEATS):
        x[0, 0, 0, 0] = repeat  # another fingerprint: a real extraction each time
        began = time.perf_counter()
        kt.features.extract(backbone, x, work / f"c224_{repeat}", batch_size=BATCH)
        seconds.append(time.perf_counter() - began)
    rates = N_224 / np.array(seconds)
    return {"mobilenet_v2_224_images_per_second_mean": float(rates.mean()),
            "mobilenet_v2_224_images_per_second_std": float(rates.std()), "images_224": N_224}


def _workers(work: Path, count: int) -> list:
    from keras_transfer.testing import free_loopback_ports

    ports = free_loopback_ports(count)
    base = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0", PYTHONPATH=str(_REPO))
    base.pop("TF_CONFIG", None)
    processes = []
    for index in range(count):
        env = dict(base)
        if count > 1:
            env["TF_CONFIG"] = json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                                           "task": {"type": "worker", "index": index}})
        out = work / f"mw{count}_{index}.json"
        processes.append((out, subprocess.Popen(
            [sys.executable, str(_WORKER), str(out), str(work / f"ck{count}"), "--examples", str(MW_EXAMPLES),
             "--epochs", str(MW_EPOCHS), "--fine-tune-epochs", "0"],
            env=env, cwd=str(_REPO), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
    results = []
    try:
        for out, process in processes:
            output, _ = process.communicate(timeout=900)
            if process.returncode != 0:
                raise RuntimeError(f"worker failed:\n{output[-3000:]}")
            results.append(json.loads(out.read_text()))
    finally:
        for _, process in processes:
            if process.poll() is None:
                process.kill()
    return results


def _multi_worker(work: Path) -> dict:
    one = _workers(work, 1)[0]
    two = _workers(work, 2)
    steady_one = np.array(one["seconds_per_epoch"][1:])
    steady_two = np.array(two[0]["seconds_per_epoch"][1:])
    return {
        "mw_examples": MW_EXAMPLES, "mw_epochs": MW_EPOCHS, "mw_global_batch": 8,
        "mw_max_abs_loss_diff": float(max(np.max(np.abs(np.array(w["loss"]) - np.array(one["loss"]))) for w in two)),
        "mw_losses_one_process": one["loss"], "mw_losses_two_workers": two[0]["loss"],
        "mw_seconds_per_epoch_one_mean": float(steady_one.mean()),
        "mw_seconds_per_epoch_one_std": float(steady_one.std()),
        "mw_seconds_per_epoch_two_mean": float(steady_two.mean()),
        "mw_seconds_per_epoch_two_std": float(steady_two.std()),
        "mw_replicas": two[0]["replicas"],
    }


def run() -> dict:
    work = Path(tempfile.mkdtemp(prefix="kt-scale-"))
    try:
        results = {}
        results.update(_extraction(work))
        results.update(_throughput_224(work))
        results.update(_multi_worker(work))
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


def summary(r: dict) -> str:
    goal = "met" if r["throughput_ratio_mean"] >= r["throughput_ratio_goal"] else "MISSED"
    return "\n".join([
        "# benchmark `scale`: Beam extraction and multi-worker training on local workers",
        "",
        f"Machine: {r['environment']['cpu_count']} CPU cores shared with other jobs. Reproduce: "
        "`python -m benchmarks scale`.",
        "",
        f"## Feature extraction: {r['images']} PNG photos, {r['backbone']}, batch {r['batch']}, "
        f"{r['repeats']} repeats",
        "",
        "| path | seconds | images/s |",
        "|---|---|---|",
        f"| in-process `features.extract` (decode + extract + write) | {r['local_seconds_mean']:.1f} ± "
        f"{r['local_seconds_std']:.1f} | {r['local_images_per_second']:.0f} |",
        f"| Beam DirectRunner, 2 workers, multi_processing | {r['beam_seconds_mean']:.1f} ± "
        f"{r['beam_seconds_std']:.1f} "
        f"| {r['beam_images_per_second']:.0f} ({r['beam_images_per_second_per_worker']:.0f} per worker) |",
        "",
        f"- max |Beam − in-process features| over all rows: {r['max_abs_feature_diff']:.2e} (goal ≤ 1e-5)",
        f"- throughput ratio Beam ÷ in-process: {r['throughput_ratio_mean']:.2f} ± {r['throughput_ratio_std']:.2f} "
        f"(goal ≥ 0.7: {goal})",
        f"- fixed start-up (a {r['small_images']}-image run of each path): Beam {r['beam_small_seconds_mean']:.1f} ± "
        f"{r['beam_small_seconds_std']:.1f} s (worker processes import TensorFlow and load the backbone), in-process "
        f"{r['local_small_seconds_mean']:.1f} s",
        f"- marginal rate (the extra {r['images'] - r['small_images']} images ÷ the extra seconds): Beam "
        f"{r['beam_marginal_images_per_second_mean']:.0f} ± {r['beam_marginal_images_per_second_std']:.0f} images/s, "
        f"in-process {r['local_marginal_images_per_second_mean']:.0f} ± "
        f"{r['local_marginal_images_per_second_std']:.0f} images/s; ratio {r['marginal_throughput_ratio_mean']:.2f} "
        f"± {r['marginal_throughput_ratio_std']:.2f}",
        f"- MobileNetV2 at 224x224, in-process: {r['mobilenet_v2_224_images_per_second_mean']:.1f} ± "
        f"{r['mobilenet_v2_224_images_per_second_std']:.1f} images/s ({r['images_224']} images)",
        "",
        f"## Multi-worker training: tiny CNN, {r['mw_examples']} examples 16x16, global batch {r['mw_global_batch']}, "
        f"{r['mw_epochs']} head epochs",
        "",
        "| setting | replicas | seconds per epoch (epochs 2-3) |",
        "|---|---|---|",
        f"| one process | 1 | {r['mw_seconds_per_epoch_one_mean']:.2f} ± {r['mw_seconds_per_epoch_one_std']:.2f} |",
        f"| 2 MultiWorkerMirroredStrategy workers on 127.0.0.1 | {r['mw_replicas']} | "
        f"{r['mw_seconds_per_epoch_two_mean']:.2f} ± {r['mw_seconds_per_epoch_two_std']:.2f} |",
        "",
        f"- max |loss difference| two workers vs one process: {r['mw_max_abs_loss_diff']:.2e} (goal ≤ 1e-5)",
        "- Two workers share the same 2 cores here and add a collective all-reduce per step: no speed-up is "
        "expected on this machine.",
        "",
    ])
