from __future__ import annotations

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_non_json_body_is_400(admin_client_a):
    response = admin_client_a.post(
        "/api/v1/api-keys", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert "JSON" in response.data["detail"]


def test_wrong_content_type_is_415(admin_client_a):
    response = admin_client_a.post(
        "/api/v1/api-keys", data="name=x", content_type="text/csv"
    )
    assert response.status_code == 415


def test_wrong_types_are_400(admin_client_a):
    response = admin_client_a.post(
        "/api/v1/api-keys", {"name": ["a"], "scopes": "read"}, format="json"
    )
    assert response.status_code == 400
    assert {"name", "scopes"} <= set(response.data)


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_oversized_body_is_a_4xx(admin_client_a):
    body = '{"name": "' + "x" * 4096 + '", "scopes": ["read"]}'
    response = admin_client_a.post(
        "/api/v1/api-keys", data=body, content_type="application/json"
    )
    assert 400 <= response.status_code < 500


def test_unknown_route_is_404_json(api_client_a):
    assert api_client_a.get("/api/v1/nope").status_code == 404
