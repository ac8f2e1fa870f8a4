"""Streaming a photo folder: ``data.image_stream`` against ``keras.utils.image_dataset_from_directory``.

The benchmark writes ``N_PHOTOS`` JPEGs of varied sizes (300-500 px a side, 10 classes, smooth colour fields with
noise, quality 90) once into ``PHOTOS_DIR`` (outside the repository; ``$KT_PHOTOS_DIR`` moves it, ``$KT_PHOTOS_N``
changes the count, ``$KT_PHOTOS_FIT`` the photos of the fit measurement), reads the whole folder into the page cache, then measures, each in a fresh Python process so
that peak resident memory (``ru_maxrss``) is the process's own:

- images per second from files to ready uint8 batches of 32 at 224×224, one pass in file order: ``image_stream``
  (parallel Pillow decode + resize in tf.data) and ``keras.utils.image_dataset_from_directory`` (tf.io decode +
  tf.image resize, its own parallel map) on the same files; the ratio is ours ÷ Keras';
- peak RSS of each process (TensorFlow itself included);
- with ``cache_dir``: the first epoch (decode + write the image cache) and a cached epoch (read back);
- end to end: one epoch of ``fine_tune`` stage 1 (frozen ImageNet MobileNetV2 at 224×224, batch 32) on the first
  ``N_FIT`` photos of a stream (fewer than all, to fit the time budget on 2 shared cores).

Run: ``python -m benchmarks photos``.
"""

import json
import os
import subprocess
import sys
import time

__all__ = ["run", "summary"]

N_PHOTOS = int(os.environ.get("KT_PHOTOS_N", "20000"))
N_FIT = int(os.environ.get("KT_PHOTOS_FIT", "500"))
PHOTOS_DIR = os.environ.get("KT_PHOTOS_DIR", "/tmp/kt_benchmark_photos")
SIZE = 224
BATCH = 32
CLASSES = 10


def _generate(root, n):
    """Writes JPEGs 0..n-1 (300-500 px sides) into root/<class>/ (those present are kept) and removes any others."""
    import numpy as np
    from PIL import Image

    start = time.perf_counter()
    for dirpath, _, files in os.walk(root):  # a folder made for a larger n keeps its first n photos
        for name in files:
            if name.endswith(".jpg") and int(name[:-4]) >= n:
                os.remove(os.path.join(dirpath, name))
    for i in range(n):
        cls = i % CLASSES
        folder = os.path.join(root, f"class_{cls:02d}")
        path = os.path.join(folder, f"{i:05d}.jpg")
        if os.path.exists(path):  # photo i depends on i alone: kept from an earlier run
            continue
        rng = np.random.default_rng(i)
        os.makedirs(folder, exist_ok=True)
        w, h = (int(s) for s in rng.integers(300, 501, 2))
        small = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
        small[..., cls % 3] = 200
        field = np.asarray(Image.fromarray(small).resize((w, h), Image.BILINEAR), dtype=np.int16)
        noisy = np.clip(field + rng.integers(-12, 13, (h, w, 1), dtype=np.int16), 0, 255).astype(np.uint8)
        Image.fromarray(noisy).save(path + ".tmp", format="JPEG", quality=90)
        os.replace(path + ".tmp", path)
    return time.perf_counter() - start


def _warm_page_cache(root):
    total = 0
    for dirpath, _, files in os.walk(root):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as handle:
                total += len(handle.read())
    return total


_CHILD = r"""
import json, os, resource, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
mode, root, size, batch, extra = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
import tensorflow as tf


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one_pass(dataset):
    start, count = time.perf_counter(), 0
    for x, _ in dataset:
        count += int(x.shape[0])
    return count, time.perf_counter() - start


out = {}
if mode == "stream":
    from keras_transfer.data import image_stream
    stream = image_stream(root, image_size=(size, size), batch_size=batch, shuffle=False)
    out["images"], out["seconds"] = one_pass(stream.train)
elif mode == "keras":
    import keras
    dataset = keras.utils.image_dataset_from_directory(root, image_size=(size, size), batch_size=batch,
                                                       shuffle=False, verbose=False)
    out["images"], out["seconds"] = one_pass(dataset)
elif mode == "cache":
    from keras_transfer.data import image_stream
    stream = image_stream(root, image_size=(size, size), batch_size=batch, shuffle=True, cache_dir=extra)
    out["images"], out["first_epoch_seconds"] = one_pass(stream.train)
    _, out["cached_epoch_seconds"] = one_pass(stream.train)
    out["cache_complete"] = stream.train.image_cache.complete
elif mode == "fit":
    import keras_transfer as kt
    n_fit = int(extra)
    stream = image_stream = kt.data.image_stream(root, image_size=(size, size), batch_size=batch,
                                                 n_per_class=n_fit // 10, seed=0)
    kt.set_seed(0)
    model = kt.TransferModel(kt.backbones.get("mobilenet_v2", input_shape=(size, size)),
                             kt.ClassificationHead(stream.num_classes))
    start = time.perf_counter()
    kt.fine_tune(model, stream.train, head_epochs=1, fine_tune_epochs=0, verbose=0)
    out["images"], out["seconds"] = len(stream.labels("train")), time.perf_counter() - start
out["peak_rss_mb"] = rss_mb()
print("RESULT " + json.dumps(out))
"""


def _child(mode, extra=""):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", _CHILD, mode, PHOTOS_DIR, str(SIZE), str(BATCH), extra],
                          capture_output=True, text=True, env=env, cwd=os.path.dirname(os.path.dirname(__file__)))
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"benchmark child {mode} failed:\n{done.stderr[-3000:]}")
    result = json.loads(lines[-1][len("RESULT "):])
    print(mode, result, flush=True)
    return result


def run():
    import shutil
    import tempfile

    generated_seconds = _generate(PHOTOS_DIR, N_PHOTOS)
    warm_bytes = _warm_page_cache(PHOTOS_DIR)
    ours = _child("stream")
    keras_ = _child("keras")
    cache_dir = tempfile.mkdtemp(prefix="kt_photo_cache_")
    try:
        cached = _child("cache", cache_dir)
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    fit = _child("fit", str(N_FIT))
    ours_rate = ours["images"] / ours["seconds"]
    keras_rate = keras_["images"] / keras_["seconds"]
    return {
        "photos": N_PHOTOS, "classes": CLASSES, "image_size": SIZE, "batch_size": BATCH,
        "folder_megabytes": round(warm_bytes / 2**20, 1), "generation_seconds": round(generated_seconds, 1),
        "stream_images_per_second": round(ours_rate, 1),
        "keras_images_per_second": round(keras_rate, 1),
        "throughput_ratio": round(ours_rate / keras_rate, 3),
        "stream_peak_rss_mb": round(ours["peak_rss_mb"], 1),
        "keras_peak_rss_mb": round(keras_["peak_rss_mb"], 1),
        "first_epoch_seconds": round(cached["first_epoch_seconds"], 1),
        "cached_epoch_seconds": round(cached["cached_epoch_seconds"], 1),
        "cache_peak_rss_mb": round(cached["peak_rss_mb"], 1),
        "cache_complete": cached["cache_complete"],
        "fit_images": fit["images"], "fit_epoch_seconds": round(fit["seconds"], 1),
        "fit_images_per_second": round(fit["images"] / fit["seconds"], 1),
        "fit_peak_rss_mb": round(fit["peak_rss_mb"], 1),
    }


def summary(results):
    r = results
    return "\n".join([
        "# benchmark `photos`: streaming a folder of generated JPEGs",
        "",
        f"{r['photos']:,} JPEGs, 300-500 px sides, {r['classes']} classes ({r['folder_megabytes']} MB, read into the "
        f"page cache first), batches of {r['batch_size']} uint8 images at {r['image_size']}×{r['image_size']}, "
        "each measurement in a fresh process; 2 CPU cores shared with other jobs.",
        "",
        "| measure | value | goal |",
        "|---|---|---|",
        f"| `image_stream` images/s, files → ready batches | {r['stream_images_per_second']} | |",
        f"| `keras.utils.image_dataset_from_directory` images/s, same files and size | "
        f"{r['keras_images_per_second']} | |",
        f"| ratio ours ÷ Keras | **{r['throughput_ratio']}** | ≥ 1.0 |",
        f"| peak RSS streaming one pass (TensorFlow included) | {r['stream_peak_rss_mb']} MB "
        f"(Keras' reader: {r['keras_peak_rss_mb']} MB) | ≤ 1,024 MB |",
        f"| first epoch with `cache_dir` (decode + write the cache), shuffled | {r['first_epoch_seconds']} s | |",
        f"| cached epoch (read back, shuffled) | {r['cached_epoch_seconds']} s (peak RSS {r['cache_peak_rss_mb']} MB) | |",
        f"| one frozen-backbone `fine_tune` epoch, MobileNetV2, {r['fit_images']:,} streamed photos | "
        f"{r['fit_epoch_seconds']} s ({r['fit_images_per_second']} images/s; peak RSS {r['fit_peak_rss_mb']} MB) | |",
        "",
    ])
