"""Registry writes: register versions, activate (with a health check off the
request path), roll back, A/B and shadow, promote, stop, archive; and predict."""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import threading
import time
from datetime import timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import close_old_connections, transaction
from django.db.models import F, Max
from django.utils import timezone

from apps.modelreg import stats
from apps.modelreg.models import (
    ActivationEvent,
    Deployment,
    ModelVersion,
    RegisteredModel,
    RegistryGeneration,
)
from apps.modelreg.runtime import DeploymentView, LoadedVersion, notify_reload, runtime
from apps.modelreg.validation import _ort_session, check_onnx, feature_width
from cadml import metrics, telemetry
from cadml.lib.errors import Conflict, InvalidInput

logger = logging.getLogger(__name__)

Kind = ActivationEvent.Kind


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def max_model_bytes() -> int:
    return int(_setting("CADML_MODEL_MAX_MB", 50)) * 1024 * 1024


# --- registration -----------------------------------------------------------


def _check_validation_sample(
    sample: dict[str, Any] | None, *, width: int, labels: list[str]
) -> dict[str, Any]:
    if not sample:
        return {}
    rows, ys = sample.get("features"), sample.get("labels")
    if not isinstance(rows, list) or not isinstance(ys, list) or len(rows) != len(ys):
        raise InvalidInput(
            "validation_sample must be {'features': [[...], ...], 'labels': [...]} "
            "with one label per row.",
            code="bad_validation_sample",
        )
    for row in rows:
        if not isinstance(row, list) or len(row) != width:
            raise InvalidInput(
                f"Every validation_sample row must have {width} numbers.",
                code="bad_validation_sample",
            )
    unknown = sorted({str(y) for y in ys} - set(labels))
    if unknown:
        raise InvalidInput(
            f"validation_sample has labels {unknown} not in labels.",
            code="bad_validation_sample",
        )
    return {"features": rows, "labels": [str(y) for y in ys]}


@transaction.atomic
def version_register(
    *,
    tenant: Any,
    name: str,
    content: bytes,
    labels: list[str],
    feature_version: str,
    metrics: dict[str, Any] | None = None,
    validation_sample: dict[str, Any] | None = None,
    training_summary: dict[str, Any] | None = None,
    created_by: Any = None,
    evaluation: dict[str, Any] | None = None,
    snapshot_sha256: str = "",
    new_labels_allowed: bool = False,
) -> ModelVersion:
    """Validate an ONNX artefact and store it as the next version of ``name``
    (the model is created on its first version). ``tenant`` None registers a
    platform model. ``created_by`` is a user or the API key that sent it.
    ``new_labels_allowed`` (training from labels) lets a version have other
    classes than the model's earlier versions: each version keeps its own."""
    labels = [str(label) for label in labels]
    check_onnx(
        content,
        feature_version=feature_version,
        labels=labels,
        max_bytes=max_model_bytes(),
    )
    sample = _check_validation_sample(
        validation_sample, width=feature_width(feature_version), labels=labels
    )
    model, created = RegisteredModel.objects.get_or_create(
        tenant=tenant,
        name=name,
        defaults={"labels": labels, "feature_version": feature_version},
    )
    if not created:
        model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
        if model.feature_version != feature_version:
            raise InvalidInput(
                f"Model {name!r} takes {model.feature_version} vectors, not "
                f"{feature_version}.",
                code="feature_version_mismatch",
            )
        if list(model.labels) != labels and new_labels_allowed:
            # Earlier versions keep the labels they were trained with.
            model.versions.filter(labels=[]).update(labels=list(model.labels))
            model.labels = labels
            model.save(update_fields=["labels"])
        elif list(model.labels) != labels:
            raise InvalidInput(
                f"Model {name!r} has labels {model.labels}; a new version must "
                "have the same labels in the same order (or register a new name).",
                code="label_mismatch",
            )
    Deployment.objects.get_or_create(model=model)
    number = (model.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = ModelVersion(
        model=model,
        number=number,
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        metrics=metrics or {},
        validation_sample=sample,
        training_summary=training_summary or {},
        labels=labels,
        evaluation=evaluation or {},
        snapshot_sha256=snapshot_sha256,
        created_by=_actor_fields(created_by)["actor"],
    )
    version.artefact.save(f"v{number}.onnx", ContentFile(content), save=False)
    version.full_clean()
    version.save()
    _event_out(model, "model.registered", {"version": number}, actor=created_by)
    return version


# --- health check -----------------------------------------------------------


def version_health_check(*, version: ModelVersion) -> tuple[bool, str, dict[str, Any]]:
    """Load the version, check it, predict its validation sample.

    Returns (passed, reason, figures); never raises for a bad model.
    """
    passed, reason, figures = _health_check(version)
    outcome = "passed" if passed else "failed"
    metrics.model_health_checks.labels(version.model.name, outcome).inc()
    return passed, reason, figures


def _health_check(version: ModelVersion) -> tuple[bool, str, dict[str, Any]]:
    model = version.model
    figures: dict[str, Any] = {}
    try:
        with version.artefact.open("rb") as fh:
            content = fh.read()
    except OSError as exc:
        return False, f"artefact unreadable: {exc}", figures
    if hashlib.sha256(content).hexdigest() != version.sha256:
        return False, "artefact does not match its recorded sha256", figures
    try:
        check_onnx(
            content,
            feature_version=model.feature_version,
            labels=version.class_labels(),
            max_bytes=max_model_bytes(),
        )
    except Exception as exc:  # noqa: BLE001 - any failure fails the check
        return False, getattr(exc, "message", str(exc)), figures
    session = _ort_session(content)
    width = feature_width(model.feature_version)
    sample = version.validation_sample or {}
    rows = sample.get("features") or []
    truth = sample.get("labels") or []
    if not rows:
        rows = np.random.default_rng(1).random((8, width)).tolist()
    input_name = session.get_inputs()[0].name
    prob_name = next(
        o.name
        for o in session.get_outputs()
        if o.type == "tensor(float)" and len(o.shape or []) == 2
    )
    latencies = []
    predicted = []
    for row in rows:
        x = np.asarray([row], dtype=np.float32)
        t0 = time.perf_counter()
        (probs,) = session.run([prob_name], {input_name: x})
        latencies.append((time.perf_counter() - t0) * 1000)
        if not np.isfinite(probs).all():
            return False, "the model outputs NaN on the validation sample", figures
        predicted.append(version.class_labels()[int(np.argmax(probs[0]))])
    p95 = float(np.percentile(latencies, 95))
    figures["latency_ms_p95"] = round(p95, 3)
    budget = float(_setting("CADML_MODEL_LATENCY_BUDGET_MS", 50))
    if p95 > budget:
        return (
            False,
            f"latency p95 {p95:.1f} ms is over the budget of {budget} ms",
            figures,
        )
    if truth:
        accuracy = sum(p == t for p, t in zip(predicted, truth, strict=True)) / len(
            truth
        )
        figures["accuracy"] = round(accuracy, 4)
        recorded = (version.metrics or {}).get("accuracy")
        tolerance = float(_setting("CADML_MODEL_ACCURACY_TOLERANCE", 0.02))
        if isinstance(recorded, int | float) and accuracy < recorded - tolerance:
            return (
                False,
                f"accuracy {accuracy:.3f} on the validation sample is below the "
                f"recorded {recorded:.3f} minus the tolerance {tolerance}",
                figures,
            )
    return True, "", figures


# --- deployment changes -----------------------------------------------------


def _bump_generation() -> None:
    updated = RegistryGeneration.objects.filter(pk=1).update(value=F("value") + 1)
    if not updated:
        RegistryGeneration.objects.get_or_create(pk=1, defaults={"value": 1})
    transaction.on_commit(notify_reload)


# Event type per change (realtime) and its audit action, where the audit
# catalogue has one (apps.audit.models.Action).
EVENT_TYPES = {
    Kind.ACTIVATE: "model.activated",
    Kind.ROLLBACK: "model.rolled_back",
    Kind.AUTO_ROLLBACK: "model.auto_rolled_back",
    Kind.AB_START: "model.ab_started",
    Kind.SHADOW_START: "model.shadow_started",
    Kind.PROMOTE: "model.promoted",
    Kind.STOP: "model.stopped",
}
AUDIT_ACTIONS = {
    "model.registered": "model.registered",
    "model.activated": "model.activated",
    "model.promoted": "model.activated",
    "model.rolled_back": "model.rolled_back",
    "model.auto_rolled_back": "model.auto_rolled_back",
    "model.health_failed": "model.health_failed",
}


def _actor_fields(actor: Any) -> dict[str, Any]:
    """``actor`` is a user, an API key (anything with a ``prefix``) or None."""
    if getattr(actor, "is_authenticated", False):
        return {"actor": actor, "actor_key": None}
    if getattr(actor, "prefix", None):
        return {"actor": None, "actor_key": actor}
    return {"actor": None, "actor_key": None}


def _event_actor(event: ActivationEvent) -> Any:
    return event.actor or event.actor_key


def _event_out(
    model: RegisteredModel, type: str, data: dict[str, Any], *, actor: Any = None
) -> None:
    """Tell realtime subscribers and the audit trail, where those apps exist.

    A platform model's events go to ``model:<name>`` (any principal may listen);
    a tenant's own model's to ``tenant:<slug>``, which only its members see.
    """
    payload = {"model": model.name, **data}
    channel = (
        f"tenant:{model.tenant.slug}" if model.tenant_id else f"model:{model.name}"
    )
    if importlib.util.find_spec("apps.realtime.services") is not None:
        try:
            from apps.realtime.services import publish_on_commit

            publish_on_commit(channel, type, payload)
        except Exception:  # noqa: BLE001 - notifications never fail a change
            logger.warning("could not publish %s", type)
    action = AUDIT_ACTIONS.get(type)
    if action and importlib.util.find_spec("apps.audit.services") is not None:
        from apps.audit.services import audit_record

        fields = _actor_fields(actor)
        user, key = fields["actor"], fields["actor_key"]
        audit_record(
            action=action,
            tenant=model.tenant,
            actor_user=user,
            actor_key_prefix=key.prefix if key is not None else None,
            actor_system=None if user or key else "modelreg",
            resource_type="model_version",
            resource_id=f"{model.name}:v{data.get('version')}"[:64],
            details={"type": type, **payload},
        )


def _deployment_locked(model: RegisteredModel) -> Deployment:
    dep, _ = Deployment.objects.get_or_create(model=model)
    return Deployment.objects.select_for_update().get(pk=dep.pk)


def _version_of(model: RegisteredModel, number: int) -> ModelVersion:
    from apps.modelreg.selectors import version_get

    return version_get(model=model, number=number)


def deployment_request(
    *,
    model: RegisteredModel,
    number: int,
    kind: str = Kind.ACTIVATE,
    actor: Any = None,
    percent: int = 10,
    sticky_by: str = Deployment.Sticky.TENANT,
    run_now: bool = False,
) -> ActivationEvent:
    """Ask for a version to be activated (or to become the A/B or shadow
    candidate). The health check runs off the request path; the returned event
    is pending until it finishes. A second request while one is pending is 409.
    ``run_now`` (commands) runs the check in this thread before returning."""
    if kind not in (Kind.ACTIVATE, Kind.AB_START, Kind.SHADOW_START):
        raise InvalidInput(f"unknown change {kind!r}")
    if kind == Kind.AB_START and not 0 < int(percent) < 100:
        raise InvalidInput("percent must be between 1 and 99.", code="bad_percent")
    if sticky_by not in Deployment.Sticky.values:
        raise InvalidInput(
            f"sticky_by must be one of {Deployment.Sticky.values}.", code="bad_sticky"
        )
    with transaction.atomic():
        dep = _deployment_locked(model)
        version = _version_of(model, number)
        if version.status in (ModelVersion.Status.ARCHIVED, ModelVersion.Status.FAILED):
            detail = f": {version.failure_reason}" if version.failure_reason else ""
            raise Conflict(
                f"Version {number} is {version.status}{detail}; it cannot serve.",
                code=f"version_{version.status}",
            )
        if dep.active_version_id == version.pk:
            raise Conflict(
                f"Version {number} is already active.", code="already_active"
            )
        if kind != Kind.ACTIVATE and dep.active_version_id is None:
            raise Conflict(
                "Activate a version before starting an A/B test or shadow.",
                code="no_active_version",
            )
        event = ActivationEvent.objects.create(
            model=model,
            kind=kind,
            version=version,
            previous_version_id=dep.active_version_id,
            params={"percent": int(percent), "sticky_by": sticky_by},
            **_actor_fields(actor),
        )
        # The conditional update is the serialisation point: of two concurrent
        # requests exactly one finds no pending change (a stale one left by a
        # dead process expires).
        stale = timezone.now() - timedelta(
            seconds=float(_setting("CADML_MODEL_HEALTHCHECK_TIMEOUT_S", 120))
        )
        won = (
            Deployment.objects.filter(pk=dep.pk)
            .filter(
                models_q_pending_free(stale),
            )
            .update(pending=event, pending_since=timezone.now())
        )
        if not won:
            raise Conflict(
                "Another activation of this model is in progress; try again when "
                "it has finished.",
                code="activation_in_progress",
            )
        version.status = ModelVersion.Status.VALIDATING
        version.failure_reason = ""
        version.save(update_fields=["status", "failure_reason"])
        if not run_now and _setting("CADML_MODEL_HEALTHCHECK_MODE", None) != "inline":
            transaction.on_commit(lambda: _dispatch_health_check(event.pk))
    if run_now or _setting("CADML_MODEL_HEALTHCHECK_MODE", None) == "inline":
        event = activation_complete(event_id=event.pk)
    return event


def models_q_pending_free(stale: Any) -> Any:
    from django.db.models import Q

    return Q(pending__isnull=True) | Q(pending_since__lt=stale)


def _dispatch_health_check(event_id: int) -> None:
    mode = _setting("CADML_MODEL_HEALTHCHECK_MODE", None) or (
        "celery" if settings.CELERY_BROKER_URL else "thread"
    )
    if mode == "celery":
        from apps.modelreg.tasks import activation_health_check

        activation_health_check.delay(event_id)
    else:

        def work() -> None:
            close_old_connections()
            try:
                activation_complete(event_id=event_id)
            except Exception:
                logger.exception("health check of activation %s crashed", event_id)
            finally:
                close_old_connections()

        threading.Thread(target=work, name="modelreg-health", daemon=True).start()


def activation_complete(*, event_id: int) -> ActivationEvent:
    """Run the health check of a pending change and apply or refuse it."""
    event = ActivationEvent.objects.select_related("version__model").get(pk=event_id)
    if event.status != ActivationEvent.Status.PENDING:
        return event
    try:
        passed, reason, figures = version_health_check(version=event.version)
    except Exception as exc:  # noqa: BLE001 - a crash is a failed check
        logger.exception("health check crashed")
        passed, reason, figures = False, f"health check crashed: {exc}", {}
    with transaction.atomic():
        dep = _deployment_locked(event.model)
        event = ActivationEvent.objects.select_for_update().get(pk=event_id)
        version = ModelVersion.objects.select_for_update().get(pk=event.version_id)
        if event.status != ActivationEvent.Status.PENDING:
            return event
        event.params = {**event.params, "health": figures}
        if passed:
            version.status = ModelVersion.Status.READY
            version.save(update_fields=["status"])
            if event.kind == Kind.ACTIVATE:
                _move_active(dep, version)
            else:
                dep.candidate_version = version
                dep.mode = (
                    Deployment.Mode.AB
                    if event.kind == Kind.AB_START
                    else Deployment.Mode.SHADOW
                )
                dep.candidate_percent = int(event.params.get("percent", 10))
                dep.sticky_by = event.params.get("sticky_by", Deployment.Sticky.TENANT)
            event.status = ActivationEvent.Status.SUCCEEDED
        else:
            version.status = ModelVersion.Status.FAILED
            version.failure_reason = reason[:2000]
            version.save(update_fields=["status", "failure_reason"])
            event.status = ActivationEvent.Status.FAILED
            event.detail = reason[:2000]
        if dep.pending_id == event.pk:
            dep.pending = None
            dep.pending_since = None
        dep.updated = timezone.now()
        dep.save()
        event.finished = timezone.now()
        event.save(update_fields=["status", "detail", "params", "finished"])
        if passed:
            _bump_generation()
        _event_out(
            event.model,
            EVENT_TYPES[event.kind] if passed else "model.health_failed",
            {
                "version": version.number,
                "previous_version": event.previous_version.number
                if event.previous_version
                else None,
                "kind": event.kind,
                "detail": event.detail,
            },
            actor=_event_actor(event),
        )
    return event


def _move_active(dep: Deployment, version: ModelVersion) -> None:
    if dep.active_version_id and dep.active_version_id != version.pk:
        dep.history = [*dep.history, dep.active_version_id][-50:]
    dep.active_version = version
    if dep.candidate_version_id == version.pk:
        dep.candidate_version = None
        dep.mode = Deployment.Mode.NONE
        dep.candidate_percent = 0


def _finish(
    dep: Deployment,
    *,
    kind: str,
    version: ModelVersion | None,
    previous_id: int | None,
    actor: Any,
    detail: str = "",
) -> ActivationEvent:
    dep.updated = timezone.now()
    dep.save()
    _bump_generation()
    event = ActivationEvent.objects.create(
        model=dep.model,
        kind=kind,
        status=ActivationEvent.Status.SUCCEEDED,
        version=version,
        previous_version_id=previous_id,
        detail=detail,
        **_actor_fields(actor),
        finished=timezone.now(),
    )
    _event_out(
        dep.model,
        EVENT_TYPES[kind],
        {
            "version": version.number if version else None,
            "previous_version": event.previous_version.number
            if event.previous_version
            else None,
            "detail": detail,
        },
        actor=actor,
    )
    return event


@transaction.atomic
def deployment_rollback(
    *,
    model: RegisteredModel,
    actor: Any = None,
    kind: str = Kind.ROLLBACK,
    detail: str = "",
) -> ActivationEvent:
    """Serve the previously active version again (no health check: it served)."""
    dep = _deployment_locked(model)
    history = list(dep.history)
    while history:
        target = ModelVersion.objects.filter(pk=history.pop()).first()
        if target is not None and target.status != ModelVersion.Status.ARCHIVED:
            break
    else:
        raise Conflict(
            "There is no previous version to roll back to.", code="no_history"
        )
    previous_id = dep.active_version_id
    dep.active_version = target
    dep.history = history
    trigger = "auto" if kind == Kind.AUTO_ROLLBACK else "manual"
    transaction.on_commit(
        lambda: metrics.model_rollbacks.labels(model.name, trigger).inc()
    )
    if dep.candidate_version_id == target.pk:
        dep.candidate_version = None
        dep.mode = Deployment.Mode.NONE
    return _finish(
        dep,
        kind=kind,
        version=target,
        previous_id=previous_id,
        actor=actor,
        detail=detail,
    )


@transaction.atomic
def deployment_promote(*, model: RegisteredModel, actor: Any = None) -> ActivationEvent:
    """Make the A/B or shadow candidate the active version."""
    dep = _deployment_locked(model)
    if dep.candidate_version_id is None:
        raise Conflict("There is no candidate to promote.", code="no_candidate")
    candidate = dep.candidate_version
    previous_id = dep.active_version_id
    _move_active(dep, candidate)
    return _finish(
        dep, kind=Kind.PROMOTE, version=candidate, previous_id=previous_id, actor=actor
    )


@transaction.atomic
def deployment_stop(
    *,
    model: RegisteredModel,
    actor: Any = None,
    kind: str = Kind.STOP,
    detail: str = "",
) -> ActivationEvent:
    """End an A/B test or shadow: everything goes to the active version."""
    dep = _deployment_locked(model)
    if dep.candidate_version_id is None:
        raise Conflict("There is no A/B test or shadow running.", code="no_candidate")
    candidate = dep.candidate_version
    dep.candidate_version = None
    dep.mode = Deployment.Mode.NONE
    dep.candidate_percent = 0
    if kind == Kind.AUTO_ROLLBACK:  # the guardrail stopped a failing candidate
        transaction.on_commit(
            lambda: metrics.model_rollbacks.labels(model.name, "auto").inc()
        )
    return _finish(
        dep,
        kind=kind,
        version=candidate,
        previous_id=dep.active_version_id,
        actor=actor,
        detail=detail,
    )


@transaction.atomic
def version_archive(*, version: ModelVersion) -> ModelVersion:
    dep = _deployment_locked(version.model)
    if version.pk in (dep.active_version_id, dep.candidate_version_id):
        raise Conflict(
            f"Version {version.number} is serving; activate another or stop the "
            "test first.",
            code="version_serving",
        )
    if dep.pending_id and dep.pending.version_id == version.pk:
        raise Conflict(
            f"Version {version.number} is being validated.", code="version_validating"
        )
    dep.history = [v for v in dep.history if v != version.pk]
    dep.save(update_fields=["history"])
    version.status = ModelVersion.Status.ARCHIVED
    version.save(update_fields=["status"])
    return version


# --- predictions ------------------------------------------------------------


def _bucket(salt: str, key: str) -> int:
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def _infer(loaded: LoadedVersion, vector: list[float]) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    probs = loaded.predict_proba(vector)
    latency = (time.perf_counter() - t0) * 1000
    if probs.shape != (len(loaded.labels),) or not np.isfinite(probs).all():
        raise ValueError("the model returned NaN or malformed probabilities")
    return probs, latency


def _record(
    view: DeploymentView,
    loaded: LoadedVersion,
    variant: str,
    *,
    ok: bool,
    latency: float,
    confidence: float | None,
    agreed: bool | None = None,
) -> None:
    # The metric's variants are active / candidate / shadow (a shadow-mode
    # candidate), as the dashboards and the metric's help say.
    shadow = view.mode == Deployment.Mode.SHADOW and variant == "candidate"
    label = "shadow" if shadow else ("active" if variant == "primary" else variant)
    labels = (view.name, str(loaded.number), label)
    metrics.predictions.labels(*labels).inc()
    if ok:
        metrics.prediction_duration.labels(*labels).observe(latency / 1000)
    rate = stats.record(
        deployment_salt=view.salt,
        version_id=loaded.version_id,
        variant=variant,
        ok=ok,
        latency_ms=latency,
        confidence=confidence,
        agreed=agreed,
        window=view.guardrail_window,
    )
    limit = view.guardrail_max_error_rate
    if rate is not None and limit > 0 and rate > limit:
        guardrail_trip(view=view, version_id=loaded.version_id, error_rate=rate)


def guardrail_trip(*, view: DeploymentView, version_id: int, error_rate: float) -> None:
    """Auto-rollback: stop a failing candidate, or roll back a failing active."""
    model = RegisteredModel.objects.get(pk=view.model_id)
    dep = Deployment.objects.get(model=model)
    detail = (
        f"error rate {error_rate:.0%} over the last {view.guardrail_window} "
        f"predictions passed the guardrail of {view.guardrail_max_error_rate:.0%}"
    )
    try:
        if dep.candidate_version_id == version_id:
            deployment_stop(model=model, kind=Kind.AUTO_ROLLBACK, detail=detail)
        elif dep.active_version_id == version_id:
            deployment_rollback(model=model, kind=Kind.AUTO_ROLLBACK, detail=detail)
    except Conflict as exc:
        logger.warning("guardrail tripped for %s but: %s", model, exc.message)


def predict(
    *,
    features: list[float],
    feature_version: str,
    tenant_id: int | None,
    user_id: int | None = None,
    request_key: str | None = None,
    model_name: str | None = None,
) -> dict[str, Any]:
    """Classify one feature vector with what serves for this tenant.

    Returns ``{"prediction": {...}, "model_name", "model_version", "variant",
    "confidence"}`` or ``{"prediction": None, "reason": ...}``; never raises for
    a model failure (the analysis must still succeed).
    """
    with telemetry.span("model.predict", feature_version=feature_version):
        out = _predict(
            features=features,
            feature_version=feature_version,
            tenant_id=tenant_id,
            user_id=user_id,
            request_key=request_key,
            model_name=model_name,
        )
        telemetry.set_attributes(
            **{
                "model.name": out.get("model_name"),
                "model.version": out.get("model_version"),
            },
            variant=out.get("variant"),
        )
        return out


def _pick_readable(
    snap: Any,
    *,
    tenant_id: int | None,
    feature_version: str,
    features: list[float],
    name: str | None,
) -> tuple[Any, list[float]]:
    """The model that serves this vector: a model of its own version, or one
    trained on an older version the vector can be read as (a dxf-1 model on a
    dxf-2 analysis). The tenant's own model beats the platform's whatever its
    version; between equals the vector's own version wins."""
    from apps.cad.features import downgrade

    best: tuple[tuple[int, int], Any, list[float]] | None = None
    readable_as = _READABLE_AS.get(feature_version, (feature_version,))
    for order, version in enumerate(readable_as):
        readable = downgrade(features, source=feature_version, target=version)
        view = snap.pick(tenant_id=tenant_id, feature_version=version, name=name)
        if readable is None or view is None or view.active is None:
            continue
        rank = (0 if view.tenant_id is not None else 1, order)
        if best is None or rank < best[0]:
            best = (rank, view, readable)
    if best is None:
        return None, features
    return best[1], best[2]


# The versions a vector of one version can be served as, its own first.
_READABLE_AS = {"dxf-2": ("dxf-2", "dxf-1")}


def _predict(
    *,
    features: list[float],
    feature_version: str,
    tenant_id: int | None,
    user_id: int | None,
    request_key: str | None,
    model_name: str | None,
) -> dict[str, Any]:
    snap = runtime.snapshot()
    view, features = _pick_readable(
        snap,
        tenant_id=tenant_id,
        feature_version=feature_version,
        features=features,
        name=model_name,
    )
    if view is None or view.active is None:
        return {
            "prediction": None,
            "reason": f"no active model for {feature_version} features",
        }
    if len(features) != view.active.width:
        return {
            "prediction": None,
            "reason": f"the vector has {len(features)} features, the model takes "
            f"{view.active.width}",
        }
    sticky = {"tenant": tenant_id, "user": user_id, "request": request_key}.get(
        view.sticky_by
    )
    primary, variant = view.active, "primary"
    if (
        view.mode == Deployment.Mode.AB
        and view.candidate is not None
        and _bucket(view.salt, str(sticky if sticky is not None else request_key))
        < view.candidate_percent
    ):
        primary, variant = view.candidate, "candidate"
    try:
        probs, latency = _infer(primary, features)
    except Exception as exc:  # noqa: BLE001
        _record(view, primary, variant, ok=False, latency=0.0, confidence=None)
        if variant == "candidate":
            # The candidate failed: answer with the active version instead.
            primary, variant = view.active, "primary"
            try:
                probs, latency = _infer(primary, features)
            except Exception as exc2:  # noqa: BLE001
                _record(view, primary, variant, ok=False, latency=0.0, confidence=None)
                return {"prediction": None, "reason": f"inference failed: {exc2}"}
        else:
            return {"prediction": None, "reason": f"inference failed: {exc}"}
    order = np.argsort(-probs)
    label = primary.labels[int(order[0])]
    confidence = float(probs[order[0]])
    agreed = None
    if view.mode == Deployment.Mode.SHADOW and view.candidate is not None:
        rate = float(_setting("CADML_MODEL_SHADOW_SAMPLE", 1.0))
        if (
            _bucket(view.salt, f"shadow:{request_key or time.monotonic_ns()}")
            < rate * 100
        ):
            shadow = view.candidate
            try:
                sprobs, slat = _infer(shadow, features)
                scon = float(np.max(sprobs))
                agreed = shadow.labels[int(np.argmax(sprobs))] == label
                _record(
                    view,
                    shadow,
                    "candidate",
                    ok=True,
                    latency=slat,
                    confidence=scon,
                    agreed=agreed,
                )
            except Exception:  # noqa: BLE001 - shadow never changes the answer
                _record(
                    view, shadow, "candidate", ok=False, latency=0.0, confidence=None
                )
    _record(
        view,
        primary,
        variant,
        ok=True,
        latency=latency,
        confidence=confidence,
        agreed=agreed,
    )
    threshold = float(_setting("CADML_MODEL_CONFIDENCE_THRESHOLD", 0.6))
    unknown = None
    novelty = None
    if primary.open_set is not None:
        # Calibration never changes the ranking, only how sure the answer is.
        probs = primary.open_set.calibrate(probs)
        confidence = float(probs[order[0]])
        novelty = float(primary.open_set.novelty(np.asarray(features))[0])
        unknown = novelty > primary.open_set.threshold
    return {
        "prediction": {
            "label": label,
            "confidence": round(confidence, 6),
            "unknown": unknown,
            "novelty": round(novelty, 4) if novelty is not None else None,
            "top3": [
                {
                    "label": primary.labels[int(i)],
                    "confidence": round(float(probs[i]), 6),
                }
                for i in order[:3]
            ],
            "model_name": view.name,
            "model_version": primary.number,
            # Whose model answered (a tenant's own model may share the
            # platform model's name): corrections are counted against it.
            "model_owner": "tenant" if view.tenant_id is not None else "platform",
            "variant": variant,
            "needs_review": confidence < threshold,
            "inference_ms": round(latency, 3),
        },
        "confidence": confidence,
        "model_name": view.name,
        "model_version": primary.number,
        "variant": variant,
    }


# --- training ---------------------------------------------------------------


def classifier_train(
    *,
    data_dir: str | None = None,
    synthetic_per_class: int | None = None,
    seed: int = 0,
    name: str = "part-classifier",
    tenant: Any = None,
    register: bool = False,
    activate: bool = False,
    actor: Any = None,
    workers: int = 2,
    estimators: list[str] | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Train on a labelled folder or synthetic drawings; optionally register
    (platform model when ``tenant`` is None) and activate. Returns the held-out
    metrics, ``version`` (None unless registered) and the activation outcome."""
    from pathlib import Path

    from apps.modelreg import training

    if (data_dir is None) == (synthetic_per_class is None):
        raise InvalidInput("Give exactly one of a data directory or --synthetic N.")
    if data_dir is not None:
        data = training.directory_dataset(
            root=Path(data_dir), workers=workers, progress=progress
        )
    else:
        if synthetic_per_class is None or synthetic_per_class < 4:
            raise InvalidInput("--synthetic needs at least 4 drawings per class.")
        data = training.synthetic_dataset(
            per_class=synthetic_per_class, seed=seed, workers=workers, progress=progress
        )
    threshold = float(_setting("CADML_MODEL_CONFIDENCE_THRESHOLD", 0.6))
    result = training.train(
        data, seed=seed, threshold=threshold, only=estimators, progress=progress
    )
    out: dict[str, Any] = {
        "name": name,
        "version": None,
        "feature_version": result.feature_version,
        "labels": result.labels,
        # The open-set parameters (thousands of numbers) travel with the
        # registered version, not in what the caller reads.
        **{k: v for k, v in result.metrics.items() if k != "open_set"},
        "training_summary": result.summary,
        "confusion_svg": training.confusion_svg(
            result.labels, result.metrics["confusion_matrix"]
        ),
    }
    if register or activate:
        version = version_register(
            tenant=tenant,
            name=name,
            content=result.onnx,
            labels=result.labels,
            feature_version=result.feature_version,
            metrics=result.metrics,
            validation_sample=result.validation_sample,
            training_summary=result.summary,
            created_by=actor,
        )
        out["version"] = version.number
        if activate:
            event = deployment_request(
                model=version.model, number=version.number, actor=actor, run_now=True
            )
            out["activation"] = {"status": event.status, "detail": event.detail}
    return out


def default_model_ensure(
    *, per_class: int = 40, seed: int = 0, progress: Any = None
) -> dict[str, Any]:
    """Train and activate the platform's default classifier unless one serves."""
    name = _setting("CADML_MODEL_NAME", "part-classifier")
    existing = RegisteredModel.objects.filter(
        tenant__isnull=True, name=name, deployment__active_version__isnull=False
    ).first()
    if existing is not None:
        return {
            "created": False,
            "name": name,
            "version": existing.deployment.active_version.number,
        }
    out = classifier_train(
        synthetic_per_class=per_class,
        seed=seed,
        name=name,
        activate=True,
        progress=progress,
    )
    return {"created": True, **out}
