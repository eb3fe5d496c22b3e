"""api.call events from a real daphne process: buffered off the request path,
and none lost when the server is stopped cleanly."""

from __future__ import annotations

import signal

import httpx
import pytest

from apps.accounts.services import api_key_create
from apps.audit.models import AuditEvent
from tests.servers import running_daphne, test_database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_buffered_api_calls_are_all_written_on_clean_shutdown(
    postgres, tenant_a, owner_a
):
    issued = api_key_create(
        tenant=tenant_a, name="load", scopes=["read"], created_by=owner_a
    )
    env = {
        "DATABASE_URL": test_database_url(),
        # Far longer than the test: only the shutdown flush can write them.
        "CADML_AUDIT_BUFFER_MS": "600000",
    }
    with running_daphne(env) as server:
        with httpx.Client(base_url=server.url) as client:
            for i in range(25):
                response = client.get(
                    "/api/v1/me",
                    headers={
                        "Authorization": f"Api-Key {issued.plaintext}",
                        "X-Request-ID": f"shutdown-test-{i:04d}",
                    },
                )
                assert response.status_code == 200
            assert client.get("/healthz").status_code == 200
        server.stop(signal.SIGTERM)
        assert server.process.returncode == 0
    calls = AuditEvent.objects.filter(action="api.call", tenant=tenant_a)
    assert sorted(calls.values_list("request_id", flat=True)) == [
        f"shutdown-test-{i:04d}" for i in range(25)
    ]
    assert {c.details["route"] for c in calls} == {"/api/v1/me"}
    assert not AuditEvent.objects.filter(details__route="/healthz").exists()
