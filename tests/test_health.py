from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_healthz_needs_no_auth():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_lists_each_dependency():
    response = Client().get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["cache"]["ok"] is True


def test_every_response_carries_a_request_id():
    response = Client().get("/healthz", HTTP_X_REQUEST_ID="client-supplied-123")
    assert response["X-Request-ID"] == "client-supplied-123"
    minted = Client().get("/healthz", HTTP_X_REQUEST_ID="bad id\r\nx")
    assert minted["X-Request-ID"] != "bad id\r\nx"
    assert len(minted["X-Request-ID"]) == 32
