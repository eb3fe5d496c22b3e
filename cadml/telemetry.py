"""OpenTelemetry tracing, configured once per process from the standard variables.

Process kinds and where each one calls ``configure_tracing``:

- ``web``: daphne, from ``cadml/asgi.py`` before Django loads its middleware;
- ``worker``: every Celery pool process, on ``worker_process_init`` (a solo or
  threads pool configures on ``worker_init``), see ``cadml/celery.py``;
- ``grpc``: ``manage.py rungrpc`` calls ``setup("grpc")`` and puts
  ``grpc_server_interceptor()`` in its server's interceptor chain.

Off unless ``OTEL_TRACES_EXPORTER`` is ``otlp`` or ``console`` (or an OTLP endpoint
is set and the exporter is not ``none``). Off means nothing is installed: no
instrumentation, no SDK provider, and ``span()`` hands out one shared no-op
context manager, so an untraced deployment pays for an attribute check.

Read by the SDK itself: ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_TRACES_SAMPLER``, ``OTEL_TRACES_SAMPLER_ARG``, ``OTEL_EXPORTER_OTLP_*``
(endpoint, headers, timeout) and ``OTEL_BSP_*`` (batch processor sizes).
``OTEL_EXPORTER_OTLP_PROTOCOL`` picks ``http/protobuf`` (default, the spec's
default) or ``grpc``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

logger = logging.getLogger(__name__)

EXPORTERS = ("otlp", "console", "none")
PROTOCOLS = ("http/protobuf", "grpc")
TRACER_NAME = "cadml"

_lock = threading.Lock()
_configured_pid: int | None = None
_provider: TracerProvider | None = None
_enabled = False
_global_provider_set = False
_NOOP: AbstractContextManager[None] = nullcontext()


def exporter_name() -> str:
    """The exporter the environment asks for: ``otlp``, ``console`` or ``none``."""
    raw = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if not raw:
        # The spec's default is otlp; ours is off unless an endpoint is given, so a
        # bare checkout does not try to reach a collector that is not there.
        return "otlp" if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") else "none"
    first = raw.split(",")[0].strip()
    if first not in EXPORTERS:
        raise ImproperlyConfigured(
            f"OTEL_TRACES_EXPORTER={raw!r} is not supported; use one of "
            f"{', '.join(EXPORTERS)}"
        )
    return first


def tracing_enabled() -> bool:
    return _enabled


def _build_exporter(name: str) -> SpanExporter:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
    )
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcExporter,
        )

        return GrpcExporter()
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HttpExporter,
        )

        return HttpExporter()
    raise ImproperlyConfigured(
        f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not supported; use one of "
        f"{', '.join(PROTOCOLS)}"
    )


def configure_tracing(kind: str, *, exporter: SpanExporter | None = None) -> bool:
    """Set up tracing for this process once; returns whether tracing is on.

    ``exporter`` overrides the environment (tests pass an in-memory exporter,
    which is exported synchronously so assertions need no waiting).
    """
    global _configured_pid, _provider, _enabled, _global_provider_set
    with _lock:
        if _configured_pid == os.getpid():
            return _enabled
        _configured_pid = os.getpid()
        name = "test" if exporter is not None else exporter_name()
        if name == "none":
            _enabled = False
            return False

        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            SimpleSpanProcessor,
        )

        attributes: dict[str, Any] = {"cadml.process.kind": kind}
        if not os.environ.get("OTEL_SERVICE_NAME"):
            attributes["service.name"] = f"cadml-{kind}"
        # Resource.create merges OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME;
        # the sampler comes from OTEL_TRACES_SAMPLER(_ARG) when none is passed.
        provider = TracerProvider(resource=Resource.create(attributes))
        if exporter is not None:
            provider.add_span_processor(SimpleSpanProcessor(exporter))
        else:
            provider.add_span_processor(BatchSpanProcessor(_build_exporter(name)))
        if not _global_provider_set:
            trace.set_tracer_provider(provider)
            _global_provider_set = True
        _provider = provider
        _instrument_libraries(provider)
        _enabled = True
        logger.info("tracing on: kind=%s exporter=%s", kind, name)
        return True


def _instrumentors() -> list[Any]:
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    return [
        DjangoInstrumentor(),
        PsycopgInstrumentor(),
        RedisInstrumentor(),
        CeleryInstrumentor(),
    ]


def _instrument_libraries(provider: TracerProvider) -> None:
    # The provider is passed explicitly (not only set globally) so that a process
    # that disables and re-enables tracing (the test suite) gets the new one.
    django, psycopg, redis, celery = _instrumentors()
    # Probes and scrapes would be most of the spans and tell nothing.
    django.instrument(
        tracer_provider=provider,
        excluded_urls="healthz,readyz,metrics",
        is_sql_commentor_enabled=False,
    )
    psycopg.instrument(tracer_provider=provider, enable_commenter=False)
    redis.instrument(tracer_provider=provider)
    # In the web process this injects the trace context into task headers; in a
    # worker it continues the trace from them.
    celery.instrument(tracer_provider=provider)


def disable_tracing() -> None:
    """Flush and remove all instrumentation; ``configure_tracing`` may run again.
    For tests that trace one module and must leave the rest untraced."""
    global _configured_pid, _provider, _enabled
    with _lock:
        if _provider is not None:
            _provider.force_flush()
        for instrumentor in _instrumentors():
            if instrumentor.is_instrumented_by_opentelemetry:
                instrumentor.uninstrument()
        _configured_pid = None
        _provider = None
        _enabled = False


def shutdown_tracing() -> None:
    """Flush pending spans (a worker process exiting, a server stopping)."""
    if _provider is not None and _configured_pid == os.getpid():
        _provider.shutdown()


def force_flush(timeout_ms: int = 5000) -> None:
    if _provider is not None:
        _provider.force_flush(timeout_ms)


def setup(kind: str) -> bool:
    """Tracing and metrics for a process without HTTP of its own (``rungrpc``):
    ``configure_tracing(kind)`` plus the metrics port (``CADML_METRICS_PORT``)."""
    from cadml import metrics

    enabled = configure_tracing(kind)
    metrics.start_metrics_server(kind=kind)
    return enabled


def grpc_server_interceptor() -> Any:
    """One ``grpc.aio`` server interceptor: call metrics (count, latency, status
    code) always, wrapping the OpenTelemetry server interceptor when tracing is on
    (it continues the caller's trace from the ``traceparent`` metadata)."""
    from cadml.metrics import GrpcMetricsInterceptor

    inner = None
    if _enabled:
        from opentelemetry.instrumentation.grpc import aio_server_interceptor

        inner = aio_server_interceptor(tracer_provider=_provider)
    return GrpcMetricsInterceptor(inner)


def span(name: str, **attributes: Any) -> AbstractContextManager[Any]:
    """A child span of the current one: ``with span("cad.parse", format="dxf"):``.

    Attribute names get the ``cadml.`` prefix unless they already contain a dot
    (``model.version`` stays as given). With tracing off this is a shared no-op.
    """
    if not _enabled:
        return _NOOP
    return _span(name, attributes)


@contextmanager
def _span(name: str, attributes: dict[str, Any]) -> Iterator[Any]:
    provider = _provider
    if provider is None:  # tracing was switched off in between
        yield None
        return
    tracer = provider.get_tracer(TRACER_NAME)
    attrs = {
        (key if "." in key else f"cadml.{key}"): value
        for key, value in attributes.items()
        if value is not None
    }
    with tracer.start_as_current_span(name, attributes=attrs) as current:
        yield current


def current_trace_id() -> str | None:
    """The current trace id as 32 hex digits, or None (tracing off, no span)."""
    if not _enabled:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x")


def current_span_id() -> str | None:
    if not _enabled:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.span_id, "016x") if context.is_valid else None


def set_attributes(**attributes: Any) -> None:
    """Add attributes to the current span (e.g. the tenant once it is known)."""
    if not _enabled:
        return
    from opentelemetry import trace

    current = trace.get_current_span()
    for key, value in attributes.items():
        if value is not None:
            current.set_attribute(key if "." in key else f"cadml.{key}", value)


def stage_spans(
    prefix: str, timings: dict[str, float], *, started_ns: int, **attributes: Any
) -> None:
    """Record child spans for stages timed elsewhere (the CAD pipeline runs in
    isolation pool processes and returns ``{"parse_ms": .., "features_ms": ..}``).

    Stages are laid end to end from ``started_ns`` in the order given; ``total_ms``
    is skipped. A small documented imperfection: the spans show each stage's
    duration exactly but their start times are reconstructed.
    """
    provider = _provider
    if not _enabled or provider is None:
        return
    tracer = provider.get_tracer(TRACER_NAME)
    attrs = {
        (key if "." in key else f"cadml.{key}"): value
        for key, value in attributes.items()
        if value is not None
    }
    at = started_ns
    for key, ms in timings.items():
        if not key.endswith("_ms") or key == "total_ms":
            continue
        end = at + int(ms * 1_000_000)
        stage_span = tracer.start_span(
            f"{prefix}.{key[:-3]}", start_time=at, attributes=attrs
        )
        stage_span.end(end_time=end)
        at = end


# --- Celery worker hooks ---------------------------------------------------
def _pool_is_prefork(worker: Any) -> bool:
    pool = getattr(worker, "pool_cls", None)
    name = pool if isinstance(pool, str) else getattr(pool, "__module__", "")
    return "prefork" in str(name) or str(name) == ""


def _on_worker_init(sender: Any = None, **_: Any) -> None:
    # Main worker process, before the pool forks: serve the pool's aggregate
    # metrics from here.
    from cadml import metrics

    metrics.start_metrics_server(kind="worker")
    if sender is not None and not _pool_is_prefork(sender):
        # solo / threads pools run tasks here; there is no worker_process_init.
        configure_tracing("worker")


def _on_worker_process_init(**_: Any) -> None:
    configure_tracing("worker")


def _on_worker_process_shutdown(**_: Any) -> None:
    shutdown_tracing()
    from cadml import metrics

    if metrics.multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())


def _on_task_prerun(task: Any = None, **_: Any) -> None:
    if task is not None:
        task.request._cadml_started = time.perf_counter()


def _on_task_postrun(task: Any = None, state: str | None = None, **_: Any) -> None:
    if task is None:
        return
    from cadml import metrics

    metrics.celery_tasks.labels(task=task.name, state=state or "UNKNOWN").inc()
    started = getattr(task.request, "_cadml_started", None)
    if started is not None:
        metrics.celery_task_duration.labels(task=task.name).observe(
            time.perf_counter() - started
        )


def connect_celery_signals() -> None:
    """Called from ``cadml/celery.py``: tracing in every worker process (each pool
    child gets its own exporter thread, started after the fork)."""
    from celery import signals

    signals.worker_init.connect(
        _on_worker_init, weak=False, dispatch_uid="cadml.telemetry.worker_init"
    )
    signals.worker_process_init.connect(
        _on_worker_process_init,
        weak=False,
        dispatch_uid="cadml.telemetry.worker_process_init",
    )
    signals.worker_process_shutdown.connect(
        _on_worker_process_shutdown,
        weak=False,
        dispatch_uid="cadml.telemetry.worker_process_shutdown",
    )
    signals.task_prerun.connect(
        _on_task_prerun, weak=False, dispatch_uid="cadml.telemetry.task_prerun"
    )
    signals.task_postrun.connect(
        _on_task_postrun, weak=False, dispatch_uid="cadml.telemetry.task_postrun"
    )
    signals.worker_shutdown.connect(
        lambda **_: shutdown_tracing(),
        weak=False,
        dispatch_uid="cadml.telemetry.worker_shutdown",
    )


# --- logging ---------------------------------------------------------------
class LogContextFilter(logging.Filter):
    """Adds ``request_id`` and ``trace_id`` / ``span_id`` to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        from cadml.lib.request_id import current_request_id

        record.request_id = current_request_id.get()
        record.trace_id = current_trace_id()
        record.span_id = current_span_id()
        return True


# Attributes every LogRecord has; anything else was passed in ``extra=``.
_RECORD_FIELDS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request and trace
    ids, ``extra=`` fields, and the exception text when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        import json
        from datetime import UTC, datetime

        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "trace_id": getattr(record, "trace_id", None),
            "span_id": getattr(record, "span_id", None),
            "process": record.process,
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key not in payload:
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)
