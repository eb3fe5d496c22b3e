"""The one seam for cross-app notices (``cadml.lib.events``): domain apps say
what happened, the audit and realtime apps subscribe in their ``ready()``. A
domain change works the same with nobody listening; what the audit trail
shows comes through the real subscribers."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.accounts.models import Tenant
from apps.accounts.services import (
    api_key_create,
    api_key_revoke,
    tenant_webhook_secret_rotate,
)
from apps.audit.context import audit_actor
from apps.audit.models import AuditEvent
from apps.audit.receivers import on_recorded
from apps.cad.synth import generate_part
from apps.realtime.signals import notice_announced
from cadml.lib import events

pytestmark = pytest.mark.django_db


def _upload(client) -> int:  # type: ignore[no-untyped-def]
    content = generate_part("flange", random.Random(1))
    response = client.post(
        "/api/v1/drawings",
        {"file": SimpleUploadedFile("flange-1.dxf", content)},
        format="multipart",
    )
    assert response.status_code in (200, 201), response.data
    return int(response.data["id"])


@pytest.fixture
def nobody_listens() -> Iterator[None]:
    """As if the audit and realtime apps were not installed: their receivers
    are disconnected by the ids they were connected with, and put back."""
    assert events.recorded.disconnect(dispatch_uid="audit.events.recorded")
    assert events.announced.disconnect(dispatch_uid="realtime.notice_announced")
    try:
        yield
    finally:
        events.recorded.connect(on_recorded, dispatch_uid="audit.events.recorded")
        events.announced.connect(
            notice_announced, dispatch_uid="realtime.notice_announced"
        )


def test_with_nobody_listening_keys_and_labels_still_change(
    nobody_listens, admin_client_a, tenant_a
):
    created = admin_client_a.post(
        "/api/v1/api-keys", {"name": "ci", "scopes": ["read"]}, format="json"
    )
    assert created.status_code == 201, created.data
    assert (
        admin_client_a.delete(f"/api/v1/api-keys/{created.data['id']}").status_code
        == 204
    )
    listed = {k["id"]: k for k in admin_client_a.get("/api/v1/api-keys").data}
    assert listed[created.data["id"]]["revoked_at"] is not None

    drawing_id = _upload(admin_client_a)
    patched = admin_client_a.patch(
        f"/api/v1/drawings/{drawing_id}", {"label": "Flange"}, format="json"
    )
    assert patched.status_code == 200, patched.data
    assert patched.data["label"] == "flange"
    # Nothing subscribed, so nothing recorded the facts.
    assert not AuditEvent.objects.filter(
        action__in=["apikey.created", "apikey.revoked", "drawing.labelled"]
    ).exists()


def test_the_same_changes_reach_the_audit_trail_through_its_subscriber(
    admin_client_a, tenant_a
):
    before = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True)[0]
    created = admin_client_a.post(
        "/api/v1/api-keys", {"name": "ci", "scopes": ["read"]}, format="json"
    )
    admin_client_a.delete(f"/api/v1/api-keys/{created.data['id']}")
    drawing_id = _upload(admin_client_a)
    admin_client_a.patch(
        f"/api/v1/drawings/{drawing_id}", {"label": "Flange"}, format="json"
    )
    recorded = list(
        AuditEvent.objects.filter(
            seq__gt=before,
            action__in=["apikey.created", "apikey.revoked", "drawing.labelled"],
        )
        .order_by("seq")
        .values_list("action", "tenant_id", "actor_label", "resource_id")
    )
    # The key that made the requests is the actor, not the user who owns it.
    by = f"key:{admin_client_a.api_key.prefix}"
    assert recorded == [
        ("apikey.created", tenant_a.pk, by, str(created.data["id"])),
        ("apikey.revoked", tenant_a.pk, by, str(created.data["id"])),
        ("drawing.labelled", tenant_a.pk, by, str(drawing_id)),
    ]


def test_a_key_made_outside_a_request_names_its_creator_unless_someone_acts(
    tenant_a, owner_a
):
    made = api_key_create(
        tenant=tenant_a, name="cli", scopes=["read"], created_by=owner_a
    )
    with audit_actor(system="maintenance"):
        api_key_revoke(api_key=made.api_key)
    created, revoked = AuditEvent.objects.filter(
        resource_type="api_key", resource_id=str(made.api_key.pk)
    ).order_by("seq")
    assert (created.action, created.actor_user_id) == ("apikey.created", owner_a.pk)
    assert (revoked.action, revoked.actor_label) == (
        "apikey.revoked",
        "system:maintenance",
    )
    assert made.plaintext not in str(created.details)


def test_history_is_declared_by_each_app_and_never_keeps_a_secret(tenant_a):
    """accounts declares its models' history on its AppConfig; the audit app
    tracks them: a plan change is in the history, the webhook secret never."""
    old_secret = tenant_a.webhook_secret
    tenant_webhook_secret_rotate(tenant=tenant_a)
    tenant_a.plan = "enterprise"
    tenant_a.save(update_fields=["plan"])
    entries = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Tenant),
        object_pk=str(tenant_a.pk),
    )
    changed = [entry.changes_dict for entry in entries]
    assert any("plan" in change for change in changed), changed
    assert all("webhook_secret" not in change for change in changed), changed
    tenant_a.refresh_from_db()
    assert old_secret not in str(changed) and tenant_a.webhook_secret not in str(
        changed
    )
