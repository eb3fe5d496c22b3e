from __future__ import annotations

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from apps.accounts.services import api_key_create, api_key_revoke
from apps.audit.models import AppendOnlyError, AuditEvent
from apps.audit.services import audit_record

pytestmark = pytest.mark.django_db


def test_every_api_call_is_recorded_once_with_its_route_template(
    api_client_a, tenant_a, events
):
    response = api_client_a.get("/api/v1/me", HTTP_USER_AGENT="pytest-agent/1")
    assert response.status_code == 200
    calls = events(action="api.call")
    assert len(calls) == 1
    call = calls[0]
    assert call.tenant_id == tenant_a.pk
    assert call.actor_type == "api_key"
    assert call.actor_key_prefix == api_client_a.api_key.prefix
    assert call.details["route"] == "/api/v1/me"
    assert call.details["method"] == "GET"
    assert call.details["status"] == 200
    assert call.details["duration_ms"] >= 0
    assert call.request_id == response["X-Request-ID"]
    assert call.user_agent == "pytest-agent/1"
    assert call.outcome == "success"


def test_route_is_the_template_not_the_raw_path(admin_client_a, events):
    key_id = admin_client_a.api_key.pk
    admin_client_a.get(f"/api/v1/api-keys/{key_id}")  # GET not allowed: 405
    (call,) = events(action="api.call")
    assert call.details["route"] == "/api/v1/api-keys/<int:key_id>"
    assert call.outcome == "failure"


def test_health_and_metrics_are_not_audited(client, db, events):
    client.get("/healthz")
    client.get("/readyz")
    assert events() == []


def test_key_lifecycle_is_audited_by_the_service_with_its_actor(
    admin_client_a, tenant_a, events
):
    created = admin_client_a.post(
        "/api/v1/api-keys", {"name": "ci", "scopes": ["read"]}, format="json"
    )
    assert created.status_code == 201
    admin_client_a.delete(f"/api/v1/api-keys/{created.data['id']}")
    (made,) = events(action="apikey.created", resource_id=str(created.data["id"]))
    (revoked,) = events(action="apikey.revoked")
    for event in (made, revoked):
        assert event.tenant_id == tenant_a.pk
        assert event.actor_label == f"key:{admin_client_a.api_key.prefix}"
        assert event.details["prefix"] == created.data["prefix"]
        assert created.data["key"] not in str(event.details)
        assert event.request_id
    assert made.details["scopes"] == ["read"]


def test_a_refused_key_is_recorded_without_its_secret(api_client_a, tenant_a, events):
    api_key_revoke(api_key=api_client_a.api_key)
    response = api_client_a.get("/api/v1/me")
    assert response.status_code == 401
    (rejected,) = events(action="apikey.rejected")
    assert rejected.outcome == "denied"
    assert rejected.actor_key_prefix == api_client_a.api_key.prefix
    assert rejected.tenant_id == tenant_a.pk  # the key's admins can see it
    assert rejected.details["reason"] == "revoked_key"
    # cadml_<prefix>_<secret>: the secret itself may hold underscores.
    secret = api_client_a.plaintext.split("_", 2)[2]
    assert len(secret) == 43 and secret not in str(rejected.details)
    (call,) = events(action="api.call")
    assert call.outcome == "denied"


def test_a_garbage_key_is_rejected_and_recorded(db, events):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Api-Key not-a-key-at-all")
    assert client.get("/api/v1/me").status_code == 401
    (rejected,) = events(action="apikey.rejected")
    assert rejected.details["reason"] == "malformed_key"
    assert "not-a-key-at-all" not in str(rejected.details)


def test_a_403_is_recorded_as_authz_denied(viewer_a, session_client, events):
    response = session_client(viewer_a).get("/api/v1/api-keys")
    assert response.status_code == 403
    (denied,) = events(action="authz.denied")
    assert denied.actor_label == "viewer-a"
    assert denied.details["route"] == "/api/v1/api-keys"
    assert "admin" in denied.details["reason"]


def test_sign_in_sign_out_and_failures_come_from_auth_signals(owner_a, events):
    client = APIClient()
    assert client.login(username="owner-a", password="pw-owner-a-123")
    client.logout()
    assert not client.login(username="owner-a", password="wrong password")
    (login,) = events(action="auth.login")
    (logout,) = events(action="auth.logout")
    (failed,) = events(action="auth.login_failed")
    assert login.actor_user_id == owner_a.pk == logout.actor_user_id
    assert failed.outcome == "failure"
    assert failed.details == {"username": "owner-a"}
    assert failed.tenant_id == owner_a.memberships.get().tenant_id  # its admins see it
    assert "wrong password" not in str(failed.details)


def test_admin_login_form_records_the_address(owner_a, events):
    client = APIClient()
    client.post(
        "/admin/login/",
        {"username": "owner-a", "password": "bad"},
        REMOTE_ADDR="198.51.100.7",
    )
    (failed,) = events(action="auth.login_failed")
    assert failed.ip == "198.51.100.7"


def test_an_event_rolls_back_with_the_change_it_records(tenant_a, owner_a, events):
    with pytest.raises(RuntimeError), transaction.atomic():
        api_key_create(tenant=tenant_a, name="x", scopes=["read"], created_by=owner_a)
        raise RuntimeError("the caller's transaction fails")
    assert events(action="apikey.created") == []


def test_details_never_keep_secrets(db):
    event = audit_record(
        action="security.alert",
        details={"password": "hunter2", "nested": {"api_key": "k", "ok": 1}},
    )
    event.refresh_from_db()
    assert event.details == {
        "password": "[redacted]",
        "nested": {"api_key": "[redacted]", "ok": 1},
    }
    assert event.actor_label == "system:unknown"


def test_actions_outside_the_catalogue_are_refused(db):
    with pytest.raises(ValueError, match="unknown audit action"):
        audit_record(action="made.up")


def test_events_cannot_be_changed_or_deleted_through_the_orm(db):
    event = audit_record(action="security.alert")
    event.outcome = "failure"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(outcome="failure")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
