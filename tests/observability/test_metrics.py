from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from cadml import metrics

TOKEN = "scrape-token-for-tests-0123456789"


def samples(body: bytes) -> dict[str, list]:  # type: ignore[type-arg]
    found: dict[str, list] = {}  # type: ignore[type-arg]
    for family in text_string_to_metric_families(body.decode()):
        found.setdefault(family.name, []).extend(family.samples)
    return found


@pytest.fixture
def metrics_token(settings):  # type: ignore[no-untyped-def]
    settings.CADML_METRICS_TOKEN = TOKEN
    settings.CADML_METRICS_ALLOW_CIDRS = []
    return TOKEN


@pytest.mark.django_db
def test_metrics_refuse_a_scraper_without_the_token(client, metrics_token):  # type: ignore[no-untyped-def]
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert "CADML_METRICS_TOKEN" in response.json()["detail"]

    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert wrong.status_code == 401


@pytest.mark.django_db
def test_metrics_are_closed_when_nothing_is_configured(client, settings):  # type: ignore[no-untyped-def]
    settings.CADML_METRICS_TOKEN = ""
    settings.CADML_METRICS_ALLOW_CIDRS = []
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 403
    assert "CADML_METRICS_ALLOW_CIDRS" in response.json()["detail"]


@pytest.mark.django_db
def test_an_allow_listed_network_scrapes_without_a_token(client, settings):  # type: ignore[no-untyped-def]
    settings.CADML_METRICS_TOKEN = ""
    settings.CADML_METRICS_ALLOW_CIDRS = ["10.0.0.0/8", "127.0.0.0/8"]
    assert client.get("/metrics").status_code == 200
    settings.CADML_METRICS_ALLOW_CIDRS = ["10.0.0.0/8"]
    assert client.get("/metrics").status_code == 403


@pytest.mark.django_db
def test_metrics_show_requests_by_route_and_the_domain_metrics(
    client, api_client_a, metrics_token
):  # type: ignore[no-untyped-def]
    for _ in range(3):
        assert api_client_a.get("/api/v1/me").status_code == 200
    assert client.get("/api/v1/me").status_code in (401, 403)
    client.get("/no/such/page/12345")
    metrics.observe_analysis(
        format="dxf", outcome="ok", timings={"parse_ms": 12.0, "total_ms": 30.0}
    )

    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    found = samples(response.content)
    requests = {
        (s.labels["route"], s.labels["method"], s.labels["status"]): s.value
        for s in found["cadml_http_requests"]
        if s.name == "cadml_http_requests_total"
    }
    assert requests[("api/v1/me", "GET", "200")] >= 3
    # Unknown paths share one label: a scanner cannot create series.
    assert ("<unmatched>", "GET", "404") in requests
    assert not any("no/such" in route for route, _, _ in requests)
    latency = [
        s
        for s in found["cadml_http_request_duration_seconds"]
        if s.name.endswith("_bucket") and s.labels["route"] == "api/v1/me"
    ]
    assert {s.labels["le"] for s in latency} >= {"0.5", "+Inf"}
    assert any(
        s.labels == {"format": "dxf", "outcome": "ok"} and s.value >= 1
        for s in found["cadml_analyses"]
    )
    stages = {
        s.labels["stage"]
        for s in found["cadml_analysis_stage_duration_seconds"]
        if s.name.endswith("_count")
    }
    assert {"parse", "total"} <= stages
    # Every domain family is exposed for dashboards, even before first use.
    for name in (
        "cadml_predictions",
        "cadml_prediction_duration_seconds",
        "cadml_batch_jobs",
        "cadml_batch_items",
        "cadml_batch_queue_depth",
        "cadml_ws_connections",
        "cadml_ws_events",
        "cadml_audit_events",
        "cadml_audit_seal_lag_seconds",
        "cadml_model_reloads",
        "cadml_grpc_requests",
    ):
        assert name in found, name
