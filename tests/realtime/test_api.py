"""REST: tickets and staff notifications."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_tickets_are_issued_to_keys_and_sessions(api_client_a, staff, session_client):
    response = api_client_a.post("/api/v1/realtime/tickets")
    assert response.status_code == 201
    body = response.json()
    assert body["expires_in"] == 60 and len(body["ticket"]) >= 40
    # Staff belong to no tenant and still get a ticket (for topic:alerts).
    assert session_client(staff).post("/api/v1/realtime/tickets").status_code == 201


def test_tickets_need_authentication():
    response = APIClient().post("/api/v1/realtime/tickets")
    assert response.status_code == 401
    bad_key = APIClient()
    bad_key.credentials(HTTP_AUTHORIZATION="Api-Key cadml_nope")
    assert bad_key.post("/api/v1/realtime/tickets").status_code == 401
