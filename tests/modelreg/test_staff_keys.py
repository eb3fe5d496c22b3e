"""An API key's rights are its scopes in its tenant, whoever created it.

The attacker: a tenant whose owner is a staff user (``createtenant charlie --owner
demo``) uses that tenant's admin key against every staff-only path.
"""

from __future__ import annotations

import grpc
import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from apps.accounts.models import Membership
from apps.accounts.services import api_key_create, membership_create, tenant_create
from apps.audit.models import AuditEvent
from apps.modelreg.models import ActivationEvent, Deployment
from apps.modelreg.services.deployments import deployment_request
from tests.conftest import key_client
from tests.modelreg.conftest import sklearn_onnx

PLATFORM = "part-classifier"


@pytest.fixture
def staff_owner(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user(
        username="demo", password="pw-demo-123", is_staff=True, is_superuser=True
    )


@pytest.fixture
def charlie(db, staff_owner):  # type: ignore[no-untyped-def]
    tenant = tenant_create(slug="charlie", plan="free")
    membership_create(tenant=tenant, user=staff_owner, role=Membership.Role.OWNER)
    return tenant


@pytest.fixture
def staff_key(charlie, staff_owner) -> APIClient:  # type: ignore[no-untyped-def]
    """charlie's admin key, created by the staff user who owns charlie."""
    return key_client(charlie, staff_owner, ["read", "write", "admin"])


def _platform_model():  # type: ignore[no-untyped-def]
    """Three platform versions, v2 active with v1 in its history."""
    from apps.modelreg.services.registry import version_register

    versions = []
    for seed in (0, 1, 2):
        content, sample = sklearn_onnx(seed=seed)
        versions.append(
            version_register(
                tenant=None,
                name=PLATFORM,
                content=content,
                labels=["bracket", "flange", "gear"],
                feature_version="dxf-1",
                metrics={"accuracy": 1.0},
                validation_sample=sample,
            )
        )
    deployment_request(model=versions[0].model, number=1, run_now=True)
    deployment_request(model=versions[0].model, number=2, run_now=True)
    return versions[0].model


@pytest.fixture
def platform_model(db):  # type: ignore[no-untyped-def]
    return _platform_model()


def _deployment(model) -> tuple[int, int | None, str]:  # type: ignore[no-untyped-def]
    dep = Deployment.objects.get(model=model)
    return dep.active_version.number, dep.candidate_version_id, dep.mode


STAFF_ONLY_CALLS = [
    ("activate", {"version": 3}),
    ("rollback", {}),
    ("experiment", {"version": 3, "mode": "ab", "percent": 20}),
    ("promote", {}),
    ("stop", {}),
    ("versions/3/archive", {}),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("action", "body"), STAFF_ONLY_CALLS)
def test_a_staff_created_key_cannot_change_the_platform_model(
    staff_key, platform_model, action, body
) -> None:  # type: ignore[no-untyped-def]
    before = _deployment(platform_model)
    events_before = ActivationEvent.objects.count()
    r = staff_key.post(f"/api/v1/models/{PLATFORM}/{action}", body, format="json")
    assert r.status_code == 403, r.data
    assert "platform model" in r.data["detail"]
    assert _deployment(platform_model) == before
    assert ActivationEvent.objects.count() == events_before


@pytest.mark.django_db
def test_the_same_staff_user_signed_in_may_change_it(
    staff_owner, charlie, platform_model, session_client
) -> None:  # type: ignore[no-untyped-def]
    client = session_client(staff_owner)
    r = client.post(f"/api/v1/models/{PLATFORM}/activate", {"version": 3})
    assert r.status_code == 202, r.data
    assert r.data["actor"] == "demo"
    assert _deployment(platform_model)[0] == 3
    r = client.post(f"/api/v1/models/{PLATFORM}/rollback")
    assert r.status_code == 200, r.data
    assert _deployment(platform_model)[0] == 2


@pytest.mark.django_db
def test_a_keys_model_change_is_audited_as_the_key_and_its_tenant(
    staff_key, charlie, register
) -> None:  # type: ignore[no-untyped-def]
    register("own-model", tenant=charlie, seed=0)
    r = staff_key.post("/api/v1/models/own-model/activate", {"version": 1})
    assert r.status_code == 202, r.data
    prefix = staff_key.api_key.prefix
    assert r.data["actor"] == f"key:{prefix}"
    event = AuditEvent.objects.get(action="model.activated")
    assert event.tenant_id == charlie.pk
    assert (event.actor_type, event.actor_key_prefix) == ("api_key", prefix)
    assert event.actor_user_id is None
    call = AuditEvent.objects.filter(
        action="api.call", resource_id__contains="activate"
    ).get()
    assert (call.tenant_id, call.actor_key_prefix) == (charlie.pk, prefix)


@pytest.mark.django_db
def test_a_version_registered_with_a_key_is_the_keys(staff_key, charlie) -> None:  # type: ignore[no-untyped-def]
    import json

    from django.core.files.uploadedfile import SimpleUploadedFile

    content, _ = sklearn_onnx()
    r = staff_key.post(
        "/api/v1/models/own-model/versions",
        {
            "file": SimpleUploadedFile("m.onnx", content),
            "labels": json.dumps(["bracket", "flange", "gear"]),
            "feature_version": "dxf-1",
        },
        format="multipart",
    )
    assert r.status_code == 201, r.data
    assert r.data["created_by"] is None  # not the staff user who made the key
    event = AuditEvent.objects.get(action="model.registered")
    assert (event.tenant_id, event.actor_key_prefix) == (
        charlie.pk,
        staff_key.api_key.prefix,
    )


@pytest.mark.django_db
def test_a_keys_change_in_model_history_names_no_user(
    staff_key, charlie, register
) -> None:  # type: ignore[no-untyped-def]
    from auditlog.models import LogEntry

    register("own-model", tenant=charlie, seed=0)
    r = staff_key.post("/api/v1/models/own-model/activate", {"version": 1})
    assert r.status_code == 202
    entries = LogEntry.objects.filter(cid=r["X-Request-ID"])
    assert entries.exists()
    assert {e.actor_id for e in entries} == {None}
    assert {e.additional_data["api_key"] for e in entries} == {staff_key.api_key.prefix}


@pytest.mark.django_db
def test_a_staff_created_key_reads_only_its_tenants_audit_trail(
    staff_key, charlie, tenant_b
) -> None:  # type: ignore[no-untyped-def]
    from apps.audit.services import audit_record

    audit_record(action="security.alert", tenant=tenant_b, details={"b": 1})
    audit_record(action="security.alert", tenant=charlie, details={"c": 1})
    r = staff_key.get("/api/v1/audit/events", {"action": "security.alert"})
    assert r.status_code == 200
    assert [e["tenant"] for e in r.data["results"]] == ["charlie"]
    assert (
        staff_key.get("/api/v1/audit/events", {"tenant": "tenant-b"}).status_code == 404
    )


@pytest.mark.django_db
def test_a_staff_created_key_sees_no_platform_history_or_other_tenants_report(
    staff_key, platform_model, tenant_b, staff_owner, session_client
) -> None:  # type: ignore[no-untyped-def]
    dep = Deployment.objects.get(model=platform_model)
    changes = {"object_type": "modelreg.deployment", "object_id": dep.pk}
    assert staff_key.get("/api/v1/audit/changes", changes).status_code == 404
    report = staff_key.get("/api/v1/audit/reports", {"tenant": "tenant-b"})
    assert report.status_code == 404
    own = staff_key.get("/api/v1/audit/reports")
    assert own.status_code == 200 and own.data["tenant"] == "charlie"
    # The same user, signed in, is staff.
    staff_session = session_client(staff_owner)
    assert staff_session.get("/api/v1/audit/changes", changes).status_code == 200
    platform = staff_session.get("/api/v1/audit/reports")
    assert platform.status_code == 200 and platform.data["tenant"] is None


@pytest.mark.django_db
def test_a_staff_created_key_cannot_send_staff_notifications(staff_key) -> None:  # type: ignore[no-untyped-def]
    r = staff_key.post(
        "/api/v1/notifications",
        {"topic": "alerts", "data": {"msg": "hi"}},
        format="json",
    )
    assert r.status_code == 403


@pytest.mark.django_db
def test_a_staff_created_key_opens_no_admin_page_or_action(
    staff_key, platform_model
) -> None:  # type: ignore[no-untyped-def]
    before = _deployment(platform_model)
    page = staff_key.get("/admin/modelreg/registeredmodel/")
    assert page.status_code == 302 and "/login/" in page["Location"]
    action = staff_key.post(
        "/admin/modelreg/registeredmodel/",
        {"action": "rollback", "_selected_action": [platform_model.pk]},
    )
    assert action.status_code == 302 and "/login/" in action["Location"]
    assert _deployment(platform_model) == before


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_grpc_activate_with_a_staff_created_key_is_denied(
    staff_owner, charlie
) -> None:  # type: ignore[no-untyped-def]
    from apps.grpcapi.gen.cadml.v1 import models_pb2, models_pb2_grpc
    from apps.grpcapi.server import start
    from tests.grpcapi.conftest import auth

    model = await sync_to_async(_platform_model)()
    key = (
        await sync_to_async(api_key_create)(
            tenant=charlie, name="adm", scopes=["admin"], created_by=staff_owner
        )
    ).plaintext
    running = await start("127.0.0.1:0", max_message_mb=1)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as ch:
            stub = models_pb2_grpc.ModelServiceStub(ch)
            for call, request in (
                (stub.Activate, models_pb2.ActivateRequest(model=PLATFORM, version=3)),
                (stub.Rollback, models_pb2.RollbackRequest(model=PLATFORM)),
            ):
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await call(request, metadata=auth(key))
                assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        await running.server.stop(None)
    active = await sync_to_async(lambda: _deployment(model)[0])()
    assert active == 2
