from __future__ import annotations

import csv
import io

import pytest
from django.core import signing

from apps.accounts.services import api_key_revoke
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record, audit_seal

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/audit/events"


def _seed(tenant_a, tenant_b) -> None:  # type: ignore[no-untyped-def]
    for i in range(5):
        audit_record(action="security.alert", tenant=tenant_a, details={"i": i})
    # An id no fixture row can have: the api key the test's client holds is
    # audited with its own id, which depends on what ran before in this database.
    audit_record(action="model.activated", tenant=tenant_a, resource_id="987654")
    audit_record(action="security.alert", tenant=tenant_b, details={"secret_b": 1})


def test_owner_sees_only_their_tenant(admin_client_a, tenant_a, tenant_b, owner_b):
    _seed(tenant_a, tenant_b)
    response = admin_client_a.get(EVENTS, {"action": "security.alert"})
    assert response.status_code == 200
    results = response.data["results"]
    assert len(results) == 5
    assert {r["tenant"] for r in results} == {"tenant-a"}
    assert [r["details"]["i"] for r in results] == [4, 3, 2, 1, 0]  # newest first


def test_asking_for_another_tenant_is_404(admin_client_a, tenant_a, tenant_b):
    _seed(tenant_a, tenant_b)
    response = admin_client_a.get(EVENTS, {"tenant": "tenant-b"})
    assert response.status_code == 404
    assert "secret_b" not in str(response.content)


def test_staff_sees_every_tenant_and_can_narrow(
    staff, session_client, tenant_a, tenant_b
):
    _seed(tenant_a, tenant_b)
    client = session_client(staff)
    every = client.get(EVENTS, {"action": "security.alert"}).data["results"]
    assert {r["tenant"] for r in every} == {"tenant-a", "tenant-b"}
    only_b = client.get(EVENTS, {"action": "security.alert", "tenant": "tenant-b"})
    assert [r["tenant"] for r in only_b.data["results"]] == ["tenant-b"]


def test_members_and_read_keys_may_not_read_the_audit_trail(
    api_client_a, member_a, session_client
):
    assert api_client_a.get(EVENTS).status_code == 403
    assert session_client(member_a).get(EVENTS).status_code == 403
    assert AuditEvent.objects.filter(action="authz.denied").count() == 2


def test_filters(admin_client_a, tenant_a, tenant_b):
    _seed(tenant_a, tenant_b)
    by_prefix = admin_client_a.get(EVENTS, {"action": "model."}).data["results"]
    assert [r["action"] for r in by_prefix] == ["model.activated"]
    by_category = admin_client_a.get(EVENTS, {"action": "model"}).data["results"]
    assert by_category == by_prefix
    by_resource = admin_client_a.get(EVENTS, {"resource_id": "987654"}).data["results"]
    assert [r["action"] for r in by_resource] == ["model.activated"]
    response = admin_client_a.get("/api/v1/me", HTTP_X_REQUEST_ID="req-12345678")
    assert response.status_code == 200
    by_request = admin_client_a.get(EVENTS, {"request_id": "req-12345678"})
    assert [r["action"] for r in by_request.data["results"]] == ["api.call"]
    by_actor = admin_client_a.get(
        EVENTS, {"actor": admin_client_a.api_key.prefix, "action": "api.call"}
    ).data["results"]
    assert by_actor and all(
        r["actor"]["key_prefix"] == admin_client_a.api_key.prefix for r in by_actor
    )
    future = admin_client_a.get(EVENTS, {"since": "2999-01-01"}).data["results"]
    assert future == []
    denied = admin_client_a.get(EVENTS, {"outcome": "denied"}).data["results"]
    assert denied == []


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2024-13-45"}, "until"),
        ({"action": "made.up"}, "action"),
        ({"outcome": "meh"}, "outcome"),
        ({"limit": "0"}, "limit"),
        ({"since": "2024-02-01", "until": "2024-01-01"}, "since"),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(admin_client_a, params, names):
    response = admin_client_a.get(EVENTS, params)
    assert response.status_code == 400
    assert response.data["detail"].startswith(names)


def test_any_offset_python_reads_is_a_valid_time_filter(admin_client_a, tenant_a):
    # PostgreSQL takes offsets up to +-15:59 only; the API must not pass on more.
    audit_record(action="security.alert", tenant=tenant_a)
    response = admin_client_a.get(EVENTS, {"since": "2000-01-01T00:00:00+20:14"})
    assert response.status_code == 200
    assert "security.alert" in [e["action"] for e in response.data["results"]]
    response = admin_client_a.get(EVENTS, {"until": "0001-01-01T00:00:00+01:00"})
    assert response.status_code == 400
    assert response.data["detail"].startswith("until")


def test_cursor_pages_through_everything_once(admin_client_a, tenant_a, tenant_b):
    _seed(tenant_a, tenant_b)
    seen: list[int] = []
    params = {"action": "security.alert", "limit": "2"}
    response = admin_client_a.get(EVENTS, params)
    while True:
        seen += [r["seq"] for r in response.data["results"]]
        cursor = response.data["next_cursor"]
        if cursor is None:
            break
        assert response.data["next"].startswith("http")
        response = admin_client_a.get(EVENTS, {**params, "cursor": cursor})
        assert response.status_code == 200
    assert len(seen) == 5 == len(set(seen))
    assert seen == sorted(seen, reverse=True)


def test_tampered_cursors_are_400(admin_client_a, tenant_a, tenant_b):
    _seed(tenant_a, tenant_b)
    params = {"action": "security.alert", "limit": "2"}
    cursor = admin_client_a.get(EVENTS, params).data["next_cursor"]
    payload, _, signature = cursor.partition(":")
    forged = signing.dumps({"seq": 10**9, "scope": None}, salt="other")
    for bad in (cursor[:-2] + "xx", forged, "garbage"):
        response = admin_client_a.get(EVENTS, {**params, "cursor": bad})
        assert response.status_code == 400
        assert response.data["detail"].startswith("cursor")
    # A genuine cursor reused with other filters is refused too.
    response = admin_client_a.get(EVENTS, {"action": "model.", "cursor": cursor})
    assert response.status_code == 400


def test_audit_events_cannot_be_written_through_the_api(admin_client_a, tenant_a):
    event = audit_record(action="security.alert", tenant=tenant_a)
    for method in ("post", "put", "patch", "delete"):
        response = getattr(admin_client_a, method)(EVENTS, {}, format="json")
        assert response.status_code == 405, method
    assert AuditEvent.objects.filter(seq=event.seq).exists()


def test_reading_the_audit_trail_is_itself_audited(admin_client_a):
    admin_client_a.get(EVENTS, {"action": "auth."})
    (export,) = AuditEvent.objects.filter(action="audit.exported")
    assert export.details["what"] == "events"
    assert export.details["filters"]["action"] == ["auth."]


def test_changes_show_who_changed_a_key_from_where_and_in_which_request(
    admin_client_a, owner_a, tenant_a
):
    created = admin_client_a.post(
        "/api/v1/api-keys",
        {"name": "ci", "scopes": ["read"]},
        format="json",
        HTTP_X_REQUEST_ID="create-req-0001",
        REMOTE_ADDR="203.0.113.9",
    )
    key_id = created.data["id"]
    admin_client_a.delete(f"/api/v1/api-keys/{key_id}")
    response = admin_client_a.get(
        "/api/v1/audit/changes", {"object_type": "accounts.apikey", "object_id": key_id}
    )
    assert response.status_code == 200
    changes = response.data["results"]
    assert [c["action"] for c in changes] == ["update", "create"]
    create = changes[1]
    # The key made the change, not the user who created the key.
    assert create["actor"] == f"key:{admin_client_a.api_key.prefix}"
    assert create["remote_addr"] == "203.0.113.9"
    assert create["request_id"] == "create-req-0001"
    assert "secret_hash" not in create["changes"]
    assert "revoked_at" in changes[0]["changes"]


def test_changes_of_another_tenants_object_are_404(admin_client_a, api_client_b):
    response = admin_client_a.get(
        "/api/v1/audit/changes",
        {"object_type": "accounts.apikey", "object_id": api_client_b.api_key.pk},
    )
    assert response.status_code == 404
    bad_type = admin_client_a.get(
        "/api/v1/audit/changes", {"object_type": "auth.user", "object_id": "1"}
    )
    assert bad_type.status_code == 400
    assert bad_type.data["detail"].startswith("object_type")


def test_compliance_report_json_and_csv(
    admin_client_a, tenant_a, tenant_b, api_client_a
):
    _seed(tenant_a, tenant_b)
    api_key_revoke(api_key=api_client_a.api_key)
    api_client_a.get("/api/v1/me", REMOTE_ADDR="192.0.2.44")  # rejected: revoked
    audit_record(action="ratelimit.blocked", tenant=tenant_a, actor_key_prefix="abc")
    audit_seal()
    report = admin_client_a.get("/api/v1/audit/reports", {"format": "json"})
    assert report.status_code == 200
    data = report.data
    assert data["tenant"] == "tenant-a"
    totals = {(r["action"], r["outcome"]): r["count"] for r in data["totals"]}
    assert totals[("security.alert", "success")] == 5
    assert totals[("apikey.revoked", "success")] == 1
    assert data["key_rejections"] == [
        {
            "ip": "192.0.2.44",
            "actor_key_prefix": api_client_a.api_key.prefix,
            "count": 1,
        }
    ]
    assert data["rate_limit_blocks"][0]["count"] == 1
    assert [m["action"] for m in data["model_changes"]] == ["model.activated"]
    assert {k["action"] for k in data["key_lifecycle"]} == {
        "apikey.created",
        "apikey.revoked",
    }
    assert data["verification"]["status"] == "ok"
    response = admin_client_a.get("/api/v1/audit/reports", {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["section", "action", "outcome", "source", "actor", "ts", "count"]
    assert ["totals", "security.alert", "success", "", "", "", "5"] in rows
    assert any(r[0] == "verification" and r[1] == "ok" for r in rows)
    exports = AuditEvent.objects.filter(action="audit.exported", tenant=tenant_a)
    assert {e.details["format"] for e in exports} == {"json", "csv"}


def test_report_bad_input(admin_client_a):
    bad_format = admin_client_a.get("/api/v1/audit/reports", {"format": "pdf"})
    assert bad_format.status_code == 400
    assert bad_format.data["detail"].startswith("format")
    bad_from = admin_client_a.get("/api/v1/audit/reports", {"from": "01/02/2024"})
    assert bad_from.status_code == 400
    assert bad_from.data["detail"].startswith("from")


def test_batch_job_changes_are_tracked_and_tenant_scoped(
    admin_client_a, owner_a, tenant_a, tenant_b
):
    from apps.batch.models import BatchJob

    job = BatchJob.objects.create(tenant=tenant_a, created_by=owner_a, total=3)
    job.status = BatchJob.Status.CANCELLED
    job.done = 2  # progress counters are not history
    job.save()
    other = BatchJob.objects.create(tenant=tenant_b, total=1)
    response = admin_client_a.get(
        "/api/v1/audit/changes", {"object_type": "batch.batchjob", "object_id": job.pk}
    )
    assert response.status_code == 200
    update, create = response.data["results"]
    assert update["changes"]["status"] == ["queued", "cancelled"]
    assert "done" not in update["changes"]
    assert create["action"] == "create"
    assert (
        admin_client_a.get(
            "/api/v1/audit/changes",
            {"object_type": "batch.batchjob", "object_id": other.pk},
        ).status_code
        == 404
    )
