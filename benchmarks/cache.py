"""Sequential training on cached features: extraction throughput, head-training speed-up, bounded memory.

``python -m benchmarks cache`` measures, side by side in one process, on MobileNetV2 (offline ImageNet weights)
at 96x96 and Animal-MNIST (28x28 grey, uint8):

- ``extraction_ratio``: ``keras_transfer.features.extract`` throughput from uint8 images (resize, grey→RGB,
  preprocessing, hashing and shard writing included) ÷ bare ``predict`` throughput of the same network with
  average pooling on ready preprocessed float32 tensors, same batch size. Goal ≥ 0.90.
- ``cached_vs_uncached_ratio``: time of 10 stage-1 epochs on the cache, extraction included
  (``keras_transfer.features.train_head``) ÷ time of 10 frozen epochs through the backbone (``fit`` on
  the TransferModel), same batch size. Goal ≤ 0.12. Test accuracies of both are reported as a check.
- peak anonymous memory (RssAnon, sampled every 5 ms) while extracting a memory-mapped dataset 3× larger
  than a set memory budget.
"""

import os
import shutil
import tempfile
import threading
import time

import numpy as np

N_TRAIN = 2000
N_TEST = 500
IMAGE_SIZE = 96
BATCH = 64
EPOCHS = 10
TRAIN_BATCH = 32
MEMORY_BUDGET_MB = 96


def _rss_anon_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class _PeakMemory:
    """Samples RssAnon in a thread; ``peak - start`` is the extra memory used inside the block."""

    def __enter__(self):
        self.start = self.peak = _rss_anon_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_anon_mb())
            time.sleep(0.005)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_anon_mb())


def _backbone():
    import keras_transfer as kt

    return kt.backbones.get("mobilenet_v2", weights="imagenet", input_shape=(IMAGE_SIZE, IMAGE_SIZE))


def _extraction(backbone, x, y, work):
    """Best-of-2 throughputs (images/s), toolkit and bare predict interleaved."""
    import keras

    from keras_transfer.features import extract

    network = backbone.network
    bare = keras.Model(network.input, keras.layers.GlobalAveragePooling2D()(network.output))
    ready = np.concatenate(
        [keras.ops.convert_to_numpy(backbone.preprocess(x[i:i + 500])) for i in range(0, len(x), 500)]
    ).astype("float32")
    # Warm-up: trace both paths once on a few images.
    extract(backbone, (x[:BATCH], y[:BATCH]), os.path.join(work, "warm"), batch_size=BATCH)
    bare.predict(ready[:BATCH], batch_size=BATCH, verbose=0)
    toolkit, baseline = [], []
    for repeat in range(2):
        start = time.perf_counter()
        cache = extract(backbone, (x, y), os.path.join(work, f"extract{repeat}"), batch_size=BATCH)
        toolkit.append(len(x) / (time.perf_counter() - start))
        assert not cache.hit
        start = time.perf_counter()
        reference = bare.predict(ready, batch_size=BATCH, verbose=0)
        baseline.append(len(x) / (time.perf_counter() - start))
    max_diff = float(np.abs(cache.load()[0] - reference).max())
    return max(toolkit), max(baseline), max_diff


def _training(x, y, x_test, y_test, work):
    import keras_transfer as kt
    from keras_transfer.features import train_head

    def model():
        return kt.TransferModel(_backbone(), kt.ClassificationHead(10, dropout=0.0))

    uncached = model()
    uncached.compile(optimizer="adam")
    start = time.perf_counter()
    uncached.fit(x, y, batch_size=TRAIN_BATCH, epochs=EPOCHS, verbose=0)
    uncached_s = time.perf_counter() - start

    cached = model()
    start = time.perf_counter()
    history = train_head(
        cached, (x, y), cache_dir=os.path.join(work, "train"), epochs=EPOCHS, batch_size=TRAIN_BATCH,
        optimizer="adam", verbose=0,
    )
    cached_s = time.perf_counter() - start
    assert not history.feature_cache.hit

    def accuracy(m):
        probabilities = np.concatenate(
            [np.asarray(m(x_test[i:i + 250], training=False)) for i in range(0, len(x_test), 250)]
        )
        return float(np.mean(probabilities.argmax(-1) == y_test))

    return uncached_s, cached_s, accuracy(uncached), accuracy(cached)


def _memory(backbone, work):
    from keras_transfer.features import extract

    budget = MEMORY_BUDGET_MB * 1024 * 1024
    shape = (3 * budget // (224 * 224 * 3), 224, 224, 3)
    path = os.path.join(work, "big.npy")
    images = np.lib.format.open_memmap(path, mode="w+", dtype="uint8", shape=shape)
    rng = np.random.default_rng(0)
    for i in range(0, shape[0], 256):
        images[i:i + 256] = rng.integers(0, 256, (min(256, shape[0] - i),) + shape[1:], dtype=np.uint8)
    images.flush()
    del images
    images = np.load(path, mmap_mode="r")
    labels = np.arange(shape[0]) % 10
    extract(backbone, (images[:32], labels[:32]), os.path.join(work, "big-warm"), batch_size=32)
    with _PeakMemory() as memory:
        start = time.perf_counter()
        cache = extract(backbone, (images, labels), os.path.join(work, "big"), batch_size=32)
        seconds = time.perf_counter() - start
    return {
        "memory_budget_mb": MEMORY_BUDGET_MB,
        "memory_dataset_mb": round(images.nbytes / 2**20, 1),
        "memory_dataset_images": shape[0],
        "memory_features_mb": round(cache.nbytes / 2**20, 1),
        "memory_extract_peak_mb": round(memory.peak - memory.start, 1),
        "memory_within_budget": bool(memory.peak - memory.start <= MEMORY_BUDGET_MB),
        "memory_extract_images_per_s": round(shape[0] / seconds, 1),
    }


def run() -> dict:
    from keras_transfer.data import load_dataset

    splits = load_dataset("animal_mnist", validation_size=0.0, test_size=0.2, seed=0)
    x, y = splits.train[0][:N_TRAIN], splits.train[1][:N_TRAIN]
    x_test, y_test = splits.test[0][:N_TEST], splits.test[1][:N_TEST]
    work = tempfile.mkdtemp(prefix="kt-bench-cache-")
    try:
        backbone = _backbone()
        toolkit, bare, max_diff = _extraction(backbone, x, y, work)
        uncached_s, cached_s, uncached_acc, cached_acc = _training(x, y, x_test, y_test, work)
        results = {
            "backbone": "mobilenet_v2 (ImageNet, torchvision weights)",
            "image_size": IMAGE_SIZE,
            "dataset": f"animal_mnist, {len(x)} train / {len(x_test)} test images, 28x28 grey uint8",
            "extraction_batch_size": BATCH,
            "toolkit_images_per_s": round(toolkit, 1),
            "bare_predict_images_per_s": round(bare, 1),
            "extraction_ratio": round(toolkit / bare, 3),
            "extraction_ratio_goal": ">= 0.90",
            "features_max_abs_diff_vs_bare": max_diff,
            "epochs": EPOCHS,
            "train_batch_size": TRAIN_BATCH,
            "uncached_seconds": round(uncached_s, 1),
            "cached_seconds_incl_extraction": round(cached_s, 1),
            "cached_vs_uncached_ratio": round(cached_s / uncached_s, 4),
            "cached_vs_uncached_ratio_goal": "<= 0.12",
            "uncached_test_accuracy": uncached_acc,
            "cached_test_accuracy": cached_acc,
        }
        results.update(_memory(backbone, work))
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


def summary(results) -> str:
    r = results
    return "\n".join([
        "# benchmark `cache`: sequential training on cached features",
        "",
        f"MobileNetV2 (ImageNet) at {r['image_size']}x{r['image_size']}, {r['dataset']}; "
        f"{r['environment']['cpu_count']} CPU cores, TF {r['environment']['tensorflow']}. "
        "Reproduce: `python -m benchmarks cache`.",
        "",
        "| measure | value | goal |",
        "|---|---|---|",
        f"| extraction throughput, toolkit from uint8 (img/s) | {r['toolkit_images_per_s']} | |",
        f"| bare `predict` on ready float tensors (img/s) | {r['bare_predict_images_per_s']} | |",
        f"| **extraction_ratio** | **{r['extraction_ratio']}** | ≥ 0.90 |",
        f"| {r['epochs']} frozen epochs through the backbone (s) | {r['uncached_seconds']} | |",
        f"| extraction + {r['epochs']} epochs on the cache (s) | {r['cached_seconds_incl_extraction']} | |",
        f"| **cached_vs_uncached_ratio** | **{r['cached_vs_uncached_ratio']}** | ≤ 0.12 |",
        f"| test accuracy uncached / cached | {r['uncached_test_accuracy']:.3f} / {r['cached_test_accuracy']:.3f} | |",
        f"| peak extra memory extracting {r['memory_dataset_mb']} MB (memory-mapped) | "
        f"{r['memory_extract_peak_mb']} MB | ≤ {r['memory_budget_mb']} MB budget |",
        "",
    ])
