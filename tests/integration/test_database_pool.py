"""The web process's PostgreSQL connection pool, on a real daphne: connections
are reused across requests, and ones the server dropped are replaced before a
request gets them."""

from __future__ import annotations

import httpx
import pytest
from django.db import connection

from apps.accounts.services import api_key_create
from tests.servers import running_daphne, test_database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


APP = "cadml-pool-test"


def _server_backends() -> list[int]:
    """The database backends of the daphne process under test."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [APP]
        )
        return [row[0] for row in cursor.fetchall()]


def test_pooled_connections_are_reused_and_survive_a_dropped_backend(
    postgres, tenant_a, owner_a
):  # type: ignore[no-untyped-def]
    issued = api_key_create(
        tenant=tenant_a, name="pool", scopes=["read"], created_by=owner_a
    )
    headers = {"Authorization": f"Api-Key {issued.plaintext}"}
    env = {
        "DATABASE_URL": f"{test_database_url()}?application_name={APP}",
        "DB_POOL_MAX": "4",
    }
    with running_daphne(env) as server:
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
            for _ in range(20):
                assert http.get("/api/v1/drawings").status_code == 200
            backends = _server_backends()
            # Twenty requests, at most the pool's four connections.
            assert 0 < len(backends) <= 4
            # The database drops every connection of the server (a restart, a
            # failover, an idle timeout): the next requests still succeed.
            with connection.cursor() as cursor:
                for pid in backends:
                    cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            statuses = [http.get("/api/v1/drawings").status_code for _ in range(8)]
            assert statuses == [200] * 8
            assert not set(_server_backends()) & set(backends)
