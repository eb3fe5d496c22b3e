"""Adding people to a tenant and getting back into the demo account."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from apps.accounts.models import Membership

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "violet-harbour-1729"


def adduser(*args: str, stdin: str | None = None, monkeypatch=None) -> str:  # type: ignore[no-untyped-def]
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    out = io.StringIO()
    call_command("adduser", *args, stdout=out)
    return out.getvalue()


def password_in(output: str) -> str:
    (line,) = [x for x in output.splitlines() if "Password:" in x]
    return line.split("Password:")[1].split()[0]


def test_a_new_member_gets_a_password_shown_once_that_logs_in(tenant_a) -> None:  # type: ignore[no-untyped-def]
    out = adduser("tenant-a", "alice", "--role", "member")
    assert "alice (new user) is now member of tenant-a" in out
    password = password_in(out)
    assert authenticate(username="alice", password=password) is not None
    membership = Membership.objects.get(user__username="alice")
    assert (membership.tenant, membership.role) == (tenant_a, "member")
    client = APIClient()
    assert client.login(username="alice", password=password)
    assert client.get("/api/v1/me").data["tenant"]["slug"] == "tenant-a"


def test_the_password_can_come_from_stdin_and_is_not_printed(
    tenant_a, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    out = adduser(
        "tenant-a",
        "bob",
        "--role",
        "viewer",
        "--password-stdin",
        stdin=GOOD_PASSWORD + "\n",
        monkeypatch=monkeypatch,
    )
    assert GOOD_PASSWORD not in out and "Password:" not in out
    assert authenticate(username="bob", password=GOOD_PASSWORD) is not None
    assert Membership.objects.get(user__username="bob").role == "viewer"


def test_an_existing_user_joins_another_tenant_keeping_their_password(
    owner_b, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    out = adduser("tenant-a", "owner-b", "--role", "admin")
    assert "owner-b (existing user) is now admin of tenant-a" in out
    assert "Password:" not in out
    assert authenticate(username="owner-b", password="pw-owner-b-123") is not None
    assert set(owner_b.memberships.values_list("tenant__slug", "role")) == {
        ("tenant-b", "owner"),
        ("tenant-a", "admin"),
    }


def test_json_output_for_scripts(tenant_a) -> None:  # type: ignore[no-untyped-def]
    payload = json.loads(adduser("tenant-a", "carol", "--json"))
    assert set(payload) == {"tenant", "username", "role", "created_user", "password"}
    assert payload["role"] == "member" and payload["created_user"] is True
    assert authenticate(username="carol", password=payload["password"]) is not None


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("nope", "dave"), None, "no tenant 'nope' (tenants: tenant-a)"),
        (("tenant-a", "member-a"), None, "already a member of tenant-a (role member)"),
        (("tenant-a", "erin", "--password-stdin"), "short\n", "too short"),
        (("tenant-a", "erin", "--password-stdin"), "", "stdin had no password"),
        (("tenant-a", "bad name!"), None, "username:"),
        (("tenant-a", "frank", "--role", "boss"), None, "invalid choice: 'boss'"),
    ],
)
def test_mistakes_are_explained(member_a, monkeypatch, args, stdin, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(
        CommandError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        adduser(*args, stdin=stdin, monkeypatch=monkeypatch)
    assert not Membership.objects.filter(user__username__in=["dave", "erin"]).exists()


def test_bootstrap_reset_password_lets_the_demo_user_back_in() -> None:
    first = io.StringIO()
    call_command("bootstrap", "--skip-model", stdout=first)
    old = password_in(first.getvalue())
    out = io.StringIO()
    call_command("bootstrap", "--skip-model", "--reset-password", stdout=out)
    new = password_in(out.getvalue())
    assert new != old
    assert authenticate(username="demo", password=new) is not None
    assert authenticate(username="demo", password=old) is None


def test_reset_to_the_configured_password_does_not_echo_it(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    call_command("bootstrap", "--skip-model", stdout=io.StringIO())
    monkeypatch.setenv("CADML_DEMO_PASSWORD", GOOD_PASSWORD)
    out = io.StringIO()
    call_command("bootstrap", "--skip-model", "--reset-password", stdout=out)
    assert GOOD_PASSWORD not in out.getvalue()
    assert "reset to CADML_DEMO_PASSWORD" in out.getvalue()
    assert authenticate(username="demo", password=GOOD_PASSWORD) is not None
