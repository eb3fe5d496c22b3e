from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import ApiKey
from apps.accounts.services import api_key_create

pytestmark = pytest.mark.django_db


def _client_with(key: str, header: str = "authorization") -> APIClient:
    client = APIClient()
    if header == "authorization":
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    else:
        client.credentials(HTTP_X_API_KEY=key)
    return client


def test_created_key_is_shown_once_and_works(admin_client_a, tenant_a):
    response = admin_client_a.post(
        "/api/v1/api-keys", {"name": "ci", "scopes": ["read"]}, format="json"
    )
    assert response.status_code == 201
    plaintext = response.data["key"]
    assert plaintext.startswith("cadml_")
    me = _client_with(plaintext).get("/api/v1/me")
    assert me.status_code == 200
    assert me.data["tenant"]["slug"] == "tenant-a"
    assert me.data["scopes"] == ["read"]
    listing = admin_client_a.get("/api/v1/api-keys")
    assert plaintext not in listing.content.decode()
    assert all("key" not in item for item in listing.data)


def test_the_plaintext_is_nowhere_in_the_database(tenant_a, owner_a):
    issued = api_key_create(
        tenant=tenant_a, name="secret", scopes=["read"], created_by=owner_a
    )
    # cadml_<prefix>_<secret>: the secret's own alphabet includes "_", so it
    # is everything after the second separator (a last "_" piece could be one
    # letter, found anywhere in the dump).
    secret_part = issued.plaintext.split("_", 2)[2]
    assert len(secret_part) == 43
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apikey")
        dump = repr(cursor.fetchall())
    assert issued.api_key.prefix in dump
    assert secret_part not in dump
    assert issued.plaintext not in dump


def test_x_api_key_header_is_accepted(api_client_a):
    response = _client_with(api_client_a.plaintext, header="x-api-key").get(
        "/api/v1/me"
    )
    assert response.status_code == 200


def test_revoked_key_gets_401(admin_client_a, api_client_a):
    key_id = api_client_a.api_key.pk
    assert admin_client_a.delete(f"/api/v1/api-keys/{key_id}").status_code == 204
    response = api_client_a.get("/api/v1/me")
    assert response.status_code == 401
    assert "revoked" in response.data["detail"]


def test_expired_key_gets_401(tenant_a, owner_a):
    issued = api_key_create(
        tenant=tenant_a,
        name="old",
        scopes=["read"],
        created_by=owner_a,
        expires_at=timezone.now() + timedelta(seconds=30),
    )
    ApiKey.objects.filter(pk=issued.api_key.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    from django.core.cache import cache

    cache.clear()
    response = _client_with(issued.plaintext).get("/api/v1/me")
    assert response.status_code == 401
    assert "expired" in response.data["detail"]


@pytest.mark.parametrize(
    "header",
    [
        "Api-Key",
        "Api-Key ",
        "Api-Key not-a-key",
        "Api-Key cadml_short_x",
        "Api-Key cadml_abcdefghijkl_" + "A" * 43,
    ],
)
def test_malformed_or_unknown_keys_get_401_with_a_message(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.data["detail"]
    assert response["WWW-Authenticate"].startswith("Api-Key")


def test_no_credentials_is_401_not_403():
    response = APIClient().get("/api/v1/me")
    assert response.status_code == 401


def test_rotation_keeps_both_keys_working_during_grace(admin_client_a, api_client_a):
    old_id = api_client_a.api_key.pk
    response = admin_client_a.post(
        f"/api/v1/api-keys/{old_id}/rotate", {"grace_hours": 2}, format="json"
    )
    assert response.status_code == 201
    assert response.data["name"] == api_client_a.api_key.name
    assert response.data["scopes"] == ["read", "write"]
    new_key = response.data["key"]
    assert _client_with(new_key).get("/api/v1/me").status_code == 200
    assert api_client_a.get("/api/v1/me").status_code == 200
    old = ApiKey.objects.get(pk=old_id)
    remaining = old.expires_at - timezone.now()
    assert timedelta(hours=1, minutes=59) < remaining <= timedelta(hours=2)
    again = admin_client_a.post(f"/api/v1/api-keys/{old_id}/rotate", format="json")
    assert again.status_code == 409


def test_rotation_with_zero_grace_cuts_the_old_key(admin_client_a, api_client_a):
    from django.core.cache import cache

    key_id = api_client_a.api_key.pk
    response = admin_client_a.post(
        f"/api/v1/api-keys/{key_id}/rotate", {"grace_hours": 0}, format="json"
    )
    assert response.status_code == 201
    cache.clear()
    assert api_client_a.get("/api/v1/me").status_code == 401


def test_create_key_validates_scopes(admin_client_a):
    response = admin_client_a.post(
        "/api/v1/api-keys", {"name": "x", "scopes": ["root"]}, format="json"
    )
    assert response.status_code == 400
    assert "scopes" in response.data
    response = admin_client_a.post(
        "/api/v1/api-keys", {"name": "x", "scopes": []}, format="json"
    )
    assert response.status_code == 400


def test_last_used_is_written_at_most_once_a_minute(api_client_a):
    api_client_a.get("/api/v1/me")
    first = ApiKey.objects.get(pk=api_client_a.api_key.pk).last_used_at
    assert first is not None
    api_client_a.get("/api/v1/me")
    assert ApiKey.objects.get(pk=api_client_a.api_key.pk).last_used_at == first


def test_keys_of_another_tenant_are_404(
    admin_client_a, api_client_b, assert_other_tenant_404
):
    other = api_client_b.api_key.pk
    assert_other_tenant_404(admin_client_a, f"/api/v1/api-keys/{other}", "delete")
    assert_other_tenant_404(admin_client_a, f"/api/v1/api-keys/{other}/rotate", "post")
    assert api_client_b.get("/api/v1/me").status_code == 200
