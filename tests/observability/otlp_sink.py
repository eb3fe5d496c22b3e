"""A local OTLP/HTTP receiver: the "collector" for tests and the benchmark.

It accepts ``POST /v1/traces`` (protobuf), answers 200 like a collector does and,
when ``decode`` is on, keeps every span as a small dict. The benchmark runs it
with ``decode=False`` so the sink costs as little CPU as possible.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Sink:
    port: int
    decode: bool = True
    spans: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    bytes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add(self, body: bytes) -> None:
        with self.lock:
            self.requests += 1
            self.bytes += len(body)
        if not self.decode:
            return
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        message = ExportTraceServiceRequest()
        message.ParseFromString(body)
        found = []
        for resource_spans in message.resource_spans:
            resource = {
                kv.key: _value(kv.value) for kv in resource_spans.resource.attributes
            }
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    found.append(
                        {
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_id": span.parent_span_id.hex() or None,
                            "kind": span.kind,
                            "service": resource.get("service.name"),
                            "resource": resource,
                            "attributes": {
                                kv.key: _value(kv.value) for kv in span.attributes
                            },
                        }
                    )
        with self.lock:
            self.spans.extend(found)

    def wait_for(self, predicate: Any, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Spans matching ``predicate`` once at least one arrived (the timeout
        only keeps a broken run from hanging)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                matching = [s for s in self.spans if predicate(s)]
            if matching or time.monotonic() > deadline:
                return matching
            time.sleep(0.05)


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


@contextmanager
def running_sink(*, decode: bool = True) -> Iterator[Sink]:
    sink_ref: dict[str, Sink] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            sink_ref["sink"].add(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    sink = Sink(port=server.server_address[1], decode=decode)
    sink_ref["sink"] = sink
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
