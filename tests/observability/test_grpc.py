"""The gRPC interceptor on a real grpc.aio server on 127.0.0.1:0 (the health
service stands in for ours). Its Watch is not used: it streams with
``context.write()``, which the OpenTelemetry aio interceptor cannot wrap (it
expects async generators, which is what apps.grpcapi's servicers are)."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY

from cadml import telemetry

SERVICE = "grpc.health.v1.Health"


def calls(method: str, code: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "cadml_grpc_requests_total",
            {"service": SERVICE, "method": method, "code": code},
        )
        or 0.0
    )


@pytest.mark.asyncio
async def test_grpc_calls_are_counted_and_traced(spans) -> None:  # type: ignore[no-untyped-def]
    before_ok = calls("Check", "OK")
    before_missing = calls("Check", "NOT_FOUND")
    server = grpc.aio.server(interceptors=[telemetry.grpc_server_interceptor()])
    servicer = health.aio.HealthServicer()
    await servicer.set("cadml", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            reply = await stub.Check(health_pb2.HealthCheckRequest(service="cadml"))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
            with pytest.raises(grpc.aio.AioRpcError) as missing:
                await stub.Check(health_pb2.HealthCheckRequest(service="nope"))
            assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        # A grace lets each handler end as it would: the client has its status
        # before the server's handler is through (and recorded), and stopping
        # without one cancels a handler still on its way out.
        await server.stop(grace=5)

    assert calls("Check", "OK") == before_ok + 1
    assert calls("Check", "NOT_FOUND") == before_missing + 1
    server_spans = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert f"/{SERVICE}/Check" in {s.name for s in server_spans}
