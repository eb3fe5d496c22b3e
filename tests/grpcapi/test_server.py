"""rungrpc as a real process: graceful drain on SIGTERM; TLS."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import re
import signal
import subprocess
import sys

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc

from apps.grpcapi.gen.cadml.v1 import analysis_pb2, analysis_pb2_grpc
from apps.grpcapi.server import TlsFiles, start
from tests.grpcapi.conftest import auth, part
from tests.servers import PROJECT_ROOT, server_env, test_database_url


def _rungrpc(*args: str) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "manage.py", "rungrpc", "--bind", "127.0.0.1:0", *args],
        cwd=PROJECT_ROOT,
        text=True,
        stdout=subprocess.PIPE,
        env=server_env({"DATABASE_URL": test_database_url()}),
    )
    line = process.stdout.readline()
    match = re.search(r":(\d+) ", line)
    assert match, f"rungrpc did not report its port: {line!r}"
    return process, int(match.group(1))


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_sigterm_lets_a_half_done_stream_finish(grpc_key_a):
    process, port = _rungrpc("--grace", "30")
    files = [part("flange", i) for i in range(4)]

    async def scenario() -> list[analysis_pb2.AnalyzeStreamResult]:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = analysis_pb2_grpc.AnalysisServiceStub(channel)
            call = stub.AnalyzeStream(metadata=auth(grpc_key_a))
            results = []
            await call.write(
                analysis_pb2.AnalyzeRequest(filename="0.dxf", content=files[0])
            )
            results.append(await call.read())
            os.kill(process.pid, signal.SIGTERM)  # deploy starts mid-stream
            await asyncio.sleep(0.3)
            health = health_pb2_grpc.HealthStub(channel)
            for i in range(1, len(files)):
                await call.write(
                    analysis_pb2.AnalyzeRequest(filename=f"{i}.dxf", content=files[i])
                )
                results.append(await call.read())
            await call.done_writing()
            assert await call.read() == grpc.aio.EOF
            assert await call.code() == grpc.StatusCode.OK
            with pytest.raises(grpc.aio.AioRpcError):
                await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
            return results

    try:
        results = asyncio.run(scenario())
        assert [r.analysis.filename for r in results] == [f"{i}.dxf" for i in range(4)]
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()


def _self_signed(tmp_path):  # type: ignore[no-untyped-def]
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.mark.asyncio
async def test_tls_serves_verified_clients_only(tmp_path):
    cert, key = _self_signed(tmp_path)
    running = await start("127.0.0.1:0", tls=TlsFiles(cert=cert, key=key))
    try:
        credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        async with grpc.aio.secure_channel(
            f"localhost:{running.port}", credentials
        ) as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=5
            )
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as plain:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await health_pb2_grpc.HealthStub(plain).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=3
                )
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        await running.server.stop(None)


def test_rungrpc_refuses_half_a_tls_configuration(tmp_path):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="go together"):
        call_command("rungrpc", "--tls-cert", str(tmp_path / "c.pem"))
