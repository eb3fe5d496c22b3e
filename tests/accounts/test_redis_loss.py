"""Redis killed under a running daphne: API keys still authenticate (from the
database), nothing answers 500, ``/readyz`` says 503, and all is well again once
Redis is back."""

from __future__ import annotations

import signal
import time
from random import Random

import httpx
import pytest
import redis

from apps.accounts.services import api_key_create
from apps.cad.synth import generate_part
from tests.batch.test_redis_restart import start_redis
from tests.servers import free_port, running_daphne, test_database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _wait_ready(base: str, status: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        got = httpx.get(f"{base}/readyz", timeout=5).status_code
        if got == status or time.monotonic() > deadline:
            assert got == status
            return
        time.sleep(0.2)


def test_api_keys_work_while_redis_is_down_and_after_it_returns(
    tenant_a, owner_a, postgres, redis_server_binary, tmp_path
):
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    server = start_redis(redis_server_binary, port, tmp_path)
    admin = api_key_create(
        tenant=tenant_a,
        name="adm",
        scopes=["read", "write", "admin"],
        created_by=owner_a,
    )
    doomed = api_key_create(
        tenant=tenant_a, name="doomed", scopes=["read"], created_by=owner_a
    )
    env = {"DATABASE_URL": test_database_url(), "REDIS_URL": url}
    try:
        with running_daphne(env) as web:
            client = httpx.Client(
                base_url=web.url,
                headers={"Authorization": f"Api-Key {admin.plaintext}"},
                timeout=10,
            )
            assert client.get("/api/v1/me").status_code == 200
            _wait_ready(web.url, 200)

            server.send_signal(signal.SIGKILL)
            server.wait()
            _wait_ready(web.url, 503)
            for _ in range(3):  # the limiter's local fallback counts these
                me = client.get("/api/v1/me")
                assert me.status_code == 200, me.text
                assert me.json()["tenant"]["slug"] == "tenant-a"
            assert client.get("/api/v1/tenant").status_code == 200
            assert client.get("/api/v1/api-keys").status_code == 200
            wrong = "cadml_abcdefghijkl_" + "x" * 43
            bad = httpx.get(
                f"{web.url}/api/v1/me",
                headers={"Authorization": f"Api-Key {wrong}"},
                timeout=10,
            )
            assert bad.status_code == 401, bad.text
            malformed = httpx.get(
                f"{web.url}/api/v1/me", headers={"X-API-Key": "nope"}, timeout=10
            )
            assert malformed.status_code == 401
            # Uploading and searching a drawing (similarity generations live in
            # the cache) still work; a WebSocket ticket cannot be shared across
            # processes without it, so it is a 503, not a 500.
            drawing = client.post(
                "/api/v1/drawings",
                files={"file": ("part.dxf", generate_part("flange", Random(3)))},
            )
            assert drawing.status_code == 201, drawing.text
            similar = client.get(f"/api/v1/drawings/{drawing.json()['id']}/similar")
            assert similar.status_code == 200, similar.text
            ticket = client.post("/api/v1/realtime/tickets")
            assert ticket.status_code == 503, ticket.text
            assert "shared cache" in ticket.json()["detail"]
            # Revocation needs no cache either: the key is refused at once.
            doomed_headers = {"Authorization": f"Api-Key {doomed.plaintext}"}
            assert (
                httpx.get(
                    f"{web.url}/api/v1/me", headers=doomed_headers, timeout=10
                ).status_code
                == 200
            )
            gone = client.delete(f"/api/v1/api-keys/{doomed.api_key.pk}")
            assert gone.status_code == 204, gone.text
            refused = httpx.get(
                f"{web.url}/api/v1/me", headers=doomed_headers, timeout=10
            )
            assert refused.status_code == 401
            assert refused.json()["detail"] == "this API key has been revoked"

            server = start_redis(redis_server_binary, port, tmp_path)
            _wait_ready(web.url, 200)
            assert client.get("/api/v1/me").status_code == 200
            assert client.post("/api/v1/realtime/tickets").status_code == 201
            # The cache is used again: the key's row is back in Redis.
            cached = redis.Redis(port=port).keys(f"*apikey:{admin.api_key.prefix}")
            assert cached
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
