"""Activation with health check, rollback, A/B, shadow and the guardrail, as an
API client and the predict endpoint see them."""

from __future__ import annotations

import pytest

from apps.modelreg.models import ActivationEvent, ModelVersion, RegisteredModel
from apps.modelreg.services.deployments import deployment_request
from tests.modelreg.conftest import LABELS, centre_of, sklearn_onnx, sqrt_onnx

pytestmark = pytest.mark.django_db


def serving(client, name: str = "my-model", features=None) -> dict:  # type: ignore[no-untyped-def]
    features = features if features is not None else [0.5] * 47
    r = client.post(
        f"/api/v1/models/{name}/predict", {"features": features}, format="json"
    )
    assert r.status_code == 200, r.data
    return r.data


@pytest.fixture
def two_versions(register, tenant_a):  # type: ignore[no-untyped-def]
    v1 = register("my-model", tenant=tenant_a, seed=0)
    v2 = register("my-model", tenant=tenant_a, seed=1)
    return v1, v2


def test_activation_is_accepted_health_checked_and_served(
    admin_client_a, two_versions
) -> None:  # type: ignore[no-untyped-def]
    assert serving(admin_client_a)["prediction"] is None
    r = admin_client_a.post(
        "/api/v1/models/my-model/activate", {"version": 1}, format="json"
    )
    assert r.status_code == 202, r.data
    assert r.data["kind"] == "activate" and r.data["status"] == "succeeded"
    assert r.data["params"]["health"]["accuracy"] == 1.0
    p = serving(admin_client_a)["prediction"]
    assert p["model_version"] == 1 and p["variant"] == "primary"
    assert p["label"] in LABELS and len(p["top3"]) == 3
    assert isinstance(p["needs_review"], bool) and p["inference_ms"] >= 0
    detail = admin_client_a.get("/api/v1/models/my-model").data
    assert detail["active_version"] == 1
    assert detail["activations"][0]["status"] == "succeeded"
    assert detail["figures"]["primary"]["predictions"] == 1


def test_a_version_that_fails_its_health_check_never_serves(
    admin_client_a, register, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    v1 = register("my-model", tenant=tenant_a, seed=0)
    # Recorded accuracy 1.0, but its validation sample is labelled wrongly.
    content, sample = sklearn_onnx(seed=2)
    sample["labels"] = [LABELS[(LABELS.index(x) + 1) % 3] for x in sample["labels"]]
    register("my-model", tenant=tenant_a, content=content, sample=sample)
    admin_client_a.post(
        "/api/v1/models/my-model/activate", {"version": v1.number}, format="json"
    )
    r = admin_client_a.post(
        "/api/v1/models/my-model/activate", {"version": 2}, format="json"
    )
    assert r.status_code == 202 and r.data["status"] == "failed"
    assert "below the recorded" in r.data["detail"]
    v2 = admin_client_a.get("/api/v1/models/my-model/versions/2").data
    assert v2["status"] == "failed" and "accuracy" in v2["failure_reason"]
    assert serving(admin_client_a)["prediction"]["model_version"] == 1
    again = admin_client_a.post(
        "/api/v1/models/my-model/activate", {"version": 2}, format="json"
    )
    assert again.status_code == 409 and "failed" in again.data["detail"]


def test_a_slow_model_fails_the_latency_budget(
    admin_client_a, two_versions, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.CADML_MODEL_LATENCY_BUDGET_MS = 0.000001
    r = admin_client_a.post(
        "/api/v1/models/my-model/activate", {"version": 1}, format="json"
    )
    assert r.data["status"] == "failed" and "latency" in r.data["detail"]


def test_concurrent_activations_one_wins_the_other_is_409(
    admin_client_a, two_versions, settings, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    settings.CADML_MODEL_HEALTHCHECK_MODE = "thread"
    model = RegisteredModel.objects.get(name="my-model")
    with django_capture_on_commit_callbacks(execute=False) as pending:
        first = deployment_request(model=model, number=1)
    assert first.status == "pending"
    r = admin_client_a.post(
        "/api/v1/models/my-model/activate", {"version": 2}, format="json"
    )
    assert r.status_code == 409 and "in progress" in r.data["detail"]
    shown = admin_client_a.get("/api/v1/models/my-model").data["deployment"]["pending"]
    assert shown["version"] == 1 and shown["status"] == "pending"
    assert len(pending) == 1  # the health check, dispatched once the request commits


def test_archived_versions_cannot_be_activated(admin_client_a, two_versions) -> None:  # type: ignore[no-untyped-def]
    r = admin_client_a.post("/api/v1/models/my-model/versions/2/archive")
    assert r.status_code == 200 and r.data["status"] == "archived"
    r = admin_client_a.post(
        "/api/v1/models/my-model/activate", {"version": 2}, format="json"
    )
    assert r.status_code == 409 and "archived" in r.data["detail"]


def test_serving_versions_cannot_be_archived(admin_client_a, two_versions) -> None:  # type: ignore[no-untyped-def]
    admin_client_a.post(
        "/api/v1/models/my-model/activate", {"version": 1}, format="json"
    )
    r = admin_client_a.post("/api/v1/models/my-model/versions/1/archive")
    assert r.status_code == 409


def test_rollback_serves_the_previous_version_and_needs_history(
    admin_client_a, two_versions
) -> None:  # type: ignore[no-untyped-def]
    r = admin_client_a.post("/api/v1/models/my-model/rollback")
    assert r.status_code == 409 and "no previous version" in r.data["detail"]
    for n in (1, 2):
        admin_client_a.post(
            "/api/v1/models/my-model/activate", {"version": n}, format="json"
        )
    assert serving(admin_client_a)["prediction"]["model_version"] == 2
    r = admin_client_a.post("/api/v1/models/my-model/rollback")
    assert r.status_code == 200 and r.data["version"] == 1
    assert serving(admin_client_a)["prediction"]["model_version"] == 1
    assert admin_client_a.post("/api/v1/models/my-model/rollback").status_code == 409
    kinds = [
        e["kind"]
        for e in admin_client_a.get("/api/v1/models/my-model").data["activations"]
    ]
    assert kinds == ["rollback", "activate", "activate"]


def test_only_admin_keys_change_deployments(api_client_a, two_versions) -> None:  # type: ignore[no-untyped-def]
    r = api_client_a.post(
        "/api/v1/models/my-model/activate", {"version": 1}, format="json"
    )
    assert r.status_code == 403


def test_platform_models_are_shared_but_only_staff_change_them(
    admin_client_a, api_client_b, register
) -> None:  # type: ignore[no-untyped-def]
    v = register("part-classifier")
    deployment_request(model=v.model, number=1, run_now=True)
    assert serving(api_client_b, "part-classifier")["prediction"]["model_version"] == 1
    r = admin_client_a.post("/api/v1/models/part-classifier/rollback")
    assert r.status_code == 403 and "platform model" in r.data["detail"]


def test_ab_test_is_sticky_per_tenant_and_promotable(
    admin_client_a, two_versions, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    from apps.modelreg.services.inference import predict

    admin_client_a.post(
        "/api/v1/models/my-model/activate", {"version": 1}, format="json"
    )
    r = admin_client_a.post(
        "/api/v1/models/my-model/experiment",
        {"version": 2, "mode": "ab", "percent": 50, "sticky_by": "user"},
        format="json",
    )
    assert r.status_code == 202 and r.data["status"] == "succeeded", r.data

    def variant(user_id: int) -> str:
        out = predict(
            features=[0.5] * 47,
            feature_version="dxf-1",
            tenant_id=tenant_a.pk,
            user_id=user_id,
        )
        return out["variant"]

    seen = {u: variant(u) for u in range(40)}
    assert set(seen.values()) == {"primary", "candidate"}
    assert all(variant(u) == v for u, v in list(seen.items())[:10])  # sticky
    figures = admin_client_a.get("/api/v1/models/my-model").data["figures"]
    assert figures["primary"]["version"] == 1 and figures["candidate"]["version"] == 2
    total = figures["primary"]["predictions"] + figures["candidate"]["predictions"]
    assert total == 50 and figures["candidate"]["latency_ms_p95"] is not None
    r = admin_client_a.post("/api/v1/models/my-model/promote")
    assert r.status_code == 200
    assert {variant(u) for u in range(10)} == {"primary"}
    assert serving(admin_client_a)["prediction"]["model_version"] == 2
    assert admin_client_a.post("/api/v1/models/my-model/stop").status_code == 409


def test_shadow_never_changes_the_answer_and_records_agreement(
    admin_client_a, two_versions
) -> None:  # type: ignore[no-untyped-def]
    admin_client_a.post(
        "/api/v1/models/my-model/activate", {"version": 1}, format="json"
    )
    r = admin_client_a.post(
        "/api/v1/models/my-model/experiment",
        {"version": 2, "mode": "shadow"},
        format="json",
    )
    assert r.status_code == 202
    _, sample = sklearn_onnx(seed=0)
    for label in LABELS:
        p = serving(admin_client_a, features=centre_of(sample, label))["prediction"]
        assert p["model_version"] == 1 and p["variant"] == "primary"
    figures = admin_client_a.get("/api/v1/models/my-model").data["figures"]
    assert figures["primary"]["predictions"] == 3
    assert figures["candidate"]["compared"] == 3
    assert 0 <= figures["candidate"]["agreement"] <= 1
    assert admin_client_a.post("/api/v1/models/my-model/stop").status_code == 200
    assert (
        "candidate" not in admin_client_a.get("/api/v1/models/my-model").data["figures"]
    )


def test_a_failing_candidate_is_stopped_by_the_guardrail(
    admin_client_a, register, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    register("my-model", tenant=tenant_a, seed=0)
    register("my-model", tenant=tenant_a, content=sqrt_onnx(), sample={}, metrics={})
    admin_client_a.post(
        "/api/v1/models/my-model/activate", {"version": 1}, format="json"
    )
    admin_client_a.post(
        "/api/v1/models/my-model/experiment",
        {"version": 2, "mode": "ab", "percent": 99, "sticky_by": "request"},
        format="json",
    )
    from apps.modelreg.models import Deployment

    Deployment.objects.update(guardrail_window=5, guardrail_max_error_rate=0.5)
    negative = [-1.0] * 47  # sqrt of a negative feature is NaN
    answers = [
        serving(admin_client_a, features=negative)["prediction"] for _ in range(8)
    ]
    # Every request was answered (by the active version when the candidate failed).
    assert all(a is not None and a["model_version"] == 1 for a in answers)
    detail = admin_client_a.get("/api/v1/models/my-model").data
    assert detail["deployment"]["candidate_version"] is None
    auto = detail["activations"][0]
    assert auto["kind"] == "auto_rollback" and "guardrail" in auto["detail"]


def test_the_guardrail_rolls_back_a_failing_active_version(
    admin_client_a, register, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    register("my-model", tenant=tenant_a, seed=0)
    register("my-model", tenant=tenant_a, content=sqrt_onnx(), sample={}, metrics={})
    for n in (1, 2):
        admin_client_a.post(
            "/api/v1/models/my-model/activate", {"version": n}, format="json"
        )
    from apps.modelreg.models import Deployment

    Deployment.objects.update(guardrail_window=3, guardrail_max_error_rate=0.5)
    for _ in range(3):
        assert serving(admin_client_a, features=[-1.0] * 47)["prediction"] is None
    assert serving(admin_client_a)["prediction"]["model_version"] == 1
    assert ActivationEvent.objects.filter(kind="auto_rollback").count() == 1
    assert ModelVersion.objects.get(number=2).status == "ready"


def test_predict_with_the_wrong_width_is_a_400(admin_client_a, two_versions) -> None:  # type: ignore[no-untyped-def]
    r = admin_client_a.post(
        "/api/v1/models/my-model/predict", {"features": [1.0] * 3}, format="json"
    )
    assert r.status_code == 400 and "47 numbers" in str(r.data)


def test_changes_are_published_and_audited(
    admin_client_a, two_versions, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    from asgiref.sync import async_to_sync

    from apps.audit.models import AuditEvent
    from apps.realtime.history import get_history

    # The channel is per test database run; read from the newest id we saw.
    before = async_to_sync(get_history().aread)("tenant:tenant-a", None).last_id
    with django_capture_on_commit_callbacks(execute=True):
        admin_client_a.post(
            "/api/v1/models/my-model/activate", {"version": 1}, format="json"
        )
        admin_client_a.post(
            "/api/v1/models/my-model/activate", {"version": 2}, format="json"
        )
        admin_client_a.post("/api/v1/models/my-model/rollback")
    replay = async_to_sync(get_history().aread)("tenant:tenant-a", before)
    events = [(e["type"], e["data"].get("version")) for e in replay.events]
    assert events[-3:] == [
        ("model.activated", 1),
        ("model.activated", 2),
        ("model.rolled_back", 1),
    ]
    actions = list(
        AuditEvent.objects.filter(action__startswith="model.").values_list(
            "action", flat=True
        )
    )
    assert actions.count("model.activated") == 2 and "model.rolled_back" in actions
    assert actions.count("model.registered") == 2


def test_a_tenants_own_model_serves_its_analyses_only(
    api_client_a, api_client_b, register, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    platform = register("part-classifier", seed=0)
    own = register("part-classifier", tenant=tenant_a, seed=1)
    own2 = register("part-classifier", tenant=tenant_a, seed=2)
    for v in (platform, own, own2):
        deployment_request(model=v.model, number=v.number, run_now=True)
    a = serving(api_client_a, "part-classifier")["prediction"]
    b = serving(api_client_b, "part-classifier")["prediction"]
    assert a["model_version"] == 2  # tenant A's own v2
    assert b["model_version"] == 1  # the platform's v1


def test_a_version_this_process_cannot_load_leaves_the_old_one_serving(
    admin_client_a, two_versions
) -> None:  # type: ignore[no-untyped-def]
    admin_client_a.post(
        "/api/v1/models/my-model/activate", {"version": 1}, format="json"
    )
    assert serving(admin_client_a)["prediction"]["model_version"] == 1
    v1, v2 = two_versions
    admin_client_a.post(
        "/api/v1/models/my-model/activate", {"version": 2}, format="json"
    )
    # The health check passed elsewhere; here the artefact has gone missing.
    v2.artefact.storage.delete(v2.artefact.name)
    from apps.modelreg.runtime import runtime

    runtime.reload()
    assert serving(admin_client_a)["prediction"]["model_version"] == 1


def test_a_trained_version_is_judged_on_its_own_samples_accuracy(
    admin_client_a, register, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    """Training records the accuracy of the held-out rows it keeps as the
    sample beside the whole held-out accuracy; a sample that happens to be
    harder than the rest is no reason to refuse the version."""
    content, sample = sklearn_onnx(seed=2)
    wrong = len(sample["labels"]) // 4
    for i in range(wrong):  # a quarter of the sample the model gets wrong
        sample["labels"][i] = LABELS[(LABELS.index(sample["labels"][i]) + 1) % 3]
    on_sample = 1 - wrong / len(sample["labels"])
    register(
        "my-model",
        tenant=tenant_a,
        content=content,
        sample=sample,
        metrics={"accuracy": 0.97, "validation_sample_accuracy": on_sample},
    )
    r = admin_client_a.post(
        "/api/v1/models/my-model/activate", {"version": 1}, format="json"
    )
    assert r.status_code == 202 and r.data["status"] == "succeeded", r.data
    assert r.data["params"]["health"]["accuracy"] == pytest.approx(on_sample, abs=1e-4)
