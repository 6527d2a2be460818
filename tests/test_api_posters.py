"""The predict API with posters: JSON base64 and multipart, every limit and every bad poster."""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib

import numpy as np
import pytest
from PIL import Image
from poster_fixture import poster_image

from moviegenre.api import load_model
from moviegenre.serving.app import create_app
from moviegenre.serving.service import Limits

MAX_BODY_BYTES = Limits().max_body_bytes


def poster_bytes(genres=("Horror",), fmt="JPEG") -> bytes:
    buffer = io.BytesIO()
    poster_image(list(genres), np.random.default_rng(3)).save(buffer, format=fmt)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.fixture(scope="module")
def client(poster_world):
    model = load_model(poster_world.fusion)
    model.poster_weight = 0.3  # see test_posters.py: let the poster show through
    return create_app(model=model).test_client()


def post(client, body):
    return client.post("/api/v1/predict", data=json.dumps(body), content_type="application/json")


def error(response, status):
    assert response.status_code == status, response.data[:300]
    body = response.get_json()
    assert set(body) == {"error"} and "\n" not in body["error"]["message"]
    return body["error"]["message"]


def test_poster_alone_plot_alone_and_both(client):
    plot = "A haunted house where a demon makes them scream."
    alone = post(client, {"plot": plot}).get_json()
    assert alone["inputs"] == ["plot"]
    poster = post(client, {"poster": b64(poster_bytes(["Comedy"]))}).get_json()
    assert poster["inputs"] == ["poster"] and poster["genres"][0] == "Comedy"
    assert poster["truncated"] is False
    both = post(client, {"plot": plot, "poster": b64(poster_bytes(["Comedy"]))})
    body = both.get_json()
    assert both.status_code == 200 and body["inputs"] == ["plot", "poster"]
    assert list(body) == [
        "genres", "scores", "thresholds", "model", "truncated", "warnings", "inputs", "language"
    ]  # fmt: skip
    # each answer carries the thresholds it was decided with
    assert body["thresholds"] != alone["thresholds"] or body["scores"] != alone["scores"]


def test_data_url_prefix_and_formats(client):
    for fmt, mime in (("PNG", "image/png"), ("WEBP", "image/webp"), ("JPEG", "image/jpeg")):
        url = f"data:{mime};base64," + b64(poster_bytes(["Horror"], fmt))
        body = post(client, {"poster": url}).get_json()
        assert body["inputs"] == ["poster"] and body["genres"][0] == "Horror", fmt


def test_multipart_form_with_plot_and_poster(client):
    data = {"plot": "Aliens and a robot on a spaceship.",
            "poster": (io.BytesIO(poster_bytes(["Science Fiction"])), "poster.jpg")}  # fmt: skip
    response = client.post("/api/v1/predict", data=data, content_type="multipart/form-data")
    assert response.status_code == 200, response.data[:300]
    assert response.get_json()["inputs"] == ["plot", "poster"]
    only = {"poster": (io.BytesIO(poster_bytes(["Comedy"])), "p.jpg")}
    response = client.post("/api/v1/predict", data=only, content_type="multipart/form-data")
    assert response.get_json()["inputs"] == ["poster"]
    # a blank plot is refused beside a poster too, as in JSON and as the OpenAPI document says
    blank = {"poster": (io.BytesIO(poster_bytes(["Comedy"])), "p.jpg"), "plot": " "}
    response = client.post("/api/v1/predict", data=blank, content_type="multipart/form-data")
    assert "empty or only whitespace" in error(response, 400)
    form = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert form["FormPredictRequest"]["minProperties"] == 1  # a plot, a poster or both
    response = client.post("/api/v1/predict", data={"plot": "A ghost."},
                           content_type="multipart/form-data")  # fmt: skip
    assert response.get_json()["inputs"] == ["plot"]


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"poster": "@@not base64@@"}, 400, "base64"),
        ({"poster": 42}, 400, "base64 string"),
        ({"poster": ""}, 400, "empty"),
        ({"poster": b64(b"just some text")}, 400, "not an image"),
        ({"poster": b64(poster_bytes()[:300])}, 400, "truncated or corrupt"),
        ({"plot": "x", "poster": b64(poster_bytes()), "explain": True, "extra": 1}, 400, "unknown"),
        ({"poster": b64(poster_bytes()), "explain": True}, 400, "plot"),
        ({}, 400, "missing"),
    ],
)
def test_bad_posters_are_4xx_with_a_message(client, body, status, says):
    assert says in error(post(client, body), status)


def _png_bomb(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 99))


def test_decompression_bomb_and_oversize_poster_are_413(client):
    assert "megapixels" in error(post(client, {"poster": b64(_png_bomb(30000, 30000))}), 413)
    too_big = b"\xff\xd8" + bytes(10 * 1024 * 1024)
    assert "10 MB" in error(post(client, {"poster": b64(too_big)}), 413)
    files = {"poster": (io.BytesIO(too_big), "big.jpg")}
    response = client.post("/api/v1/predict", data=files, content_type="multipart/form-data")
    assert "10 MB" in error(response, 413)
    over = b"x" * (15 * 1024 * 1024)
    response = client.post("/api/v1/predict", data=over, content_type="application/json")
    error(response, 413)


def test_one_megabyte_limit_stays_without_a_poster_and_lifts_with_one(client):
    message = error(post(client, {"plot": "word " * 300_000}), 413)
    assert "poster" in message
    noisy = np.random.default_rng(0).integers(0, 255, (700, 700, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noisy).save(buffer, format="PNG")
    assert len(buffer.getvalue()) > MAX_BODY_BYTES  # a poster over the plain body limit
    response = post(client, {"plot": "A ghost.", "poster": b64(buffer.getvalue())})
    assert response.status_code == 200 and response.get_json()["inputs"] == ["plot", "poster"]


def test_large_bodies_wait_for_a_slot_then_get_503(poster_world):
    # limits come from the app's config: two slots, a short wait
    app = create_app(
        model=load_model(poster_world.fusion),
        config={"MAX_LARGE_BODIES": 2, "LARGE_BODY_WAIT_S": 0.05},
    )
    client = app.test_client()
    slots = app.extensions["moviegenre.limits"].large_bodies
    taken = 0
    while slots.acquire(blocking=False):
        taken += 1
    try:
        big = {"plot": "A ghost.", "poster": b64(poster_bytes()) + " " * MAX_BODY_BYTES}
        error(post(client, big), 503)
        small = post(client, {"poster": b64(poster_bytes())})
        assert small.status_code == 200  # small bodies never wait
    finally:
        for _ in range(taken):
            slots.release()
    assert taken == 2


def test_a_plot_only_model_refuses_posters_and_does_not_document_them(tfidf_client):
    with_plot = post(tfidf_client, {"plot": "A ghost.", "poster": b64(poster_bytes())})
    assert "plots only" in error(with_plot, 400)
    assert "plots only" in error(post(tfidf_client, {"poster": b64(poster_bytes())}), 400)
    assert post(tfidf_client, {"plot": "A ghost."}).get_json()["inputs"] == ["plot"]
    spec = tfidf_client.get("/api/v1/openapi.json").get_json()
    assert "poster" not in spec["components"]["schemas"]["SinglePredictRequest"]["properties"]


def test_model_info_and_openapi_describe_posters(client):
    info = client.get("/api/v1/model").get_json()
    assert info["inputs"] == ["plot", "poster"]
    spec = client.get("/api/v1/openapi.json").get_json()
    body = spec["paths"]["/api/v1/predict"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(body)
    single = spec["components"]["schemas"]["SinglePredictRequest"]
    assert "poster" in single["properties"]
    responses = spec["paths"]["/api/v1/predict"]["post"]["responses"]
    assert "503" in responses and "10 MB" in json.dumps(responses["413"])


def test_unknown_and_nameless_form_parts_are_a_400(tfidf_client):
    # a part without a name comes as the key None beside named ones: never a 500
    boundary = "b0undary"
    parts = [("form-data", "x"), ('form-data; name="genre"', "Horror"),
             ('form-data; name="plot"', "A ghost haunts a house.")]  # fmt: skip
    body = "".join(f"--{boundary}\r\nContent-Disposition: {d}\r\n\r\n{v}\r\n" for d, v in parts)
    response = tfidf_client.post(
        "/api/v1/predict", data=(body + f"--{boundary}--\r\n").encode(),
        content_type=f"multipart/form-data; boundary={boundary}",
    )  # fmt: skip
    assert response.status_code == 400
    message = response.get_json()["error"]["message"]
    assert "a field without a name" in message and "'genre'" in message


def test_busy_decode_gate_is_a_json_503_with_retry_after(client, monkeypatch):
    from moviegenre.images import reader

    gate = reader.DecodeGate(slots=1, wait_s=0.01)
    monkeypatch.setattr(reader, "DECODE_GATE", gate)
    monkeypatch.setattr(reader, "GATED_PIXELS", 0)
    with gate.slot():  # another request holds the only slot
        response = post(client, {"poster": b64(poster_bytes())})
        message = error(response, 503)
        page = client.post("/", data={"plot": "", "poster": (io.BytesIO(poster_bytes()), "p.jpg")})
    assert "busy" in message
    assert int(response.headers["Retry-After"]) >= 1
    assert page.status_code == 503 and int(page.headers["Retry-After"]) >= 1
    assert post(client, {"poster": b64(poster_bytes())}).status_code == 200
