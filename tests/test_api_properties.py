"""Hypothesis properties of the JSON API: no input gives a 5xx, every 4xx has the error body."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(["plot", "plots", "explain", "extra", "Plot", ""])
near_valid = st.dictionaries(field_names, json_values | st.text() | st.lists(st.text()), max_size=3)


def check_answer(response) -> None:
    assert response.status_code < 500, response.data[:300]
    assert response.mimetype == "application/json"
    body = response.get_json()
    if response.status_code >= 400:
        assert set(body) == {"error"}
        assert isinstance(body["error"]["code"], str)
        assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    else:
        assert "genres" in body or "results" in body


@SETTINGS
@given(body=json_values | near_valid)
def test_any_json_body_gets_a_clean_answer(tfidf_client, body) -> None:
    check_answer(
        tfidf_client.post("/api/v1/predict", data=json.dumps(body), content_type="application/json")
    )


@SETTINGS
@given(raw=st.binary(max_size=200))
def test_any_bytes_get_a_clean_answer(tfidf_client, raw: bytes) -> None:
    check_answer(tfidf_client.post("/api/v1/predict", data=raw, content_type="application/json"))


@SETTINGS
@given(plot=st.text(min_size=1, max_size=300).filter(lambda s: not s.isspace()))
def test_any_unicode_plot_is_predicted(tfidf_client, plot: str) -> None:
    response = tfidf_client.post("/api/v1/predict", json={"plot": plot})
    assert response.status_code == 200, response.data[:300]
    body = response.get_json()
    assert set(body["scores"]) == set(body["thresholds"])
    assert all(0.0 <= p <= 1.0 for p in body["scores"].values())


@SETTINGS
@given(plots=st.lists(st.text(min_size=1, max_size=80).filter(lambda s: not s.isspace()),
                      min_size=1, max_size=8))  # fmt: skip
def test_batch_answers_match_single_answers(tfidf_client, plots: list[str]) -> None:
    batch = tfidf_client.post("/api/v1/predict", json={"plots": plots}).get_json()["results"]
    assert len(batch) == len(plots)
    for plot, result in zip(plots, batch, strict=True):
        single = tfidf_client.post("/api/v1/predict", json={"plot": plot}).get_json()
        assert result["genres"] == single["genres"]
        assert result["scores"] == pytest.approx(single["scores"], abs=1e-4)


@SETTINGS
@given(plot=st.text(min_size=1, max_size=120))
def test_web_form_never_fails_and_escapes(tfidf_client, plot: str) -> None:
    response = tfidf_client.post("/", data={"plot": plot})
    assert response.status_code in (200, 400)
    assert "<script>" not in response.get_data(as_text=True).replace(
        '<script src="/static/app.js" defer></script>', ""
    )
