"""Prometheus metrics: every metric object of the platform, the request-metrics
middleware, the gRPC metrics interceptor and the protected ``/metrics`` view.

Apps import the objects from here (``from cadml import metrics``) so names,
labels and buckets are decided in one place and dashboards and alert rules can
rely on them. Label values must come from small closed sets (formats, outcomes,
statuses, route templates), never from ids or user input.

Processes: daphne serves ``/metrics`` itself. Celery workers (prefork: many
processes) run with ``PROMETHEUS_MULTIPROC_DIR`` (an empty directory at start,
e.g. a tmpfs; it must exist before this module is imported) and the worker's main
process serves the aggregate of its pool on its own port, ``CADML_METRICS_PORT``.
The gRPC server is one process: ``CADML_METRICS_PORT`` alone. Several daphne
processes sharing a multiprocess directory are aggregated by ``/metrics``.
"""

from __future__ import annotations

import hmac
import inspect
import ipaddress
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from cadml import telemetry

logger = logging.getLogger(__name__)

# Request latencies: 0.5 s is the analyze SLO threshold and must be a bucket edge.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
STAGE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

# --- HTTP and gRPC ---------------------------------------------------------
http_requests = Counter(
    "cadml_http_requests",
    "HTTP requests by route template, method and status.",
    ["route", "method", "status", "api_version"],
)
http_request_duration = Histogram(
    "cadml_http_request_duration_seconds",
    "HTTP request latency by route template and method.",
    ["route", "method", "api_version"],
    buckets=LATENCY_BUCKETS,
)
http_requests_in_progress = Gauge(
    "cadml_http_requests_in_progress",
    "HTTP requests being served.",
    multiprocess_mode="livesum",
)
grpc_requests = Counter(
    "cadml_grpc_requests",
    "gRPC calls by service, method and status code.",
    ["service", "method", "code"],
)
grpc_request_duration = Histogram(
    "cadml_grpc_request_duration_seconds",
    "gRPC call latency by service and method.",
    ["service", "method"],
    buckets=LATENCY_BUCKETS,
)

# --- CAD analyses (apps.cad) -------------------------------------------------
analyses = Counter(
    "cadml_analyses",
    "File analyses by detected format and outcome (ok, invalid, unsupported, "
    "too_large, timeout, error).",
    ["format", "outcome"],
)
analysis_stage_duration = Histogram(
    "cadml_analysis_stage_duration_seconds",
    "Time per analysis stage (parse, walk, features, text, preview, predict, total).",
    ["format", "stage"],
    buckets=STAGE_BUCKETS,
)
analysis_entities = Histogram(
    "cadml_analysis_entities",
    "Entities (DXF) or faces (mesh) per analysed file.",
    ["format"],
    buckets=(10, 100, 1_000, 10_000, 100_000, 1_000_000),
)

# --- Model registry (apps.modelreg) -------------------------------------------
predictions = Counter(
    "cadml_predictions",
    "Predictions by model, version and variant (active, candidate, shadow).",
    ["model", "version", "variant"],
)
prediction_duration = Histogram(
    "cadml_prediction_duration_seconds",
    "Prediction latency by model, version and variant.",
    ["model", "version", "variant"],
    buckets=STAGE_BUCKETS,
)
model_reloads = Counter(
    "cadml_model_reloads",
    "Model reloads in this process by model and outcome (ok, failed).",
    ["model", "outcome"],
)
model_health_checks = Counter(
    "cadml_model_health_checks",
    "Model health checks by model and outcome (passed, failed).",
    ["model", "outcome"],
)
model_feedback = Counter(
    "cadml_model_feedback",
    "Corrections of predictions by model, version and outcome (correct, wrong).",
    ["model", "version", "outcome"],
)
model_rollbacks = Counter(
    "cadml_model_rollbacks",
    "Model rollbacks by model and trigger (manual, auto).",
    ["model", "trigger"],
)
model_active_version = Gauge(
    "cadml_model_active_version_info",
    "1 for the version this process serves for each model.",
    ["model", "version"],
    multiprocess_mode="max",
)

# --- Rate limits: apps.ratelimit defines its own counters next to the limiter
# (cadml_ratelimit_decisions_total{scope, outcome=allowed|blocked|shadow_blocked},
# cadml_ratelimit_fallback_total, cadml_ratelimit_redis_errors_total); they are in
# the same default registry and the dashboards and alerts use those names.

# --- Batch (apps.batch) ---------------------------------------------------------
batch_jobs = Counter(
    "cadml_batch_jobs",
    "Batch jobs reaching a status (submitted, completed, failed, cancelled).",
    ["status"],
)
batch_items = Counter(
    "cadml_batch_items",
    "Batch items reaching a status (succeeded, failed, cancelled, retried).",
    ["status"],
)
batch_item_duration = Histogram(
    "cadml_batch_item_duration_seconds",
    "Time to process one batch item in a worker.",
    buckets=STAGE_BUCKETS,
)
batch_queue_depth = Gauge(
    "cadml_batch_queue_depth",
    "Batch items waiting to be processed, by queue (set by a periodic task).",
    ["queue"],
    multiprocess_mode="mostrecent",
)
batch_stuck_items = Gauge(
    "cadml_batch_stuck_items",
    "Items running longer than the stuck threshold (set by a periodic task).",
    multiprocess_mode="mostrecent",
)

# --- Celery tasks (all apps; recorded by signals in cadml.telemetry) -----------
celery_tasks = Counter(
    "cadml_celery_tasks",
    "Celery tasks finished in workers, by task name and state (SUCCESS, FAILURE, "
    "RETRY).",
    ["task", "state"],
)
celery_task_duration = Histogram(
    "cadml_celery_task_duration_seconds",
    "Run time of Celery tasks in workers, by task name.",
    ["task"],
    buckets=STAGE_BUCKETS,
)

# --- Realtime (apps.realtime) -------------------------------------------------
ws_connections = Gauge(
    "cadml_ws_connections",
    "Open WebSocket connections.",
    multiprocess_mode="livesum",
)
ws_connection_limit = Gauge(
    "cadml_ws_connection_limit",
    "WebSocket connections this process can hold at most (its open-file limit).",
    multiprocess_mode="livesum",
)
ws_connects = Counter(
    "cadml_ws_connects",
    "WebSocket connection attempts by outcome (accepted, rejected_auth, "
    "rejected_origin, rejected_limit).",
    ["outcome"],
)
ws_events = Counter(
    "cadml_ws_events",
    "Realtime events by type and direction (published, delivered, dropped).",
    ["type", "direction"],
)

# --- Audit (apps.audit) -----------------------------------------------------------
audit_events = Counter(
    "cadml_audit_events",
    "Audit events written, by action (api.call, model.activate, ...).",
    ["action"],
)
audit_seal_lag = Gauge(
    "cadml_audit_seal_lag_seconds",
    "Age of the oldest audit event not yet covered by a tamper-evident digest.",
    multiprocess_mode="mostrecent",
)


# --- helpers for apps ---------------------------------------------------------------
def observe_analysis(
    *, format: str, outcome: str, timings: dict[str, float] | None = None
) -> None:
    """Count one analysis and observe its stage timings (``{"parse_ms": 12.3,
    "total_ms": 40.1}``, the shape ``apps.cad.pipeline`` returns)."""
    analyses.labels(format=format, outcome=outcome).inc()
    for key, ms in (timings or {}).items():
        if key.endswith("_ms"):
            analysis_stage_duration.labels(format=format, stage=key[:-3]).observe(
                ms / 1000
            )


@contextmanager
def timed(histogram: Any) -> Iterator[None]:
    """``with timed(metrics.prediction_duration.labels(...)):`` (also on error)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        histogram.observe(time.perf_counter() - started)


# --- request metrics middleware ----------------------------------------------------
_API_VERSION = re.compile(r"^/?api/(v\d+)/")


def route_labels(request: HttpRequest) -> tuple[str, str]:
    """(route template, api version) for a request; unmatched paths share one
    label so scanners cannot blow up the series count."""
    match = getattr(request, "resolver_match", None)
    if match is None or not match.route:
        return "<unmatched>", ""
    route = match.route
    version = _API_VERSION.match(route)
    return route, version.group(1) if version else ""


class RequestMetricsMiddleware:
    """Request count and latency by route template, method and status; adds the
    request id and tenant to the server span and returns ``X-Trace-ID``.

    Sits right after SecurityMiddleware so it sees every response, including
    ones produced by later middleware (rate limits, auth errors).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        http_requests_in_progress.inc()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
        finally:
            http_requests_in_progress.dec()
            route, version = route_labels(request)
            method = request.method or "GET"
            http_requests.labels(
                route=route, method=method, status=str(status), api_version=version
            ).inc()
            http_request_duration.labels(
                route=route, method=method, api_version=version
            ).observe(time.perf_counter() - started)
        if telemetry.tracing_enabled():
            tenant = getattr(request, "tenant", None)
            telemetry.set_attributes(
                request_id=getattr(request, "request_id", None),
                tenant=getattr(tenant, "slug", None),
                api_version=version or None,
            )
            trace_id = telemetry.current_trace_id()
            if trace_id:
                response["X-Trace-ID"] = trace_id
        return response


# --- gRPC metrics interceptor ---------------------------------------------------------
def _grpc_interceptor_base() -> type:
    import grpc

    return grpc.aio.ServerInterceptor


class GrpcMetricsInterceptor(_grpc_interceptor_base()):  # type: ignore[misc]
    """Counts and times every gRPC call (all four kinds) by service, method and
    final status code. ``inner`` (the OpenTelemetry interceptor when
    tracing is on) runs inside, so its span covers the same call."""

    def __init__(self, inner: Any = None) -> None:
        self.inner = inner

    async def intercept_service(self, continuation: Any, details: Any) -> Any:
        if self.inner is not None:
            handler = await self.inner.intercept_service(continuation, details)
        else:
            handler = await continuation(details)
        if handler is None:
            return None
        service, _, method = details.method.lstrip("/").rpartition("/")

        def record(context: Any, started: float, failed: bool) -> None:
            code = None
            try:
                code = context.code()
            except Exception:  # noqa: BLE001 - older contexts have no code()
                code = None
            name = getattr(code, "name", None) or ("UNKNOWN" if failed else "OK")
            grpc_requests.labels(service=service, method=method, code=name).inc()
            grpc_request_duration.labels(service=service, method=method).observe(
                time.perf_counter() - started
            )

        def unary_response(inner: Any) -> Any:
            async def behavior(request: Any, context: Any) -> Any:
                started, failed = time.perf_counter(), False
                try:
                    result = inner(request, context)
                    if inspect.isawaitable(result):
                        result = await result
                    return result
                except BaseException:
                    failed = True
                    raise
                finally:
                    record(context, started, failed)

            return behavior

        def stream_response(inner: Any) -> Any:
            async def behavior(request: Any, context: Any) -> Any:
                started, failed = time.perf_counter(), False
                try:
                    result = inner(request, context)
                    if inspect.isawaitable(result):
                        result = await result
                    if result is not None:
                        async for message in result:
                            yield message
                except BaseException:
                    failed = True
                    raise
                finally:
                    record(context, started, failed)

            return behavior

        # The request side (unary or stream) is passed through untouched.
        wrapped = {}
        for kind, wrap in (
            ("unary_unary", unary_response),
            ("stream_unary", unary_response),
            ("unary_stream", stream_response),
            ("stream_stream", stream_response),
        ):
            inner = getattr(handler, kind)
            if inner is not None:
                wrapped[kind] = wrap(inner)
        return handler._replace(**wrapped)


# --- exposition ----------------------------------------------------------------------
def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get(
        "prometheus_multiproc_dir"
    )


def registry() -> CollectorRegistry:
    """The registry to expose: the aggregate of all processes in multiprocess
    mode, else this process's default registry."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        aggregate = CollectorRegistry()
        multiprocess.MultiProcessCollector(aggregate)
        return aggregate
    return REGISTRY


def start_metrics_server(*, kind: str) -> int | None:
    """Serve ``/metrics`` on ``CADML_METRICS_PORT`` (bound to
    ``CADML_METRICS_ADDR``, default 127.0.0.1) for processes without HTTP of
    their own: the Celery worker's main process and the gRPC server. Returns the
    port, or None when no port is configured."""
    port = os.environ.get("CADML_METRICS_PORT")
    if not port:
        return None
    from prometheus_client import start_http_server

    addr = os.environ.get("CADML_METRICS_ADDR", "127.0.0.1")
    start_http_server(int(port), addr=addr, registry=registry())
    logger.info("%s metrics on http://%s:%s/metrics", kind, addr, port)
    return int(port)


@lru_cache(maxsize=8)
def _networks(
    raw: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    try:
        return tuple(ipaddress.ip_network(item, strict=False) for item in raw)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"CADML_METRICS_ALLOW_CIDRS: {exc}; give networks like 10.0.0.0/8"
        ) from exc


def _client_allowed(request: HttpRequest) -> bool:
    cidrs = tuple(settings.CADML_METRICS_ALLOW_CIDRS or [])
    if not cidrs:
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in _networks(cidrs))


def _token_ok(request: HttpRequest, token: str) -> bool:
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        presented.strip().encode(), token.encode()
    )


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition, for a bearer token or an allow-listed network."""
    token = settings.CADML_METRICS_TOKEN
    allowed = _client_allowed(request) or (bool(token) and _token_ok(request, token))
    if not allowed:
        if token:
            response = JsonResponse(
                {
                    "detail": "metrics need 'Authorization: Bearer <token>' with "
                    "the token in CADML_METRICS_TOKEN"
                },
                status=401,
            )
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        return JsonResponse(
            {
                "detail": "metrics are closed: set CADML_METRICS_TOKEN or list the "
                "scraper's network in CADML_METRICS_ALLOW_CIDRS"
            },
            status=403,
        )
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
