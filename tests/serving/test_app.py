"""The FastAPI app through TestClient: /predict (multipart, base64 JSON, texts), /health, /, limits, bad uploads."""

import base64

import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi, uvicorn, python-multipart) is not installed")

from fastapi.testclient import TestClient  # noqa: E402

from keras_transfer.serving import Predictor, create_app  # noqa: E402


@pytest.fixture(scope="module")
def client(served_model):
    app = create_app(Predictor(served_model[0]), max_request_bytes=64 * 1024, max_batch=4)
    with TestClient(app) as test_client:
        yield test_client


def _still_serving(client):
    assert client.get("/health").json()["status"] == "ok"


def test_health_describes_the_model_and_limits(client):
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["model"]["kind"] == "image"
    assert health["model"]["input_shape"] == [28, 28, 3] and health["model"]["num_labels"] == 3
    assert health["limits"]["max_batch"] == 4 and health["limits"]["max_request_bytes"] == 64 * 1024


def test_page_has_the_drop_zone_and_calls_the_api(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for needle in ('id="drop"', 'id="files"', 'id="texts"', 'id="results"', '"/predict"', '"/health"'):
        assert needle in page.text


def test_multipart_files_give_the_right_labels(client, classes, png_bytes):
    names, levels = classes
    files = [("files", (f"{name}.png", png_bytes(level, seed=i), "image/png"))
             for i, (name, level) in enumerate(zip(names, levels))]
    answer = client.post("/predict", files=files, data={"top_k": "2"})
    assert answer.status_code == 200, answer.text
    predictions = answer.json()["predictions"]
    assert [p["input"] for p in predictions] == [f"{n}.png" for n in names]
    assert [p["top"][0]["label"] for p in predictions] == names and all(len(p["top"]) == 2 for p in predictions)
    assert all(0.0 <= t["probability"] <= 1.0 for p in predictions for t in p["top"])


def test_base64_json_images_match_multipart(client, classes, png_bytes):
    names, levels = classes
    encoded = [base64.b64encode(png_bytes(level)).decode() for level in levels]
    encoded[1] = "data:image/png;base64," + encoded[1]  # what a browser's FileReader gives
    answer = client.post("/predict", json={"images": encoded, "top_k": 1})
    assert answer.status_code == 200, answer.text
    assert [p["top"][0]["label"] for p in answer.json()["predictions"]] == names
    assert all(len(p["top"]) == 1 for p in answer.json()["predictions"])


@pytest.mark.parametrize("request_kwargs, status, message", [
    ({"files": [("files", ("notes.txt", b"hello, not an image", "text/plain"))]}, 400, "Not an image: 'notes.txt'"),
    ({"files": [("image", ("a.png", b"x", "image/png"))]}, 422, "Unknown form field(s) ['image']"),
    ({"files": [("files", (None, "just text"))]}, 422, "must hold files"),
    ({"json": {"images": ["%%%not base64"]}}, 400, "images[0] is not valid base64"),
    ({"json": {"pictures": []}}, 422, "Received: ['pictures']"),
    ({"json": {"texts": ["a text"]}}, 400, "This model takes images"),
    ({"json": {"images": []}}, 422, "No inputs"),
    ({"json": {"images": ["aGk="], "top_k": 0}}, 422, "top_k must be an integer from 1 to 100"),
    ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "Malformed JSON"),
    ({"content": b"raw bytes", "headers": {"content-type": "image/png"}}, 415, "Unsupported content type"),
])
def test_bad_requests_get_a_clear_4xx_and_the_server_keeps_serving(client, request_kwargs, status, message):
    answer = client.post("/predict", **request_kwargs)
    assert answer.status_code == status, answer.text
    assert message in answer.json()["detail"]
    _still_serving(client)


def test_limits_on_batch_and_request_size(client, png_bytes):
    five = [("files", (f"{i}.png", png_bytes(128, seed=i), "image/png")) for i in range(5)]
    answer = client.post("/predict", files=five)
    assert answer.status_code == 413 and "the limit is 4. Received: 5 inputs" in answer.json()["detail"]
    big = [("files", ("big.png", b"\x89PNG" + b"0" * (80 * 1024), "image/png"))]
    answer = client.post("/predict", files=big)
    assert answer.status_code == 413 and "Request too large" in answer.json()["detail"]

    def chunks():  # no Content-Length: the limit is enforced while the body streams in
        for _ in range(20):
            yield b"x" * 8192

    answer = client.post("/predict", content=chunks(), headers={"content-type": "application/json"})
    assert answer.status_code == 413 and "Request too large" in answer.json()["detail"]
    _still_serving(client)
