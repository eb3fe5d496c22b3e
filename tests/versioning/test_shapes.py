from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_v2_wraps_bodies_in_the_envelope(api_client_a):
    response = api_client_a.get("/api/v2/tenant", HTTP_X_REQUEST_ID="req-12345678")
    body = response.json()
    assert set(body) == {"data", "meta"}
    assert body["data"]["slug"] == "tenant-a"
    assert body["meta"] == {"api_version": "2", "request_id": "req-12345678"}


def test_v1_keeps_the_plain_drf_body(api_client_a):
    body = api_client_a.get("/api/v1/tenant").json()
    assert body["slug"] == "tenant-a"
    assert "meta" not in body


def test_v2_errors_are_problem_documents(api_client_a, api_client_b):
    key_b = api_client_b.api_key
    response = api_client_a.delete(
        f"/api/v2/api-keys/{key_b.pk}", HTTP_X_REQUEST_ID="req-abcdefgh"
    )
    assert response.status_code in (403, 404)
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == response.status_code
    assert problem["type"].startswith("urn:cadml:problem:")
    assert problem["title"] and problem["detail"]
    assert problem["instance"] == f"/api/v2/api-keys/{key_b.pk}"
    assert problem["request_id"] == "req-abcdefgh"


def test_another_tenants_key_is_404_in_both_versions(
    admin_client_a, api_client_b, assert_other_tenant_404
):
    for version in ("v1", "v2"):
        url = f"/api/{version}/api-keys/{api_client_b.api_key.pk}"
        assert_other_tenant_404(admin_client_a, url, method="delete")


def test_v2_validation_errors_point_at_the_fields(admin_client_a):
    response = admin_client_a.post(
        "/api/v2/api-keys", {"name": "", "scopes": ["root"]}, format="json"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    pointers = {e["pointer"]: e["detail"] for e in problem["errors"]}
    assert set(pointers) == {"/name", "/scopes/0"}
    assert "root" in pointers["/scopes/0"]
    assert "/name" in problem["detail"]


def test_v1_errors_keep_the_drf_shape(admin_client_a, client):
    response = admin_client_a.post(
        "/api/v1/api-keys", {"name": "", "scopes": ["root"]}, format="json"
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert "name" in response.json() and "type" not in response.json()
    anonymous = client.get("/api/v1/me")
    assert anonymous.status_code == 401
    assert set(anonymous.json()) == {"detail"}


def test_v2_unauthenticated_is_a_problem_with_a_code(client):
    response = client.get("/api/v2/me")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["Content-Type"] == "application/problem+json"


def test_fields_selects_top_level_and_nested_fields(api_client_a):
    response = api_client_a.get("/api/v2/me?fields=auth,tenant.slug")
    assert response.status_code == 200
    assert response.json()["data"] == {
        "auth": "api_key",
        "tenant": {"slug": "tenant-a"},
    }


def test_fields_naming_unknown_fields_is_a_400_naming_them(api_client_a):
    response = api_client_a.get("/api/v2/me?fields=auth,colour,tenant.owner")
    assert response.status_code == 400
    problem = response.json()
    assert problem["unknown_fields"] == ["colour", "tenant.owner"]
    assert "colour" in problem["detail"] and "tenant.owner" in problem["detail"]
    assert "available: api_key, auth" in problem["detail"]


def test_fields_is_a_v2_feature(api_client_a, admin_client_a):
    response = api_client_a.get("/api/v1/me?fields=auth")
    assert response.status_code == 400
    assert "v2" in response.json()["detail"]
    post = admin_client_a.post(
        "/api/v2/api-keys?fields=id", {"name": "k", "scopes": ["read"]}, format="json"
    )
    assert post.status_code == 400  # refused before the key is created
    assert admin_client_a.get("/api/v2/api-keys").json()["data"] == [
        k
        for k in admin_client_a.get("/api/v2/api-keys").json()["data"]
        if k["name"] != "k"
    ]


def test_the_browsable_api_works_in_both_versions(session_client, owner_a):
    client = session_client(owner_a)
    for version in ("v1", "v2"):
        response = client.get(f"/api/{version}/me", HTTP_ACCEPT="text/html")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/html")
        assert b"tenant-a" in response.content
    assert b"api_version" in client.get("/api/v2/me", HTTP_ACCEPT="text/html").content
