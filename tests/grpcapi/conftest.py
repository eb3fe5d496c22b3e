from __future__ import annotations

import random
from collections.abc import AsyncIterator

import grpc
import pytest
import pytest_asyncio

from apps.accounts.services import api_key_create
from apps.cad.synth import generate_part
from apps.grpcapi.server import Running, start


def part(label: str = "flange", seed: int = 1) -> bytes:
    return generate_part(label, random.Random(seed))


@pytest.fixture
def grpc_key_a(tenant_a, owner_a) -> str:  # type: ignore[no-untyped-def]
    return api_key_create(
        tenant=tenant_a, name="grpc", scopes=["read", "write"], created_by=owner_a
    ).plaintext


@pytest.fixture
def grpc_key_b(tenant_b, owner_b) -> str:  # type: ignore[no-untyped-def]
    return api_key_create(
        tenant=tenant_b, name="grpc", scopes=["read", "write"], created_by=owner_b
    ).plaintext


@pytest_asyncio.fixture
async def grpc_server() -> AsyncIterator[Running]:
    running = await start("127.0.0.1:0", max_message_mb=1)
    try:
        yield running
    finally:
        await running.server.stop(None)


@pytest_asyncio.fixture
async def channel(grpc_server: Running) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_server.port}") as ch:
        yield ch


def auth(key: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Api-Key {key}"),)
