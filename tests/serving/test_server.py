"""A real uvicorn server on a free loopback port, the `serve` command, and the page in headless Chromium."""

import concurrent.futures
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

pytest.importorskip("uvicorn", reason="the serve extra (fastapi, uvicorn, python-multipart) is not installed")

from keras_transfer.serving import Predictor, create_app  # noqa: E402


@pytest.fixture(scope="module")
def server_url(served_model):
    """The app under uvicorn on 127.0.0.1 and a free port, in a thread; stopped at the end of the module."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(Predictor(served_model[0]), max_batch=8), host="127.0.0.1", port=port,
                            log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and thread.is_alive() and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
    assert not thread.is_alive()


def _post_file(url, name, data):
    import requests

    return requests.post(f"{url}/predict", files={"files": (name, data, "image/png")}, timeout=30)


def test_real_server_predicts_refuses_bad_uploads_and_keeps_serving(server_url, classes, png_bytes):
    import requests

    names, levels = classes
    assert requests.get(f"{server_url}/health", timeout=10).json()["status"] == "ok"
    bad = _post_file(server_url, "notes.txt", b"plain text")
    assert bad.status_code == 400 and "Not an image: 'notes.txt'" in bad.json()["detail"]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:  # concurrent clients, one model behind a lock
        answers = list(pool.map(lambda i: _post_file(server_url, f"{i}.png", png_bytes(levels[i % 3], seed=i)),
                                range(8)))
    assert [a.status_code for a in answers] == [200] * 8
    assert [a.json()["predictions"][0]["top"][0]["label"] for a in answers] == [names[i % 3] for i in range(8)]
    too_big = requests.post(f"{server_url}/predict", data=b"x" * (11 * 1024 * 1024),
                            headers={"content-type": "application/json"}, timeout=30)
    assert too_big.status_code == 413
    assert requests.get(f"{server_url}/health", timeout=10).status_code == 200


def test_serve_command_binds_loopback_by_default(monkeypatch, served_model):
    import keras_transfer.serving as serving
    from keras_transfer.cli.main import main

    calls = []
    monkeypatch.setattr(serving, "serve", lambda model, **kwargs: calls.append((model, kwargs)))
    assert main(["serve", served_model[0]]) == 0
    assert main(["serve", served_model[0], "--port", "9123", "--host", "0.0.0.0", "--max-batch", "2"]) == 0
    (model, first), (_, second) = calls
    assert model == served_model[0] and first["host"] == "127.0.0.1" and first["port"] == 8000
    assert first["max_request_bytes"] == 10 * 1024 * 1024 and first["max_batch"] == 16
    assert second["host"] == "0.0.0.0" and second["port"] == 9123 and second["max_batch"] == 2


# --- the page in a real browser: Chromium driven through chromedriver's WebDriver HTTP API (no extra package) ---

_ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


def _webdriver(base, method, path, body=None):
    request = urllib.request.Request(f"{base}{path}", method=method, data=None if body is None else
                                     json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())["value"]


def _wait(fn, timeout=30.0):
    deadline = time.time() + timeout
    while True:
        try:
            value = fn()
            if value:
                return value
        except (urllib.error.URLError, ConnectionError):  # driver starting, or "no such element" yet
            pass
        if time.time() > deadline:
            raise AssertionError("timed out waiting for the page")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def chromium_session():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install -y chromium chromium-driver)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([driver, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _webdriver(base, "GET", "/status")["ready"])
        options = {"binary": chromium, "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                                                "--disable-dev-shm-usage", "--window-size=1024,768"]}
        session = _webdriver(base, "POST", "/session", {"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "goog:chromeOptions": options}}})["sessionId"]
        yield base, f"/session/{session}"
        _webdriver(base, "DELETE", f"/session/{session}")
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_page_in_headless_chromium_uploads_an_image_and_shows_the_label(chromium_session, server_url, classes,
                                                                         png_bytes, tmp_path):
    base, session = chromium_session
    names, levels = classes
    image = tmp_path / "bright.png"
    image.write_bytes(png_bytes(levels[2], size=(50, 40)))

    def find(css):
        return _webdriver(base, "POST", f"{session}/element", {"using": "css selector", "value": css})[_ELEMENT]

    _webdriver(base, "POST", f"{session}/url", {"url": server_url + "/"})
    _wait(lambda: find("body[data-ready='true']"))
    assert "tflite" in _webdriver(base, "GET", f"{session}/element/{find('#model')}/text")
    _webdriver(base, "POST", f"{session}/element/{find('#files')}/value", {"text": os.fspath(image)})
    label = _wait(lambda: _webdriver(base, "GET", f"{session}/element/{find('.result .label')}/text"))
    assert label == names[2]
    shown = _webdriver(base, "GET", f"{session}/element/{find('.result .input')}/text")
    status = _webdriver(base, "GET", f"{session}/element/{find('#status')}/text")
    assert shown == "bright.png" and status == "1 prediction(s)"
