from __future__ import annotations

import pytest

from tests.conftest import key_client

pytestmark = pytest.mark.django_db


def test_read_scope_cannot_manage_keys(tenant_a, owner_a):
    client = key_client(tenant_a, owner_a, ["read"])
    response = client.get("/api/v1/api-keys")
    assert response.status_code == 403
    assert "admin" in response.data["detail"]


def test_write_scope_cannot_manage_keys(api_client_a):
    assert (
        api_client_a.post(
            "/api/v1/api-keys", {"name": "x", "scopes": ["read"]}, format="json"
        ).status_code
        == 403
    )


def test_session_roles_map_to_scopes(session_client, owner_a, member_a, viewer_a):
    assert session_client(owner_a).get("/api/v1/api-keys").status_code == 200
    assert session_client(member_a).get("/api/v1/api-keys").status_code == 403
    me = session_client(viewer_a).get("/api/v1/me")
    assert me.status_code == 200
    assert me.data["role"] == "viewer"
    assert me.data["scopes"] == ["read"]


def test_viewer_cannot_write(session_client, viewer_a):
    client = session_client(viewer_a)
    response = client.post(
        "/api/v1/api-keys", {"name": "x", "scopes": ["read"]}, format="json"
    )
    assert response.status_code == 403


def test_staff_without_tenant_is_told_so(session_client, staff):
    response = session_client(staff).get("/api/v1/me")
    assert response.status_code == 403
    assert "tenant" in response.data["detail"]


def test_x_tenant_picks_among_memberships(session_client, owner_a, tenant_b):
    from apps.accounts.services import membership_create

    membership_create(tenant=tenant_b, user=owner_a, role="viewer")
    client = session_client(owner_a)
    ambiguous = client.get("/api/v1/me")
    assert ambiguous.status_code == 400
    assert "X-Tenant" in str(ambiguous.data)
    chosen = client.get("/api/v1/me", HTTP_X_TENANT="tenant-b")
    assert chosen.status_code == 200
    assert chosen.data["tenant"]["slug"] == "tenant-b"
    assert chosen.data["role"] == "viewer"


def test_x_tenant_cannot_reach_a_tenant_you_are_not_in(
    session_client, member_a, tenant_b
):
    client = session_client(member_a)
    response = client.get("/api/v1/tenant", HTTP_X_TENANT="tenant-b")
    assert response.status_code == 404
    response = client.get("/api/v1/tenant", HTTP_X_TENANT="no-such-tenant")
    assert response.status_code == 404


def test_x_tenant_is_ignored_for_api_keys(api_client_a, tenant_b):
    response = api_client_a.get("/api/v1/tenant", HTTP_X_TENANT="tenant-b")
    assert response.status_code == 200
    assert response.data["slug"] == "tenant-a"


def test_tenant_endpoint(api_client_a):
    response = api_client_a.get("/api/v1/tenant")
    assert response.status_code == 200
    assert response.data["plan"] == "pro"
    assert "webhook_secret" not in response.data
