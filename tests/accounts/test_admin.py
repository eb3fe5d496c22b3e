from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from rest_framework.test import APIClient

from apps.accounts.models import ApiKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_superuser("root", password="pw-root-123")


def test_creating_a_key_in_the_admin_shows_the_secret_once(client, superuser, tenant_a):
    client.force_login(superuser)
    response = client.post(
        "/admin/accounts/apikey/add/",
        {"tenant": tenant_a.pk, "name": "from-admin", "scopes": ["read"]},
        follow=True,
    )
    assert response.status_code == 200
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    shown = [m for m in messages if "cadml_" in m]
    assert len(shown) == 1
    plaintext = "cadml_" + shown[0].split("cadml_", 1)[1].split()[0]
    key = ApiKey.objects.get(name="from-admin")
    assert key.created_by == superuser
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {plaintext}")
    assert api.get("/api/v1/me").data["tenant"]["slug"] == "tenant-a"
    page = client.get(f"/admin/accounts/apikey/{key.pk}/change/")
    assert plaintext not in page.content.decode()
    assert key.secret_hash not in page.content.decode()


def test_the_admin_revokes_keys(client, superuser, api_client_a):
    client.force_login(superuser)
    client.post(
        "/admin/accounts/apikey/",
        {"action": "revoke_keys", "_selected_action": [api_client_a.api_key.pk]},
    )
    assert api_client_a.get("/api/v1/me").status_code == 401
