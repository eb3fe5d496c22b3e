from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from apps.accounts.models import Membership, Tenant

pytestmark = pytest.mark.django_db


def test_createtenant_json_contract():
    out = io.StringIO()
    call_command(
        "createtenant",
        "acme",
        "--plan",
        "enterprise",
        "--owner",
        "alice",
        "--json",
        stdout=out,
    )
    payload = json.loads(out.getvalue())
    assert set(payload) == {"tenant", "owner", "api_key"}
    assert payload["tenant"] == "acme"
    assert Tenant.objects.get(slug="acme").plan == "enterprise"
    assert Membership.objects.get(tenant__slug="acme").role == "owner"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {payload['api_key']}")
    assert client.get("/api/v1/me").data["tenant"]["slug"] == "acme"


def test_createtenant_refuses_a_duplicate_slug():
    call_command("createtenant", "acme", "--owner", "alice", stdout=io.StringIO())
    with pytest.raises(CommandError, match="already exists"):
        call_command("createtenant", "acme", "--owner", "bob", stdout=io.StringIO())


def test_bootstrap_is_idempotent():
    first = io.StringIO()
    call_command("bootstrap", "--skip-model", stdout=first)
    assert "API key:       cadml_" in first.getvalue()
    second = io.StringIO()
    call_command("bootstrap", "--skip-model", stdout=second)
    assert "cadml_" not in second.getvalue()
    assert Tenant.objects.filter(slug="demo").count() == 1
