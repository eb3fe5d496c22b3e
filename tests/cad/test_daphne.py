"""Uploads through a real daphne process: the body reaches Django unparsed by
Twisted, and a file stuck in the isolation pool holds up nobody else."""

from __future__ import annotations

import random
import threading
import time
from types import SimpleNamespace

import httpx
import pytest

from apps.accounts.services import api_key_create
from apps.cad.models import Drawing
from apps.cad.synth import generate_part
from cadml.lib.daphne_http import skip_twisted_form_parsing
from tests.servers import running_daphne, test_database_url

ENTITIES = b"0\nSECTION\n2\nENTITIES\n"
END = b"0\nENDSEC\n0\nEOF\n"
BOUNDARY = b"cadml-test-boundary"


def _received_request(parse: bool | None) -> object:
    """A daphne request that has received a multipart upload (no socket: the
    channel is a stand-in; ``process``, which would call the ASGI app, is not
    run)."""
    from daphne.http_protocol import WebRequest
    from twisted.web.test.requesthelper import DummyChannel

    channel = DummyChannel()
    channel.factory = SimpleNamespace(
        server=SimpleNamespace(protocol_connected=lambda request: None)
    )
    kwargs = {} if parse is None else {"parsePOSTFormSubmission": parse}
    request = WebRequest(channel, **kwargs)
    request.process = lambda: None  # type: ignore[method-assign]
    request.requestHeaders.setRawHeaders(
        b"content-type", [b"multipart/form-data; boundary=" + BOUNDARY]
    )
    request.gotLength(None)
    request.handleContentChunk(
        b"--" + BOUNDARY + b"\r\n"
        b'Content-Disposition: form-data; name="file"; filename="a.dxf"\r\n\r\n'
        + ENTITIES
        + END
        + b"\r\n--"
        + BOUNDARY
        + b"--\r\n"
    )
    request.requestReceived(b"POST", b"/api/v1/drawings", b"HTTP/1.1")
    return request


def test_daphne_requests_leave_upload_bodies_to_django() -> None:
    assert skip_twisted_form_parsing()
    assert skip_twisted_form_parsing()  # idempotent: asgi.py may run twice
    request = _received_request(parse=None)
    assert request.args == {}  # type: ignore[attr-defined]
    # The body is still there, whole, for the ASGI scope.
    request.content.seek(0)  # type: ignore[attr-defined]
    assert request.content.read().startswith(b"--" + BOUNDARY)  # type: ignore[attr-defined]
    # What Twisted does when asked to parse (the work skipped above).
    parsed = _received_request(parse=True)
    assert list(parsed.args) == [b"file"]  # type: ignore[attr-defined]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_stuck_analysis_does_not_hold_up_other_requests(tenant_a, owner_a, tmp_path):  # type: ignore[no-untyped-def]
    issued = api_key_create(
        tenant=tenant_a, name="uploads", scopes=["read", "write"], created_by=owner_a
    )
    headers = {"Authorization": f"Api-Key {issued.plaintext}"}
    env = {
        "DATABASE_URL": test_database_url(),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "CADML_PARSE_TIMEOUT_S": "4",
        "CADML_MAX_UPLOAD_MB": "100",
        "CADML_SYNC_ANALYZE_MAX_MB": "100",  # analysed in the request, not queued
    }
    # About 30 MB of points: parsing it takes far longer than the time limit.
    stuck = ENTITIES + b"0\nPOINT\n8\n0\n10\n1\n20\n2\n" * 1_000_000 + END
    outcome: dict[str, httpx.Response] = {}
    with running_daphne(env) as server:
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as http:

            def upload_stuck() -> None:
                outcome["stuck"] = http.post(
                    "/api/v1/drawings", files={"file": ("stuck.dxf", stuck)}
                )

            slow = threading.Thread(target=upload_stuck)
            slow.start()
            # The drawing row is written before its analysis starts.
            deadline = time.monotonic() + 30
            while not Drawing.objects.filter(tenant=tenant_a, name="stuck.dxf"):
                assert time.monotonic() < deadline, "the stuck upload never arrived"
                time.sleep(0.05)
            # Meanwhile: another upload is analysed, the list and health answer.
            with httpx.Client(
                base_url=server.url, headers=headers, timeout=60
            ) as other:
                part = generate_part("flange", random.Random(7))
                created = other.post(
                    "/api/v1/drawings", files={"file": ("flange.dxf", part)}
                )
                listed = other.get("/api/v1/drawings")
                health = other.get("/healthz")
                answered_while_stuck = slow.is_alive()
            slow.join(timeout=60)

    assert created.status_code == 201, created.text
    assert created.json()["analysis"]["status"] == "done"
    assert listed.status_code == 200
    assert health.status_code == 200
    assert answered_while_stuck  # all three came back before the stuck file
    assert outcome["stuck"].status_code == 422
    assert "time limit" in outcome["stuck"].json()["detail"]
