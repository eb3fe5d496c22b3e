from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from apps.batch import runner, webhooks
from apps.batch.models import BatchJob
from apps.batch.realtime import job_channel_visible
from tests.batch.conftest import as_uploads, files, wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)


class Receiver:
    """A customer's webhook endpoint on 127.0.0.1 (the outside world)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.calls: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append((dict(self.headers), body))
                code = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_calls(self, n: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while len(self.calls) < n and time.monotonic() < deadline:
            time.sleep(0.02)


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.DEBUG = True  # plain http to the local receiver
    r = Receiver(statuses=[500])
    yield r
    r.server.shutdown()


def test_a_signed_webhook_is_retried_until_delivered(api_client_a, tenant_a, receiver):
    response = api_client_a.post(
        "/api/v1/jobs",
        {"files": as_uploads(files(2)), "callback_url": receiver.url},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    job = wait_for_job(response.json()["id"])
    receiver.wait_calls(2)
    runner.wait_idle()
    assert len(receiver.calls) == 2
    tenant_a.refresh_from_db()
    for headers, body in receiver.calls:
        assert webhooks.verify(
            tenant_a.webhook_secret, body, headers["X-Cadml-Signature"]
        )
        assert not webhooks.verify("wrong-secret", body, headers["X-Cadml-Signature"])
        payload = json.loads(body)
        assert payload["event"] == "batch.completed"
        assert payload["job"]["job_id"] == job.pk
        assert payload["job"]["summary"]["succeeded"] == 2
    detail = api_client_a.get(f"/api/v1/jobs/{job.pk}").json()
    assert [
        (d["attempt"], d["status_code"], d["ok"]) for d in detail["deliveries"]
    ] == [
        (1, 500, False),
        (2, 200, True),
    ]


def test_delivery_gives_up_after_the_last_attempt(api_client_a, receiver, settings):
    settings.CADML_WEBHOOK_MAX_ATTEMPTS = 3
    receiver.statuses = [500, 502, 503, 200]
    response = api_client_a.post(
        "/api/v1/jobs",
        {"files": as_uploads(files(1)), "callback_url": receiver.url},
        format="multipart",
    )
    job = wait_for_job(response.json()["id"])
    receiver.wait_calls(3)
    runner.wait_idle()
    detail = api_client_a.get(f"/api/v1/jobs/{job.pk}").json()
    assert [d["ok"] for d in detail["deliveries"]] == [False, False, False]


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    header = webhooks.sign("s3cret", b'{"a":1}', timestamp=1700000000)
    import hashlib
    import hmac

    expected = hmac.new(b"s3cret", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_a_jobs_channel_is_visible_to_its_tenant_only(api_client_a, tenant_a, tenant_b):
    from apps.realtime.principal import Principal, TenantGrant

    job = BatchJob.objects.create(tenant=tenant_a, total=0)
    mine = Principal(
        kind="api_key",
        api_key_id=1,
        tenants=(TenantGrant(tenant_a.pk, tenant_a.slug, "pro", frozenset({"read"})),),
    )
    theirs = Principal(
        kind="api_key",
        api_key_id=2,
        tenants=(TenantGrant(tenant_b.pk, tenant_b.slug, "free", frozenset({"read"})),),
    )
    assert job_channel_visible(mine, str(job.pk))
    assert not job_channel_visible(theirs, str(job.pk))
    assert not job_channel_visible(mine, "nope")
    from apps.realtime.channels import can_subscribe

    assert can_subscribe(mine, f"job:{job.pk}")
    assert not can_subscribe(theirs, f"job:{job.pk}")
