from __future__ import annotations

import pytest
from django.conf import settings
from django.core.checks import run_checks

from apps.audit.models import AuditDigest, AuditEvent
from apps.audit.services import audit_record
from apps.audit.tasks import audit_purge_task, audit_seal_task
from cadml.celery import app as celery_app

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_superuser("root", password="pw-root-123")


def test_admin_shows_events_but_cannot_add_change_or_delete(client, superuser, db):
    event = audit_record(action="security.alert", details={"why": "test"})
    client.force_login(superuser)
    assert client.get("/admin/audit/auditevent/").status_code == 200
    page = client.get(f"/admin/audit/auditevent/{event.seq}/change/")
    assert page.status_code == 200
    assert b"security.alert" in page.content
    assert client.get("/admin/audit/auditevent/add/").status_code == 403
    client.post(f"/admin/audit/auditevent/{event.seq}/delete/", {"post": "yes"})
    assert AuditEvent.objects.filter(seq=event.seq).exists()
    assert client.get("/admin/auditlog/logentry/").status_code == 200


def test_tracked_objects_have_their_history_in_the_admin(
    client, superuser, admin_client_a
):
    key = admin_client_a.api_key
    client.force_login(superuser)
    page = client.get(f"/admin/accounts/apikey/{key.pk}/auditlog/")
    assert page.status_code == 200
    assert key.name.encode() in page.content
    assert b"secret_hash" not in page.content
    listing = client.get("/admin/accounts/apikey/")
    assert f"/admin/accounts/apikey/{key.pk}/auditlog/".encode() in listing.content


def test_beat_runs_seal_every_five_minutes_and_purge_daily(db):
    schedule = {
        e["task"]: e["schedule"] for e in settings.CELERY_BEAT_SCHEDULE.values()
    }
    assert schedule["apps.audit.tasks.audit_seal_task"] == 300.0
    assert schedule["apps.audit.tasks.audit_purge_task"] == 86400.0
    assert "apps.audit.tasks.audit_seal_task" in celery_app.tasks
    audit_record(action="security.alert")
    # Every event not sealed yet, ours included (a server of an earlier test
    # may have written one more in this database).
    unsealed = AuditEvent.objects.count()
    assert unsealed >= 1
    assert audit_seal_task() == unsealed
    assert AuditDigest.objects.count() == 1
    assert audit_purge_task() == 0


def test_misconfiguration_is_a_system_check(settings):
    settings.CADML_AUDIT_RETENTION_DAYS = 0
    settings.CADML_AUDIT_RETENTION_OVERRIDES = "api=ninety"
    settings.DEBUG = False
    settings.CADML_AUDIT_SIGNING_KEY = ""
    ids = {m.id for m in run_checks() if m.id.startswith("audit.")}
    assert ids == {"audit.E001", "audit.E002", "audit.W001"}
    settings.CADML_AUDIT_RETENTION_OVERRIDES = "nope=3"
    assert any(
        "unknown category" in m.msg for m in run_checks() if m.id == "audit.E002"
    )
