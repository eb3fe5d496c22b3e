from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from apps.audit.models import AuditDigest, AuditEvent, AuditPurge
from apps.audit.services import audit_purge, audit_record, audit_seal, build_event
from apps.audit.verify import audit_verify

pytestmark = pytest.mark.django_db


def _write(n: int, **kwargs) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    return [
        audit_record(action="security.alert", details={"i": i, "x": 0.1}, **kwargs)
        for i in range(n)
    ]


def _kinds(report) -> dict[str, list[int | None]]:  # type: ignore[no-untyped-def]
    found: dict[str, list[int | None]] = {}
    for problem in report.problems:
        found.setdefault(problem.kind, []).append(problem.seq)
    return found


def test_sealed_events_verify(db):
    _write(5)
    (digest,) = audit_seal()
    assert digest.event_count == 5
    _write(3)
    audit_seal()
    report = audit_verify()
    assert report.ok, report.problems
    assert report.digests_checked == 2
    assert report.events_checked == 8
    assert report.unsealed == 0


def test_unsealed_events_are_counted_not_failed(db):
    _write(2)
    audit_seal()
    _write(1)
    report = audit_verify()
    assert report.ok
    assert report.unsealed == 1


def test_a_modified_event_is_reported(db, attacker_sql):
    events = _write(4)
    audit_seal()
    attacker_sql(
        "UPDATE audit_auditevent SET outcome = 'failure' WHERE seq = %s",
        [events[2].seq],
    )
    report = audit_verify()
    assert not report.ok
    assert _kinds(report) == {"modified": [events[2].seq]}


def test_an_edited_detail_is_reported(db, attacker_sql):
    events = _write(2)
    audit_seal()
    attacker_sql(
        "UPDATE audit_auditevent SET details = %s WHERE seq = %s",
        [json.dumps({"i": 99, "x": 0.1}), events[0].seq],
    )
    assert _kinds(audit_verify()) == {"modified": [events[0].seq]}


def test_a_deleted_event_is_reported(db, attacker_sql):
    events = _write(4)
    audit_seal()
    attacker_sql("DELETE FROM audit_auditevent WHERE seq = %s", [events[1].seq])
    assert _kinds(audit_verify()) == {"deleted": [events[1].seq]}


def test_an_event_replaced_by_a_forged_one_is_reported(db, attacker_sql):
    events = _write(3)
    audit_seal()
    attacker_sql("DELETE FROM audit_auditevent WHERE seq = %s", [events[1].seq])
    attacker_sql(
        "INSERT INTO audit_auditevent (seq, ts, action, outcome, actor_type, "
        "actor_label, actor_key_prefix, ip, user_agent, request_id, trace_id, "
        "resource_type, resource_id, details) VALUES (%s, %s, 'auth.login', "
        "'success', 'user', 'mallory', '', '', '', '', '', '', '', '{}')",
        [events[1].seq, timezone.now()],
    )
    report = audit_verify()
    # Same seq, different content: the verifier sees the row it did not seal.
    assert _kinds(report) == {"modified": [events[1].seq]}


def test_a_row_slipped_between_sealed_events_is_reported_as_inserted(db, attacker_sql):
    first = audit_record(action="security.alert")
    # Leave a gap in the sequence, as a rolled-back transaction would.
    last = build_event(action="security.alert")
    last.seq = first.seq + 2
    last.save(force_insert=True)
    audit_seal()
    gap = first.seq + 1
    assert gap < last.seq
    attacker_sql(
        "INSERT INTO audit_auditevent (seq, ts, action, outcome, actor_type, "
        "actor_label, actor_key_prefix, ip, user_agent, request_id, trace_id, "
        "resource_type, resource_id, details) VALUES (%s, %s, 'auth.login', "
        "'success', 'user', 'mallory', '', '', '', '', '', '', '', '{}')",
        [gap, timezone.now()],
    )
    assert _kinds(audit_verify()) == {"inserted": [gap]}


def test_a_forged_digest_breaks_its_signature(db, attacker_sql):
    _write(2)
    (digest,) = audit_seal()
    attacker_sql(
        "UPDATE audit_auditdigest SET event_count = 1 WHERE id = %s", [digest.pk]
    )
    assert "bad_signature" in audit_verify().counts


def test_a_removed_digest_breaks_the_chain(db, attacker_sql):
    _write(2)
    audit_seal()
    _write(2)
    (middle,) = audit_seal()
    _write(2)
    audit_seal()
    attacker_sql("DELETE FROM audit_auditdigest WHERE id = %s", [middle.pk])
    report = audit_verify()
    assert report.counts.get("broken_link") == 1
    assert "inserted" in report.counts  # the events it sealed are now unaccounted


def test_verify_since_checks_only_recent_digests(db):
    _write(2)
    audit_seal()
    _write(2)
    audit_seal()
    report = audit_verify(since=timezone.now() + timedelta(days=1))
    assert report.ok
    assert report.digests_checked == 0


def test_purge_removes_old_events_and_verify_still_passes(
    db, settings, tenant_a, tenant_b, attacker_sql
):
    settings.CADML_AUDIT_RETENTION_DAYS = 30
    settings.CADML_AUDIT_RETENTION_OVERRIDES = "auth=365"
    tenant_b.legal_hold = True
    tenant_b.save()
    old = timezone.now() - timedelta(days=60)
    old_a = _write(3, tenant=tenant_a)
    old_b = _write(2, tenant=tenant_b)
    old_login = audit_record(action="auth.login_failed", tenant=tenant_a)
    young = _write(2, tenant=tenant_a)
    ids = [e.seq for e in old_a + old_b + [old_login]]
    attacker_sql(
        "UPDATE audit_auditevent SET ts = %s WHERE seq IN "
        f"({', '.join(['%s'] * len(ids))})",
        [old, *ids],
    )
    result = audit_purge()
    assert result.purged == 3
    left = set(AuditEvent.objects.values_list("seq", flat=True))
    assert not left & {e.seq for e in old_a}
    assert {e.seq for e in old_b + young + [old_login]} <= left  # hold, age, override
    (purged,) = AuditEvent.objects.filter(action="audit.purged")
    assert purged.details["count"] == 3
    assert purged.details["anchor_hash"]
    report = audit_verify()
    assert report.ok, report.problems
    assert report.purged_accounted == 3
    assert report.unsealed == 0  # the purge record was sealed too


def test_widening_a_purge_record_to_hide_a_deletion_is_caught(
    db, settings, attacker_sql
):
    settings.CADML_AUDIT_RETENTION_DAYS = 1
    events = _write(4)
    attacker_sql(
        "UPDATE audit_auditevent SET ts = %s WHERE seq = %s",
        [timezone.now() - timedelta(days=5), events[0].seq],
    )
    audit_purge()
    purge = AuditPurge.objects.get()
    attacker_sql("DELETE FROM audit_auditevent WHERE seq = %s", [events[1].seq])
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditpurge DISABLE TRIGGER USER")
        cursor.execute(
            "UPDATE audit_auditpurge SET runs = %s WHERE id = %s",
            [json.dumps([[events[0].seq, events[1].seq]]), purge.pk],
        )
    report = audit_verify()
    assert "bad_purge" in report.counts
    # A purge record that was altered vouches for nothing: both gaps show.
    assert report.counts.get("deleted") == 2


def test_verify_command_exits_non_zero_and_speaks_json(db, attacker_sql, capsys):
    events = _write(2)
    call_command("audit_seal")
    call_command("audit_verify")
    assert "OK" in capsys.readouterr().out
    attacker_sql("DELETE FROM audit_auditevent WHERE seq = %s", [events[0].seq])
    with pytest.raises(SystemExit) as exited:
        call_command("audit_verify", "--json")
    assert exited.value.code == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["counts"] == {"deleted": 1}
    assert report["problems"][0]["seq"] == events[0].seq


def test_verify_command_rejects_a_bad_since(db):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="not a date"):
        call_command("audit_verify", "--since", "last tuesday")


def test_postgres_refuses_update_and_delete_outside_the_purge(db, postgres):
    event = audit_record(action="security.alert")
    audit_seal()
    for sql in (
        "UPDATE audit_auditevent SET outcome = 'failure' WHERE seq = %s",
        "DELETE FROM audit_auditevent WHERE seq = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql, [event.seq])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE audit_auditdigest SET event_count = 0")
    # The purge's switch allows DELETE, never UPDATE.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL cadml.audit_purge = 'on'")
        cursor.execute("DELETE FROM audit_auditevent WHERE seq = %s", [event.seq])
    assert not AuditEvent.objects.filter(seq=event.seq).exists()
    assert AuditDigest.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_verify_outside_a_transaction_checks_every_window(postgres, attacker_sql):
    """Outside a transaction verification hashes windows of seqs on worker
    connections; a change in any window is still found."""
    from apps.audit.services import HASH_WINDOW as CHUNK

    AuditEvent.objects.bulk_create(
        [build_event(action="api.call", details={"i": i}) for i in range(CHUNK + 50)]
    )
    audit_seal()
    assert audit_verify().ok
    last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True)[0]
    attacker_sql(
        "UPDATE audit_auditevent SET details = '{\"i\": -1}' WHERE seq = %s", [last]
    )
    report = audit_verify()
    assert report.events_checked == CHUNK + 50
    assert _kinds(report) == {"modified": [last]}
