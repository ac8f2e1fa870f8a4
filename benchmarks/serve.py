"""Serve benchmark: request latency of ``keras-transfer serve`` on loopback, beside the model's own batch-1 latency.

A MobileNetV2 classifier (offline ImageNet weights, a 10-class head; latency does not depend on training) takes
raw 64×64 RGB images and is exported to TFLite float32 and int8 (calibrated on 100 Animal-MNIST training
images), and saved as ``.keras``. Each file is served by the real command (``keras-transfer serve MODEL --port P``
in a subprocess, bound to 127.0.0.1) and hit by 1 and by 8 concurrent clients (threads with keep-alive
connections), each request one PNG (an Animal-MNIST test image at 64×64) posted as multipart ``files``. Bounded
runs: 60 requests per client count for the TFLite files, 16 for ``.keras``, after 4 warm-up requests.
Reported: p50 / p95 of the per-request wall time, and requests per second, mean ± std over 3 repeats; beside
them the model's batch-1 latency in-process (``ExportedModel.predict`` on one image, median of 100 calls; 20 for
``.keras``) and the in-process ``Predictor`` call (PNG decode + resize + predict).
"""

import concurrent.futures
import io
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

OUTPUT = Path(__file__).resolve().parents[1] / "saved_models" / "benchmarks" / "serve"
REPEATS = 3
CLIENTS = (1, 8)
REQUESTS = {"tflite": 60, "keras": 16}
IMAGE_SIZE = 64


def _png(image) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _median_ms(fn, repeats, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(model_path):
    import requests

    port = _free_port()
    command = [sys.executable, "-c", "import sys; from keras_transfer.cli.main import main; sys.exit(main())",
               "serve", str(model_path), "--port", str(port), "--max-batch", "8"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return process, url
        except requests.RequestException:
            time.sleep(0.5)
        if process.poll() is not None:
            raise RuntimeError(f"keras-transfer serve exited with {process.returncode}")
    process.terminate()
    raise RuntimeError("keras-transfer serve did not start in 180 s")


def _client_run(url, payloads, clients, n_requests) -> dict:
    import requests

    per_client = n_requests // clients

    def client(index):
        session = requests.Session()
        times = []
        for i in range(per_client):
            data = payloads[(index * per_client + i) % len(payloads)]
            start = time.perf_counter()
            answer = session.post(f"{url}/predict", files={"files": ("x.png", data, "image/png")}, timeout=120)
            times.append(time.perf_counter() - start)
            assert answer.status_code == 200, answer.text
        session.close()
        return times

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        times = [t for result in pool.map(client, range(clients)) for t in result]
    wall = time.perf_counter() - start
    return {"p50_ms": 1000 * float(np.percentile(times, 50)), "p95_ms": 1000 * float(np.percentile(times, 95)),
            "requests_per_second": len(times) / wall, "requests": len(times)}


def _serve_rows(model_path, kind, payloads) -> dict:
    import requests

    process, url = _start_server(model_path)
    try:
        for data in payloads[:4]:  # warm-up
            requests.post(f"{url}/predict", files={"files": ("x.png", data, "image/png")}, timeout=120)
        rows = {}
        for clients in CLIENTS:
            runs = [_client_run(url, payloads, clients, REQUESTS[kind]) for _ in range(REPEATS)]
            rows[f"{clients}_clients"] = {
                key: {"mean": statistics.mean(r[key] for r in runs), "std": statistics.stdev(r[key] for r in runs)}
                for key in ("p50_ms", "p95_ms", "requests_per_second")}
            rows[f"{clients}_clients"]["requests_per_repeat"] = runs[0]["requests"]
        return rows
    finally:
        process.terminate()
        process.wait(timeout=30)


def _models(splits):
    import keras

    import keras_transfer as kt
    from keras_transfer.export import export

    OUTPUT.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(0)
    backbone = kt.backbones.get("mobilenet_v2", weights="imagenet", input_shape=(IMAGE_SIZE, IMAGE_SIZE))
    model = kt.TransferModel(backbone, kt.ClassificationHead(splits.num_classes))
    x = _rgb64(splits.train[0][:100])
    model(x[:1])
    paths = {"tflite_float32": OUTPUT / "model_float32.tflite", "tflite_int8": OUTPUT / "model_int8.tflite",
             "keras": OUTPUT / "model.keras"}
    export(model, paths["tflite_float32"], "tflite", parity_data=x[:16], class_names=splits.class_names,
           verbose=False)
    export(model, paths["tflite_int8"], "tflite", "int8", representative_data=x, parity_data=x[:16],
           class_names=splits.class_names, verbose=False)
    model.save(paths["keras"])
    (OUTPUT / "labels.txt").write_text("".join(f"{name}\n" for name in splits.class_names))
    return paths


def _rgb64(images):
    import tensorflow as tf

    images = np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images
    return tf.cast(tf.round(tf.image.resize(images, (IMAGE_SIZE, IMAGE_SIZE))), tf.uint8).numpy()


def run(seed: int = 0) -> dict:
    from keras_transfer.data import load_dataset
    from keras_transfer.export import load_exported
    from keras_transfer.serving import Predictor

    splits = load_dataset("animal_mnist", n_per_class=20, seed=seed)
    paths = _models(splits)
    test = _rgb64(splits.test[0][:64])
    payloads = [_png(image) for image in test]
    results = {"load_average_at_start": list(os.getloadavg()),  # the machine is shared: say how busy it was
               "image_size": IMAGE_SIZE, "repeats": REPEATS, "clients": list(CLIENTS), "requests": REQUESTS,
               "payload_bytes_mean": float(np.mean([len(p) for p in payloads])), "models": {}}
    for name, path in paths.items():
        kind = "keras" if name == "keras" else "tflite"
        calls = 20 if kind == "keras" else 100
        exported = load_exported(path)
        predictor = Predictor(path)
        results["models"][name] = {
            "size_bytes": path.stat().st_size,
            "batch1_model_ms": _median_ms(lambda: exported.predict(test[:1]), calls),
            "batch1_predictor_ms": _median_ms(lambda: predictor.predict_images(payloads[:1]), calls),
            "serve": _serve_rows(path, kind, payloads),
        }
    return results


def summary(results: dict) -> str:
    seconds = results.get("benchmark_seconds")
    lines = [
        "# benchmark `serve`",
        "",
        f"`keras-transfer serve` on 127.0.0.1 (a subprocess), MobileNetV2 (ImageNet weights, 10-class head) taking "
        f"{results['image_size']}×{results['image_size']} RGB PNGs (mean {results['payload_bytes_mean']:.0f} bytes) "
        f"as multipart uploads, one image per request; {results['repeats']} repeats of "
        f"{results['requests']['tflite']} requests (TFLite) / {results['requests']['keras']} (.keras) per client "
        "count; mean ± std over the repeats. Batch-1: in-process, median of 100 calls (.keras: 20)"
        + (f". Whole run: {seconds:.0f} s." if seconds is not None else ".")
        + (f" Load average at the start: {results['load_average_at_start'][0]:.1f} (2 cores, shared)."
           if "load_average_at_start" in results else ""),
        "",
        "| model | batch-1 model (ms) | batch-1 decode + predict (ms) | 1 client p50 (ms) | 1 client p95 (ms) "
        "| 8 clients p50 (ms) | 8 clients p95 (ms) | 8 clients requests/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, model in results["models"].items():
        one, eight = model["serve"]["1_clients"], model["serve"]["8_clients"]

        def cell(row, key, digits=1):
            return f"{row[key]['mean']:.{digits}f} ± {row[key]['std']:.{digits}f}"

        lines.append(f"| {name} | {model['batch1_model_ms']:.2f} | {model['batch1_predictor_ms']:.2f} "
                     f"| {cell(one, 'p50_ms')} | {cell(one, 'p95_ms')} | {cell(eight, 'p50_ms')} "
                     f"| {cell(eight, 'p95_ms')} | {cell(eight, 'requests_per_second')} |")
    return "\n".join(lines) + "\n"
