"""Build and run the ``grpc.aio`` server: our services, health, reflection."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from grpc import aio, ssl_server_credentials
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from apps.grpcapi.interceptors import default_interceptors

logger = logging.getLogger(__name__)


@dataclass
class Registration:
    full_name: str
    add: Callable[[aio.Server], None]


def registrations() -> list[Registration]:
    """Every cadml service this build serves (one line per service)."""
    from apps.grpcapi.gen.cadml.v1 import analysis_pb2, analysis_pb2_grpc
    from apps.grpcapi.servicers.analysis import AnalysisServicer

    found = [
        Registration(
            analysis_pb2.DESCRIPTOR.services_by_name["AnalysisService"].full_name,
            lambda s: analysis_pb2_grpc.add_AnalysisServiceServicer_to_server(
                AnalysisServicer(), s
            ),
        ),
    ]
    from apps.grpcapi.servicers.batch import registration as batch_registration
    from apps.grpcapi.servicers.models import registration as models_registration
    from apps.grpcapi.servicers.search import registration as search_registration

    found += [batch_registration(), models_registration(), search_registration()]
    return found


@dataclass
class TlsFiles:
    cert: Path
    key: Path
    client_ca: Path | None = None


@dataclass
class Running:
    server: aio.Server
    port: int
    health: health_aio.HealthServicer
    services: list[str] = field(default_factory=list)

    async def drain(self, grace: float) -> None:
        """Say NOT_SERVING first (load balancers stop sending), then stop
        accepting calls and let in-flight calls and streams finish for ``grace``."""
        for name in [*self.services, ""]:
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.server.stop(grace)


async def start(
    bind: str = "127.0.0.1:0", *, max_message_mb: int = 64, tls: TlsFiles | None = None
) -> Running:
    limit = max_message_mb * 1024 * 1024
    server = aio.server(
        interceptors=default_interceptors(),
        options=[
            ("grpc.max_receive_message_length", limit),
            ("grpc.max_send_message_length", limit),
            ("grpc.so_reuseport", 0),
        ],
    )
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    names = []
    for registration in registrations():
        registration.add(server)
        names.append(registration.full_name)
    reflection.enable_server_reflection(
        [
            *names,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ],
        server,
    )
    if tls is None:
        port = server.add_insecure_port(bind)
    else:
        credentials = ssl_server_credentials(
            [(tls.key.read_bytes(), tls.cert.read_bytes())],
            root_certificates=tls.client_ca.read_bytes() if tls.client_ca else None,
            require_client_auth=tls.client_ca is not None,
        )
        port = server.add_secure_port(bind, credentials)
    if port == 0:
        raise OSError(f"could not bind the gRPC server to {bind}")
    await server.start()
    for name in [*names, ""]:
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
    return Running(server=server, port=port, health=health, services=names)


async def serve_forever(
    bind: str,
    *,
    max_workers: int,
    grace: float,
    max_message_mb: int,
    tls: TlsFiles | None,
    on_ready: Callable[[int], None],
) -> None:
    loop = asyncio.get_running_loop()
    # ORM and CAD work run in this pool (see context.run_sync).
    loop.set_default_executor(
        ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc-work")
    )
    running = await start(bind, max_message_mb=max_message_mb, tls=tls)
    on_ready(running.port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    logger.info("draining gRPC server (grace %.0fs)", grace)
    await running.drain(grace)
