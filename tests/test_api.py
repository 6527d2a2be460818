"""JSON API tests with the Flask test client: answers, every bad input, headers, JSON 404/405."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moviegenre.api import load_model, predict
from moviegenre.serving.app import SECURITY_HEADERS, create_app
from moviegenre.serving.service import Limits

MAX_BATCH = Limits().max_batch


@pytest.fixture(scope="module")
def model(tfidf_bundle: Path):
    return load_model(tfidf_bundle)


def post(client, body, content_type="application/json"):
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post("/api/v1/predict", data=data, content_type=content_type)


def assert_error(response, status: int) -> str:
    assert response.status_code == status, response.data[:300]
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert set(error) == {"code", "message"}
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    return error["message"]


def test_single_plot_matches_the_python_api(tfidf_client, model):
    plot = "A haunted house, a demon and a scream in the night."
    response = post(tfidf_client, {"plot": plot})
    assert response.status_code == 200
    body = response.get_json()
    assert list(body) == ["genres", "scores", "thresholds", "model", "truncated", "warnings",
                          "inputs", "language"]  # fmt: skip
    assert body["inputs"] == ["plot"]
    expected = predict(plot, model)
    assert body["genres"] == expected.genres
    assert body["scores"] == expected.scores
    assert body["truncated"] is False
    assert body["warnings"] == expected.warnings == []
    assert "Horror" in body["genres"]
    assert body["model"]["type"] == "tfidf"


def test_genres_are_exactly_those_at_or_above_threshold(tfidf_client, model):
    body = post(tfidf_client, {"plot": "love kiss wedding in the city"}).get_json()
    assert body["thresholds"] == {
        label: pytest.approx(float(t), abs=1e-4)
        for label, t in zip(model.labels, model.thresholds, strict=True)
    }
    above = {g for g, p in body["scores"].items() if p >= body["thresholds"][g] - 1e-4}
    assert set(body["genres"]) <= above
    assert body["genres"], "min_genres=1: at least one genre"
    scores = [body["scores"][g] for g in body["genres"]]
    assert scores == sorted(scores, reverse=True)


def test_batch_keeps_input_order(tfidf_client, model):
    plots = ["ghost haunted blood", "love kiss wedding", "alien spaceship robot", "prank funny"]
    body = post(tfidf_client, {"plots": plots}).get_json()
    assert len(body["results"]) == len(plots)
    for plot, result in zip(plots, body["results"], strict=True):
        assert result == predict(plot, model).to_dict()
    reversed_body = post(tfidf_client, {"plots": plots[::-1]}).get_json()
    assert reversed_body["results"] == body["results"][::-1]


def test_batch_limits(tfidf_client):
    assert post(tfidf_client, {"plots": ["x"] * MAX_BATCH}).status_code == 200
    assert "1 to 256" in assert_error(post(tfidf_client, {"plots": ["x"] * (MAX_BATCH + 1)}), 400)
    assert_error(post(tfidf_client, {"plots": []}), 400)


@pytest.mark.parametrize(
    "body",
    [
        {"plot": ""},
        {"plot": "   \n\t "},
        {},
        {"plot": None},
        {"plot": 42},
        {"plot": ["a plot"]},
        {"plot": "ok", "extra": 1},
        {"plot": "ok", "explain": "yes"},
        {"plot": "ok", "plots": ["ok"]},
        {"plots": "not a list"},
        {"plots": ["fine", ""]},
        {"plots": ["fine", 3]},
        {"plots": ["ok"], "explain": True},
        [],
        "a plot",
        None,
    ],
)
def test_bad_bodies_get_400_saying_what_to_send(tfidf_client, body):
    message = assert_error(post(tfidf_client, body), 400)
    assert '"plot"' in message or "plot" in message


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b'{"plot": "unterminated', b"\xff\xfe\x00", b'{"plot": "caf\xe9"}', b"[" * 50_000],
)
def test_undecodable_bodies_get_400(tfidf_client, raw):
    assert_error(post(tfidf_client, raw), 400)


def test_non_utf8_message_names_the_problem(tfidf_client):
    assert "UTF-8" in assert_error(post(tfidf_client, b'{"plot": "caf\xe9"}'), 400)


def test_missing_field_message(tfidf_client):
    assert "missing" in assert_error(post(tfidf_client, {"explain": True}), 400)


def test_wrong_content_type_is_415(tfidf_client):
    assert "application/json" in assert_error(
        post(tfidf_client, b'{"plot": "x"}', "text/plain"), 415
    )


def test_body_over_1mb_is_413(tfidf_client):
    response = post(tfidf_client, {"plot": "word " * 300_000})
    assert_error(response, 413)


@pytest.mark.parametrize("plot", ["!", "...?!", "\u2603", "0", "<>", "\x00 nul"])
def test_any_non_blank_plot_is_accepted(tfidf_client, plot):
    # a plot the model cannot read at all is still answered: no genre, scores, and warnings
    response = post(tfidf_client, {"plot": plot})
    assert response.status_code == 200
    body = response.get_json()
    assert body["genres"] == [] and len(body["scores"]) == len(body["thresholds"])
    assert [w["code"] for w in body["warnings"]][:1] == ["unknown_words"]


def test_long_plot_is_marked_truncated(tfidf_bundle):
    model = load_model(tfidf_bundle, runtime="native")
    short = type("ShortReader", (type(model),), {"max_words": property(lambda self: 5)})
    model.__class__ = short  # the TF-IDF model reads everything; pretend it reads 5 words
    client = create_app(model=model).test_client()
    assert post(client, {"plot": "one two three four five"}).get_json()["truncated"] is False
    assert post(client, {"plot": "one two three four five six"}).get_json()["truncated"] is True
    body = post(client, {"plots": ["a b", "a b c d e f g"]}).get_json()
    assert [r["truncated"] for r in body["results"]] == [False, True]


def test_model_endpoint(tfidf_client, model):
    response = tfidf_client.get("/api/v1/model")
    assert response.status_code == 200
    info = response.get_json()
    assert info["labels"] == model.labels
    assert set(info["thresholds"]) == set(model.labels)
    assert info["model_type"] == "tfidf"
    assert info["fingerprint"] == model.metadata["fingerprint"]
    assert "valid" in info["metrics"]
    assert info["version"]


def test_healthz(tfidf_client):
    response = tfidf_client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v2/predict", "/api/", "/healthz/x"])
def test_unknown_api_paths_are_json_404(tfidf_client, path):
    assert_error(tfidf_client.get(path), 404)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/api/v1/predict", "POST"),
        ("PUT", "/api/v1/predict", "POST"),
        ("DELETE", "/api/v1/model", "GET"),
        ("POST", "/healthz", "GET"),
        ("PATCH", "/api/v1/openapi.json", "GET"),
    ],
)
def test_wrong_method_is_json_405_with_allow(tfidf_client, method, path, allow):
    response = tfidf_client.open(path, method=method)
    assert_error(response, 405)
    assert allow in response.headers["Allow"]


@pytest.mark.parametrize(
    "request_args",
    [
        ("GET", "/", None),
        ("GET", "/healthz", None),
        ("GET", "/api/v1/model", None),
        ("POST", "/api/v1/predict", {"plot": "ghost"}),
        ("POST", "/api/v1/predict", {"plot": ""}),
        ("GET", "/api/nope", None),
        ("GET", "/static/style.css", None),
        ("GET", "/no-such-page", None),
    ],
)
def test_security_headers_on_every_response(tfidf_client, request_args):
    method, path, body = request_args
    response = tfidf_client.open(path, method=method, json=body)
    for header, value in SECURITY_HEADERS.items():
        assert response.headers[header] == value
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


def test_plot_text_is_never_echoed_as_markup(tfidf_client):
    plot = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    response = post(tfidf_client, {"plot": plot})
    assert response.status_code == 200
    assert response.mimetype == "application/json"


def test_model_is_loaded_once(tfidf_bundle, monkeypatch):
    import moviegenre.api as api_module

    calls = []
    real = api_module.load_model
    monkeypatch.setattr(api_module, "load_model", lambda *a, **k: calls.append(1) or real(*a, **k))
    client = create_app(model_path=tfidf_bundle).test_client()
    for _ in range(3):
        assert post(client, {"plot": "ghost"}).status_code == 200
        assert client.get("/").status_code == 200
    assert calls == [1]


def test_default_model_is_used_without_arguments(model, monkeypatch):
    import moviegenre.api as api_module

    monkeypatch.setattr(api_module, "load_model", lambda path=None: model if path is None else None)
    client = create_app().test_client()
    assert client.get("/api/v1/model").get_json()["labels"] == model.labels


def test_openapi_document_states_the_constraints(tfidf_client, model):
    doc = tfidf_client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    schemas = doc["components"]["schemas"]
    single, batch = schemas["SinglePredictRequest"], schemas["BatchPredictRequest"]
    assert single["additionalProperties"] is False and batch["additionalProperties"] is False
    assert single["properties"]["plot"]["pattern"] == r"\S"
    assert single["properties"]["explain"]["type"] == "boolean"
    assert batch["properties"]["plots"]["maxItems"] == MAX_BATCH
    assert batch["properties"]["plots"]["minItems"] == 1
    responses = doc["paths"]["/api/v1/predict"]["post"]["responses"]
    assert {"200", "400", "404", "405", "413", "415", "500"} <= set(responses)
    assert "Allow" in responses["405"]["headers"]
    assert set(schemas["Scores"]["required"]) == set(model.labels)
    assert schemas["Error"]["properties"]["error"]["required"] == ["code", "message"]


def test_explanation_on_request(tfidf_client, model):
    from moviegenre.text.tokenizer import plot_words

    plot = "A ghost haunts the old house, and blood runs."
    body = post(tfidf_client, {"plot": plot, "explain": True}).get_json()
    explanation = body["explanation"]
    assert set(body["genres"]) <= set(explanation)
    for pairs in explanation.values():
        assert [word for word, _ in pairs] == plot_words(plot)
        assert all(isinstance(weight, float | int) for _, weight in pairs)
    assert "explanation" not in post(tfidf_client, {"plot": plot}).get_json()
    assert "explanation" not in post(tfidf_client, {"plot": plot, "explain": False}).get_json()


def test_long_plot_explanation_says_how_much_was_explained(tfidf_client):
    from moviegenre.explain import occlusion

    limit = occlusion.MAX_OCCLUDED_WORDS
    plot = " ".join(["ghost", "love", "city"] * limit)
    body = post(tfidf_client, {"plot": plot, "explain": True}).get_json()
    info = body["explanation_info"]
    assert info["truncated"] is True
    assert info["total_words"] == 3 * limit
    assert info["explained_words"] == limit
    assert all(len(pairs) == limit for pairs in body["explanation"].values())


def test_a_model_failure_is_a_json_500_without_details(tfidf_bundle):
    model = load_model(tfidf_bundle)

    class Broken(type(model)):
        def predict_proba(self, plots):
            raise RuntimeError("secret internal detail")

    model.__class__ = Broken
    client = create_app(model=model).test_client()
    message = assert_error(post(client, {"plot": "ghost"}), 500)
    assert "secret" not in message
    page = client.post("/", data={"plot": "ghost"})
    assert page.status_code == 500 and "secret" not in page.get_data(as_text=True)
