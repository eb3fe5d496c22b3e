"""GET /api/v1/audit/reports checks the caller's own events and shows only its
tenant's integrity state; staff keep the platform-wide verification."""

from __future__ import annotations

import pytest

from apps.audit.services import audit_record, audit_seal

pytestmark = pytest.mark.django_db

REPORTS = "/api/v1/audit/reports"


def _events(tenant, n: int) -> list:  # type: ignore[no-untyped-def]
    return [
        audit_record(action="security.alert", tenant=tenant, details={"i": i})
        for i in range(n)
    ]


def _verification(client) -> dict:  # type: ignore[no-untyped-def]
    response = client.get(REPORTS, {"format": "json"})
    assert response.status_code == 200, response.content
    return response.data["verification"]


def test_a_tenant_checks_only_its_own_events(admin_client_a, tenant_a, tenant_b):
    _events(tenant_a, 3)
    _events(tenant_b, 40)
    audit_seal()
    verification = _verification(admin_client_a)
    assert verification["status"] == "ok"
    # Its 3 events and the ones this setup wrote for tenant A (key created...),
    # never tenant B's 40.
    from apps.audit.models import AuditEvent

    own_sealed = AuditEvent.objects.filter(
        tenant=tenant_a, seq__lte=verification_sealed_seq()
    ).count()
    assert verification["events_checked"] == own_sealed
    assert verification["events_checked"] < 40


def verification_sealed_seq() -> int:
    from apps.audit.models import AuditDigest

    return AuditDigest.objects.order_by("-id").values_list("last_seq", flat=True)[0]


def test_another_tenants_tampering_is_not_shown_to_a_tenant(
    admin_client_a, tenant_a, tenant_b, attacker_sql, staff, session_client
):
    _events(tenant_a, 3)
    theirs = _events(tenant_b, 3)
    audit_seal()
    attacker_sql(
        "UPDATE audit_auditevent SET outcome = 'failure' WHERE seq = %s",
        [theirs[1].seq],
    )
    attacker_sql("DELETE FROM audit_auditevent WHERE seq = %s", [theirs[2].seq])
    mine = _verification(admin_client_a)
    assert mine["status"] == "ok"
    assert mine["problems"] == {}
    # Staff see the platform-wide state, deletions included.
    platform = session_client(staff).get(REPORTS, {"format": "json"})
    assert platform.status_code == 200
    assert platform.data["tenant"] is None
    assert platform.data["verification"]["status"] == "failed"
    assert platform.data["verification"]["problems"] == {"modified": 1, "deleted": 1}


def test_a_tenant_sees_tampering_with_its_own_events(
    admin_client_a, tenant_a, attacker_sql
):
    mine = _events(tenant_a, 4)
    audit_seal()
    attacker_sql(
        "UPDATE audit_auditevent SET details = '{\"i\": 99}' WHERE seq = %s",
        [mine[0].seq],
    )
    verification = _verification(admin_client_a)
    assert verification["status"] == "failed"
    assert verification["problems"] == {"modified": 1}


def test_a_tenants_report_does_not_recheck_other_tenants_events(
    admin_client_a, tenant_a, tenant_b
):
    _events(tenant_a, 2)
    _events(tenant_b, 500)
    audit_seal()
    verification = _verification(admin_client_a)
    assert verification["events_checked"] <= 10
    assert verification["digests_checked"] == 1


def test_staff_verify_the_whole_trail_from_the_admin(
    client, django_user_model, tenant_a, tenant_b, attacker_sql
):
    theirs = _events(tenant_b, 3)
    _events(tenant_a, 2)
    (digest,) = audit_seal()
    root = django_user_model.objects.create_superuser("root", password="pw-root-123")
    client.force_login(root)
    ok = client.post(
        "/admin/audit/auditdigest/",
        {"action": "verify_trail", "_selected_action": [digest.pk]},
        follow=True,
    )
    assert "OK: 1 digest(s)" in ok.content.decode()
    attacker_sql("DELETE FROM audit_auditevent WHERE seq = %s", [theirs[0].seq])
    failed = client.post(
        "/admin/audit/auditdigest/",
        {"action": "verify_trail", "_selected_action": [digest.pk]},
        follow=True,
    )
    assert "FAILED: 1 digest(s)" in failed.content.decode()
    assert "deleted: 1" in failed.content.decode()
