"""Deployment changes: activate a version (its health check runs off the request
path), start an A/B test or a shadow, promote, stop, roll back, archive.

Every applied change bumps the registry generation, which tells each serving
process to reload, and is announced on the model's channel."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.modelreg.models import (
    ActivationEvent,
    Deployment,
    ModelVersion,
    RegisteredModel,
    RegistryGeneration,
)
from apps.modelreg.runtime import notify_reload
from apps.modelreg.selectors import version_get
from apps.modelreg.services import notify
from apps.modelreg.services.health import version_health_check
from apps.modelreg.tasks import activation_health_check
from cadml import metrics
from cadml.lib.errors import Conflict, InvalidInput

logger = logging.getLogger(__name__)

Kind = ActivationEvent.Kind

# The live notice each applied change is announced as (keyed by the kind as
# stored, a plain str).
NOTICE_TYPES: dict[str, str] = {
    Kind.ACTIVATE: "model.activated",
    Kind.ROLLBACK: "model.rolled_back",
    Kind.AUTO_ROLLBACK: "model.auto_rolled_back",
    Kind.AB_START: "model.ab_started",
    Kind.SHADOW_START: "model.shadow_started",
    Kind.PROMOTE: "model.promoted",
    Kind.STOP: "model.stopped",
}


def _bump_generation() -> None:
    updated = RegistryGeneration.objects.filter(pk=1).update(value=F("value") + 1)
    if not updated:
        RegistryGeneration.objects.get_or_create(pk=1, defaults={"value": 1})
    transaction.on_commit(notify_reload)


def _deployment_locked(model: RegisteredModel) -> Deployment:
    dep, _ = Deployment.objects.get_or_create(model=model)
    return Deployment.objects.select_for_update().get(pk=dep.pk)


# --- activation, A/B and shadow: requested, health-checked, applied ----------


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
    _check_request(kind=kind, percent=percent, sticky_by=sticky_by)
    inline = run_now or settings.CADML_MODEL_HEALTHCHECK_MODE == "inline"
    with transaction.atomic():
        dep = _deployment_locked(model)
        version = version_get(model=model, number=number)
        _check_can_serve(dep, version, kind=kind)
        event = ActivationEvent.objects.create(
            model=model,
            kind=kind,
            version=version,
            previous_version_id=dep.active_version_id,
            params={"percent": int(percent), "sticky_by": sticky_by},
            **notify.actor_fields(actor),
        )
        _claim_pending(dep, event)
        version.status = ModelVersion.Status.VALIDATING
        version.failure_reason = ""
        version.save(update_fields=["status", "failure_reason"])
        if not inline:
            transaction.on_commit(lambda: _dispatch_health_check(event.pk))
    if inline:
        event = activation_complete(event_id=event.pk)
    return event


def _check_request(*, kind: str, percent: int, sticky_by: str) -> None:
    if kind not in (Kind.ACTIVATE, Kind.AB_START, Kind.SHADOW_START):
        raise InvalidInput(f"unknown change {kind!r}")
    if kind == Kind.AB_START and not 0 < int(percent) < 100:
        raise InvalidInput("percent must be between 1 and 99.", code="bad_percent")
    if sticky_by not in Deployment.Sticky.values:
        raise InvalidInput(
            f"sticky_by must be one of {Deployment.Sticky.values}.", code="bad_sticky"
        )


def _check_can_serve(dep: Deployment, version: ModelVersion, *, kind: str) -> None:
    if version.status in (ModelVersion.Status.ARCHIVED, ModelVersion.Status.FAILED):
        detail = f": {version.failure_reason}" if version.failure_reason else ""
        raise Conflict(
            f"Version {version.number} is {version.status}{detail}; it cannot serve.",
            code=f"version_{version.status}",
        )
    if dep.active_version_id == version.pk:
        raise Conflict(
            f"Version {version.number} is already active.", code="already_active"
        )
    if kind != Kind.ACTIVATE and dep.active_version_id is None:
        raise Conflict(
            "Activate a version before starting an A/B test or shadow.",
            code="no_active_version",
        )


def _claim_pending(dep: Deployment, event: ActivationEvent) -> None:
    """Make ``event`` the deployment's pending change. The conditional update is
    the serialisation point: of two concurrent requests exactly one finds no
    pending change (a stale one left by a dead process expires)."""
    stale = timezone.now() - timedelta(
        seconds=float(settings.CADML_MODEL_HEALTHCHECK_TIMEOUT_S)
    )
    won = (
        Deployment.objects.filter(pk=dep.pk)
        .filter(Q(pending__isnull=True) | Q(pending_since__lt=stale))
        .update(pending=event, pending_since=timezone.now())
    )
    if not won:
        raise Conflict(
            "Another activation of this model is in progress; try again when "
            "it has finished.",
            code="activation_in_progress",
        )


def _dispatch_health_check(event_id: int) -> None:
    mode = settings.CADML_MODEL_HEALTHCHECK_MODE or (
        "celery" if settings.CELERY_BROKER_URL else "thread"
    )
    if mode == "celery":
        activation_health_check.delay(event_id)
        return

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
    checked = event.version
    # A pending change always names its version; versions are never deleted.
    assert checked is not None
    try:
        passed, reason, figures = version_health_check(version=checked)
    except Exception as exc:  # noqa: BLE001 - a crash is a failed check
        logger.exception("health check crashed")
        passed, reason, figures = False, f"health check crashed: {exc}", {}
    with transaction.atomic():
        dep = _deployment_locked(event.model)
        event = ActivationEvent.objects.select_for_update().get(pk=event_id)
        version = ModelVersion.objects.select_for_update().get(pk=checked.pk)
        if event.status != ActivationEvent.Status.PENDING:
            return event
        event.params = {**event.params, "health": figures}
        if passed:
            _apply_checked(dep, event, version)
        else:
            _refuse_checked(event, version, reason)
        if dep.pending_id == event.pk:
            dep.pending = None
            dep.pending_since = None
        dep.updated = timezone.now()
        dep.save()
        event.finished = timezone.now()
        event.save(update_fields=["status", "detail", "params", "finished"])
        if passed:
            _bump_generation()
        _tell_checked(event, version, passed=passed)
    return event


def _apply_checked(
    dep: Deployment, event: ActivationEvent, version: ModelVersion
) -> None:
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


def _refuse_checked(event: ActivationEvent, version: ModelVersion, reason: str) -> None:
    version.status = ModelVersion.Status.FAILED
    version.failure_reason = reason[:2000]
    version.save(update_fields=["status", "failure_reason"])
    event.status = ActivationEvent.Status.FAILED
    event.detail = reason[:2000]


def _tell_checked(
    event: ActivationEvent, version: ModelVersion, *, passed: bool
) -> None:
    action: str | None
    if not passed:
        type = action = "model.health_failed"
    else:
        type = NOTICE_TYPES[event.kind]
        # Starting an A/B test or a shadow is not an audited fact; activating is.
        action = "model.activated" if event.kind == Kind.ACTIVATE else None
    notify.model_changed(
        event.model,
        type,
        {
            "version": version.number,
            "previous_version": event.previous_version.number
            if event.previous_version
            else None,
            "kind": event.kind,
            "detail": event.detail,
        },
        actor=event.actor or event.actor_key,
        action=action,
    )


def _move_active(dep: Deployment, version: ModelVersion) -> None:
    if dep.active_version_id and dep.active_version_id != version.pk:
        dep.history = [*dep.history, dep.active_version_id][-50:]
    dep.active_version = version
    if dep.candidate_version_id == version.pk:
        dep.candidate_version = None
        dep.mode = Deployment.Mode.NONE
        dep.candidate_percent = 0


# --- changes applied at once: roll back, promote, stop --------------------------


def _finish(
    dep: Deployment,
    *,
    kind: str,
    version: ModelVersion | None,
    previous_id: int | None,
    actor: Any,
    action: str | None,
    detail: str = "",
) -> ActivationEvent:
    """Save an applied change, log it as an event and tell others (as the
    auditable fact ``action``, when it is one)."""
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
        **notify.actor_fields(actor),
        finished=timezone.now(),
    )
    notify.model_changed(
        dep.model,
        NOTICE_TYPES[kind],
        {
            "version": version.number if version else None,
            "previous_version": event.previous_version.number
            if event.previous_version
            else None,
            "detail": detail,
        },
        actor=actor,
        action=action,
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
    auto = kind == Kind.AUTO_ROLLBACK
    transaction.on_commit(
        lambda: metrics.model_rollbacks.labels(
            model.name, "auto" if auto else "manual"
        ).inc()
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
        action="model.auto_rolled_back" if auto else "model.rolled_back",
        detail=detail,
    )


@transaction.atomic
def deployment_promote(*, model: RegisteredModel, actor: Any = None) -> ActivationEvent:
    """Make the A/B or shadow candidate the active version."""
    dep = _deployment_locked(model)
    candidate = dep.candidate_version
    if candidate is None:
        raise Conflict("There is no candidate to promote.", code="no_candidate")
    previous_id = dep.active_version_id
    _move_active(dep, candidate)
    return _finish(
        dep,
        kind=Kind.PROMOTE,
        version=candidate,
        previous_id=previous_id,
        actor=actor,
        action="model.activated",
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
    auto = kind == Kind.AUTO_ROLLBACK  # the guardrail stopped a failing candidate
    if auto:
        transaction.on_commit(
            lambda: metrics.model_rollbacks.labels(model.name, "auto").inc()
        )
    return _finish(
        dep,
        kind=kind,
        version=candidate,
        previous_id=dep.active_version_id,
        actor=actor,
        # A manual stop is not an audited fact; the guardrail's is a roll-back.
        action="model.auto_rolled_back" if auto else None,
        detail=detail,
    )


@transaction.atomic
def version_archive(*, version: ModelVersion) -> ModelVersion:
    """Retire a version that does not serve: it leaves the roll-back history."""
    dep = _deployment_locked(version.model)
    if version.pk in (dep.active_version_id, dep.candidate_version_id):
        raise Conflict(
            f"Version {version.number} is serving; activate another or stop the "
            "test first.",
            code="version_serving",
        )
    if dep.pending is not None and dep.pending.version_id == version.pk:
        raise Conflict(
            f"Version {version.number} is being validated.", code="version_validating"
        )
    dep.history = [v for v in dep.history if v != version.pk]
    dep.save(update_fields=["history"])
    version.status = ModelVersion.Status.ARCHIVED
    version.save(update_fields=["status"])
    return version
