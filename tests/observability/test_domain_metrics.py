"""The apps' own spans and metrics, as an operator sees them: on /metrics and in
the trace of a request."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from opentelemetry.trace import SpanKind
from prometheus_client.parser import text_string_to_metric_families

from apps.cad.synth import PART_CLASSES, generate_part

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-for-domain-tests-0123456789"


@pytest.fixture(autouse=True)
def _media_and_scrape(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.CADML_PREDICTOR = None
    settings.CADML_METRICS_TOKEN = TOKEN
    settings.CADML_METRICS_ALLOW_CIDRS = []


def analyses(client) -> dict[tuple[str, str], float]:  # type: ignore[no-untyped-def]
    """``cadml_analyses_total`` by (format, outcome), read from /metrics."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    found: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for s in family.samples:
            if s.name == "cadml_analyses_total":
                found[(s.labels["format"], s.labels["outcome"])] = s.value
    return found


def upload(client, content: bytes, name: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/drawings",
        {"file": SimpleUploadedFile(name, content)},
        format="multipart",
    )


def part(seed: int) -> bytes:
    label = PART_CLASSES[seed % len(PART_CLASSES)]
    return generate_part(label, random.Random(seed))


# Runs before the traced tests below switch tracing on for this module.
def test_problem_documents_have_no_trace_id_when_tracing_is_off(client):  # type: ignore[no-untyped-def]
    response = client.get("/api/v2/me")
    assert response["Content-Type"] == "application/problem+json"
    assert "trace_id" not in response.json()
    assert response.json()["request_id"]


def test_an_analysed_upload_is_counted_by_format_and_outcome(client, api_client_a):  # type: ignore[no-untyped-def]
    before = analyses(client).get(("dxf", "ok"), 0.0)

    response = upload(api_client_a, part(11), "part-11.dxf")

    assert response.status_code == 201, response.data
    assert response.data["analysis"]["status"] == "done"
    assert analyses(client).get(("dxf", "ok"), 0.0) == before + 1


def test_a_refused_upload_is_counted_with_its_outcome(client, api_client_a):  # type: ignore[no-untyped-def]
    before = analyses(client)

    response = upload(api_client_a, random.Random(3).randbytes(4096), "junk.dxf")

    assert 400 <= response.status_code < 500
    after = analyses(client)
    grown = {k: v - before.get(k, 0.0) for k, v in after.items() if v != before.get(k)}
    assert len(grown) == 1, grown
    ((_fmt, outcome), delta) = grown.popitem()
    assert outcome != "ok" and delta == 1


def test_an_upload_traces_the_analysis_and_its_stages_under_the_request(
    spans, api_client_a
):  # type: ignore[no-untyped-def]
    response = upload(api_client_a, part(12), "part-12.dxf")

    assert response.status_code == 201, response.data
    finished = spans.get_finished_spans()
    (server,) = [s for s in finished if s.kind == SpanKind.SERVER]
    assert response["X-Trace-ID"] == format(server.context.trace_id, "032x")
    (analyze,) = [s for s in finished if s.name == "cad.analyze"]
    assert analyze.parent.span_id == server.context.span_id
    assert analyze.attributes["cadml.format"] == "dxf"
    stages = {s.name: s for s in finished if s.name.startswith("cad.") and s.parent}
    assert "cad.parse" in stages
    for name, stage in stages.items():
        if name != "cad.analyze":
            assert stage.parent.span_id == analyze.context.span_id, name
            assert stage.context.trace_id == server.context.trace_id


def test_a_v2_problem_document_carries_the_trace_id(spans, client):  # type: ignore[no-untyped-def]
    response = client.get("/api/v2/me", HTTP_X_REQUEST_ID="req-trace-problem-1")

    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["request_id"] == "req-trace-problem-1"
    assert problem["trace_id"] == response["X-Trace-ID"]
    (server,) = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert problem["trace_id"] == format(server.context.trace_id, "032x")
