"""Schema-driven fuzzing: Schemathesis checks the app against its own OpenAPI document (WSGI)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed")

from moviegenre.serving.app import create_app  # noqa: E402

MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]


@pytest.fixture(scope="module")
def api_schema(tfidf_bundle: Path):
    app = create_app(model_path=tfidf_bundle)
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.mark.parametrize(
    ("label", "mode"),
    [
        ("POST /api/v1/predict", MODES[0]),
        ("POST /api/v1/predict", MODES[1]),  # GETs without parameters have no negative data
        ("GET /api/v1/model", MODES[0]),
        ("GET /healthz", MODES[0]),
    ],
    ids=["predict-positive", "predict-negative", "model", "healthz"],
)
def test_api_conforms_to_its_openapi_document(api_schema, label: str, mode) -> None:
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None, f"{label} is missing from the OpenAPI document"

    # Positive data must be accepted (200) and negative data rejected with a documented 4xx;
    # every response must match its documented status code, content type and schema; no 5xx.
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case) -> None:
        case.call_and_validate()

    check()


def test_full_schemathesis_run_finds_no_failure(api_schema) -> None:
    """All of Schemathesis' phases, as its command line runs them (coverage phase included:
    unsupported methods must answer 405 with Allow, boundary values around every constraint)."""
    from schemathesis.engine import from_schema

    api_schema.config.generation.update(max_examples=30)
    passed, failures, errors = 0, [], []
    for event in from_schema(api_schema).execute():
        name = type(event).__name__
        if name in ("NonFatalError", "FatalError"):
            errors.append(repr(event))
        if name != "ScenarioFinished":
            continue
        for checks in event.recorder.checks.values():
            for check in checks:
                if check.status.name == "FAILURE":
                    failure = check.failure_info.failure
                    failures.append(f"{check.name}: {failure.title}: {failure.message[:300]}")
                elif check.status.name == "SUCCESS":
                    passed += 1
    assert not errors, errors
    assert not failures, "\n".join(failures)
    assert passed > 100, f"only {passed} checks ran"
