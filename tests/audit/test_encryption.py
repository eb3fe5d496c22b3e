from __future__ import annotations

import base64
import os

import pytest
from django.core.checks import run_checks
from django.core.management import CommandError, call_command
from django.db import connection

from apps.audit.keys import forget_keys
from apps.audit.models import AuditDataKey, AuditEvent
from apps.audit.services import audit_record, audit_seal
from apps.audit.verify import audit_verify

EVENTS = "/api/v1/audit/events"


def new_kek() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


@pytest.fixture(autouse=True)
def encrypted(settings):  # type: ignore[no-untyped-def]
    settings.CADML_AUDIT_ENCRYPT = True
    settings.CADML_AUDIT_KEK = [new_kek()]
    forget_keys()
    yield settings
    forget_keys()


def _login_failure(tenant, ip: str = "203.0.113.7"):  # type: ignore[no-untyped-def]
    return audit_record(
        action="auth.login_failed",
        outcome="failure",
        tenant=tenant,
        actor_system="web",
        ip=ip,
        user_agent="curl/8.5",
        details={"username": "alice@example.com"},
    )


def _raw(seq: int) -> tuple:  # type: ignore[type-arg]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ip, user_agent, actor_label, details::text, personal "
            "FROM audit_auditevent WHERE seq = %s",
            [seq],
        )
        return cursor.fetchone()


def test_personal_fields_are_not_stored_in_clear(tenant_a):  # type: ignore[no-untyped-def]
    event = _login_failure(tenant_a)
    ip, user_agent, label, details, personal = _raw(event.seq)
    assert (ip, user_agent, label, details) == ("", "", "", "{}")
    assert "203.0.113.7" not in personal and "alice" not in personal
    assert personal


def test_owner_reads_them_decrypted_and_searches_by_ip_and_actor(
    admin_client_a, tenant_a, tenant_b
):  # type: ignore[no-untyped-def]
    _login_failure(tenant_a)
    _login_failure(tenant_a, ip="198.51.100.1")
    _login_failure(tenant_b)
    found = admin_client_a.get(EVENTS, {"ip": "203.0.113.7"}).data["results"]
    assert len(found) == 1
    assert found[0]["ip"] == "203.0.113.7"
    assert found[0]["user_agent"] == "curl/8.5"
    assert found[0]["details"] == {"username": "alice@example.com"}
    assert found[0]["actor"]["label"] == "system:web"
    assert found[0]["personal_data"] == "decrypted"
    by_actor = admin_client_a.get(EVENTS, {"actor": "system:web"}).data["results"]
    assert {e["ip"] for e in by_actor} >= {"203.0.113.7", "198.51.100.1"}
    assert all(e["tenant"] == "tenant-a" for e in by_actor)


def test_staff_search_by_ip_spans_tenants(staff, session_client, tenant_a, tenant_b):  # type: ignore[no-untyped-def]
    _login_failure(tenant_a)
    _login_failure(tenant_b)
    found = session_client(staff).get(EVENTS, {"ip": "203.0.113.7"}).data["results"]
    assert {e["tenant"] for e in found} == {"tenant-a", "tenant-b"}


def test_tenants_have_their_own_keys_and_blind_indexes(tenant_a, tenant_b):  # type: ignore[no-untyped-def]
    a = _login_failure(tenant_a)
    b = _login_failure(tenant_b)
    assert a.personal_key != b.personal_key
    assert a.ip_index != b.ip_index  # same ip, unlinkable across tenants


def test_chain_covers_the_ciphertext_and_verifies_without_keys(
    tenant_a, attacker_sql, settings
):  # type: ignore[no-untyped-def]
    events = [_login_failure(tenant_a) for _ in range(3)]
    audit_seal()
    settings.CADML_AUDIT_KEK = []  # the verifier holds no keys
    forget_keys()
    assert audit_verify().ok
    other = events[2].personal
    attacker_sql(
        "UPDATE audit_auditevent SET personal = %s WHERE seq = %s",
        [other, events[1].seq],
    )
    report = audit_verify()
    assert report.counts == {"modified": 1}
    assert report.problems[0].seq == events[1].seq


def test_damaged_ciphertext_shows_as_unreadable(admin_client_a, tenant_a, attacker_sql):  # type: ignore[no-untyped-def]
    event = _login_failure(tenant_a)
    attacker_sql(
        "UPDATE audit_auditevent SET personal = %s WHERE seq = %s",
        [base64.b64encode(os.urandom(60)).decode(), event.seq],
    )
    found = admin_client_a.get(EVENTS, {"action": "auth.login_failed"}).data
    row = found["results"][0]
    assert row["personal_data"] == "unreadable"
    assert row["ip"] is None and row["details"] == {}


def test_shred_makes_events_unreadable_but_verifiable(
    admin_client_a, tenant_a, tenant_b
):  # type: ignore[no-untyped-def]
    _login_failure(tenant_a)
    kept = _login_failure(tenant_b)
    call_command("audit_shred", "tenant-a", "--yes")
    audit_seal()
    assert audit_verify().ok
    row = admin_client_a.get(EVENTS, {"action": "auth.login_failed"}).data["results"]
    assert row[0]["personal_data"] == "shredded"
    assert row[0]["ip"] is None and row[0]["actor"]["label"] == "[shredded]"
    # Search by ip no longer finds it: the index key is gone too.
    assert admin_client_a.get(EVENTS, {"ip": "203.0.113.7"}).data["results"] == []
    # Other tenants are untouched; the shredding itself is audited.
    from apps.audit.keys import event_personal

    assert event_personal(AuditEvent.objects.get(seq=kept.seq)).ip == "203.0.113.7"
    record = AuditEvent.objects.get(action="audit.shredded")
    assert record.details["tenant_id"] == tenant_a.pk
    assert record.details["keys_destroyed"] == 1


def test_shred_is_refused_under_legal_hold(tenant_a):  # type: ignore[no-untyped-def]
    _login_failure(tenant_a)
    tenant_a.legal_hold = True
    tenant_a.save(update_fields=["legal_hold"])
    with pytest.raises(CommandError, match="legal hold"):
        call_command("audit_shred", "tenant-a", "--yes")
    assert AuditDataKey.objects.filter(tenant=tenant_a, shredded__isnull=True).exists()


def test_shred_asks_for_confirmation(tenant_a, monkeypatch):  # type: ignore[no-untyped-def]
    _login_failure(tenant_a)
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with pytest.raises(CommandError, match="not shredded"):
        call_command("audit_shred", "tenant-a")
    assert AuditDataKey.objects.filter(tenant=tenant_a, shredded__isnull=True).exists()


def test_kek_rotation_rewraps_keys_and_old_events_stay_readable(
    tenant_a, settings, capsys
):  # type: ignore[no-untyped-def]
    from apps.audit.keys import event_personal

    old = settings.CADML_AUDIT_KEK[0]
    event = _login_failure(tenant_a)
    settings.CADML_AUDIT_KEK = [new_kek(), old]
    forget_keys()
    call_command("audit_rotate_keys", "--json")
    assert '"rewrapped": 1' in capsys.readouterr().out
    settings.CADML_AUDIT_KEK = settings.CADML_AUDIT_KEK[:1]  # old KEK retired
    forget_keys()
    stored = AuditEvent.objects.get(seq=event.seq)
    assert event_personal(stored).ip == "203.0.113.7"
    assert stored.personal == event.personal  # no event was rewritten
    assert AuditEvent.objects.filter(action="audit.keys_rotated").count() == 1


def test_data_key_rotation_starts_a_new_key_and_search_spans_both(
    admin_client_a, tenant_a
):  # type: ignore[no-untyped-def]
    before = _login_failure(tenant_a)
    call_command("audit_rotate_keys", "--data-keys")
    forget_keys()
    after = _login_failure(tenant_a)
    assert before.personal_key != after.personal_key
    found = admin_client_a.get(EVENTS, {"ip": "203.0.113.7"}).data["results"]
    assert {e["seq"] for e in found} == {before.seq, after.seq}
    assert all(e["personal_data"] == "decrypted" for e in found)


def test_missing_or_wrong_kek_fails_the_system_check(tenant_a, settings):  # type: ignore[no-untyped-def]
    _login_failure(tenant_a)
    settings.CADML_AUDIT_KEK = []
    forget_keys()
    errors = [e for e in run_checks() if e.id == "audit.E004"]
    assert errors and "CADML_AUDIT_KEK" in errors[0].msg
    settings.CADML_AUDIT_KEK = ["not-a-key"]
    assert any(e.id == "audit.E004" for e in run_checks())
    settings.CADML_AUDIT_KEK = [new_kek()]  # well formed, but not the one used
    forget_keys()
    errors = [e for e in run_checks() if e.id == "audit.E005"]
    assert errors and "CADML_AUDIT_KEK" in errors[0].msg


REPORTS = "/api/v1/audit/reports"


def test_report_and_csv_show_decrypted_sources_to_the_owner(admin_client_a, tenant_a):  # type: ignore[no-untyped-def]
    _login_failure(tenant_a)
    _login_failure(tenant_a)
    report = admin_client_a.get(REPORTS, {"format": "json"}).data
    assert report["failed_sign_ins"] == [
        {"ip": "203.0.113.7", "details__username": "alice@example.com", "count": 2}
    ]
    csv_text = admin_client_a.get(REPORTS, {"format": "csv"}).content.decode()
    assert "failed_sign_ins,auth.login_failed,,203.0.113.7,alice@example.com,,2" in (
        csv_text
    )


def test_report_after_shredding_says_shredded(admin_client_a, tenant_a):  # type: ignore[no-untyped-def]
    _login_failure(tenant_a)
    call_command("audit_shred", "tenant-a", "--yes")
    report = admin_client_a.get(REPORTS, {"format": "json"}).data
    assert report["failed_sign_ins"][0]["ip"] == "[shredded]"
    assert (
        "203.0.113.7"
        not in admin_client_a.get(REPORTS, {"format": "csv"}).content.decode()
    )


def test_admin_decrypts_for_staff_and_finds_by_ip(admin_client, tenant_a):  # type: ignore[no-untyped-def]
    event = _login_failure(tenant_a)
    page = admin_client.get("/admin/audit/auditevent/", {"q": "203.0.113.7"})
    assert page.status_code == 200
    assert f">{event.seq}<" in page.content.decode()
    assert "203.0.113.7" in page.content.decode()
    detail = admin_client.get(f"/admin/audit/auditevent/{event.seq}/change/").content
    assert b"alice@example.com" in detail


def test_deleting_a_tenant_shreds_its_audit_keys(tenant_a, tenant_b):  # type: ignore[no-untyped-def]
    from apps.audit.keys import event_personal

    gone = _login_failure(tenant_a)
    kept = _login_failure(tenant_b)
    tenant_a.delete()
    forget_keys()
    assert event_personal(AuditEvent.objects.get(seq=gone.seq)).state == "shredded"
    assert event_personal(AuditEvent.objects.get(seq=kept.seq)).state == "decrypted"


def test_deleting_a_tenant_on_legal_hold_keeps_its_keys(tenant_a):  # type: ignore[no-untyped-def]
    from apps.audit.keys import event_personal

    event = _login_failure(tenant_a)
    tenant_a.legal_hold = True
    tenant_a.save(update_fields=["legal_hold"])
    tenant_a.delete()
    forget_keys()
    assert event_personal(AuditEvent.objects.get(seq=event.seq)).ip == "203.0.113.7"


def test_a_process_without_a_kek_refuses_to_start():  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "CADML_AUDIT_KEK"}
    env["CADML_AUDIT_ENCRYPT"] = "1"
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "CADML_AUDIT_KEK is not set" in result.stderr
