from __future__ import annotations

import pytest
from opentelemetry.trace import SpanKind

from cadml import telemetry


def server_spans(exporter):  # type: ignore[no-untyped-def]
    return [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]


@pytest.mark.django_db
def test_a_rest_request_yields_a_server_span_with_our_attributes(
    spans, api_client_a, tenant_a
):  # type: ignore[no-untyped-def]
    response = api_client_a.get("/api/v1/me", HTTP_X_REQUEST_ID="req-observe-0001")

    assert response.status_code == 200
    (server,) = server_spans(spans)
    assert server.name == "GET api/v1/me"
    assert server.attributes["http.route"] == "api/v1/me"
    assert server.attributes["cadml.request_id"] == "req-observe-0001"
    assert server.attributes["cadml.tenant"] == tenant_a.slug
    assert server.attributes["cadml.api_version"] == "v1"
    # The client can quote the trace id to support.
    assert response["X-Trace-ID"] == format(server.context.trace_id, "032x")
    # Database work shows up as children of the request (psycopg is instrumented;
    # the embedded SQLite database is not).
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    children = [
        s
        for s in spans.get_finished_spans()
        if s.parent is not None and s.context.trace_id == server.context.trace_id
    ]
    assert children, "no child spans (database) under the request"


@pytest.mark.django_db
def test_probes_are_not_traced(spans, client):  # type: ignore[no-untyped-def]
    assert client.get("/healthz").status_code == 200
    assert server_spans(spans) == []


def test_span_helper_nests_under_the_current_span(spans):  # type: ignore[no-untyped-def]
    with telemetry.span("batch.item", item_id=7, **{"model.version": "3"}) as outer:
        trace_id = telemetry.current_trace_id()
        with telemetry.span("cad.parse", format="dxf", entities=120):
            pass
    parse, item = spans.get_finished_spans()
    assert (parse.name, item.name) == ("cad.parse", "batch.item")
    assert parse.parent.span_id == item.context.span_id
    assert trace_id == format(outer.get_span_context().trace_id, "032x")
    assert dict(parse.attributes) == {"cadml.format": "dxf", "cadml.entities": 120}
    assert item.attributes["model.version"] == "3"


def test_stage_spans_lay_out_pipeline_timings(spans):  # type: ignore[no-untyped-def]
    with telemetry.span("cad.analyze"):
        telemetry.stage_spans(
            "cad",
            {"parse_ms": 10.0, "features_ms": 5.0, "total_ms": 15.0},
            started_ns=1_000_000_000,
            format="dxf",
        )
    parse, features, analyze = spans.get_finished_spans()
    assert [parse.name, features.name] == ["cad.parse", "cad.features"]
    assert parse.end_time - parse.start_time == 10_000_000
    assert features.start_time == parse.end_time
    assert parse.parent.span_id == analyze.context.span_id


@pytest.mark.django_db(transaction=True)
def test_a_batch_item_traces_its_claim_and_finish_statements(spans, tenant_a, settings):  # type: ignore[no-untyped-def]
    from django.db import connection

    from apps.batch import runner, submission
    from apps.cad.services import drawing_create
    from tests.batch.conftest import files, wait_for_job

    if connection.vendor != "postgresql":
        pytest.skip("the claim and finish statements are PostgreSQL's")
    settings.CELERY_BROKER_URL = None  # the in-process pool
    (name, content) = files(1)[0]
    drawing = drawing_create(
        tenant=tenant_a, uploaded_by=None, name=name, content=content
    ).drawing
    job, _ = submission.job_submit(tenant=tenant_a, user=None, drawing_ids=[drawing.pk])
    wait_for_job(job.pk)
    runner.wait_idle()

    finished = spans.get_finished_spans()
    item = next(s for s in finished if s.name == "batch.item")
    children = {
        s.name: s
        for s in finished
        if s.parent and s.parent.span_id == item.context.span_id
    }
    assert {"batch.sql.claim", "cad.analyze", "batch.sql.finish"} <= set(children)
    assert children["batch.sql.finish"].attributes["db.system"] == "postgresql"
    assert children["batch.sql.claim"].end_time <= children["cad.analyze"].start_time
