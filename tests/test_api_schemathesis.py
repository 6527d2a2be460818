"""Schema-driven fuzzing: Schemathesis checks the app against its own OpenAPI document (WSGI)."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from moviegenre.serving.app import create_app

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
    # A form's schema cannot forbid other fields (a form drops unnamed and empty parts on the
    # way), so schema-valid forms may carry one the server refuses with its documented 400.
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case) -> None:
        form = case.media_type == "multipart/form-data"
        case.call_and_validate(excluded_checks=[positive_data_acceptance] if form else None)

    check()


def _full_run(schema) -> tuple[int, list[str], list[str]]:
    """All of Schemathesis' phases, as its command line runs them with `--checks all
    --exclude-checks positive_data_acceptance` (a schema-valid poster may be no image): checks
    passed, failures, errors. No example database: every run starts from its seed alone."""
    from schemathesis.engine import from_schema

    schema.config.generation.update(max_examples=30, database="none")
    names = [n for n in CHECKS if n != "positive_data_acceptance"]
    schema.config.checks.update(
        included_check_names=names, excluded_check_names=["positive_data_acceptance"]
    )
    passed, failures, errors = 0, [], []
    for event in from_schema(schema).execute():
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
    return passed, failures, errors


# every check Schemathesis has (`--checks all`)
CHECKS = [
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_headers_conformance", "response_schema_conformance", "negative_data_rejection",
    "positive_data_acceptance", "missing_required_header", "unsupported_method",
    "use_after_free", "ensure_resource_availability", "ignored_auth",
]  # fmt: skip


def test_full_schemathesis_run_finds_no_failure(api_schema) -> None:
    """A plot-only model (coverage phase included: unsupported methods must answer 405 with
    Allow, boundary values around every constraint)."""
    passed, failures, errors = _full_run(api_schema)
    assert not errors, errors
    assert not failures, "\n".join(failures)
    assert passed > 100, f"only {passed} checks ran"


def test_full_run_on_a_model_that_reads_posters(poster_world) -> None:
    """The JSON and multipart schemas with poster fields agree with the server: a plot, a
    poster or both, a blank plot refused, a poster that is no image a documented 400."""
    from moviegenre.api import load_model

    app = create_app(model=load_model(poster_world.fusion))
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    form = schema.raw_schema["components"]["schemas"]["FormPredictRequest"]
    assert form["minProperties"] == 1 and set(form["properties"]) == {"plot", "poster"}
    passed, failures, errors = _full_run(schema)
    assert not errors, errors
    assert not failures, "\n".join(failures)
    assert passed > 100, f"only {passed} checks ran"
