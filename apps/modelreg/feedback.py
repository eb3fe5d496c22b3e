"""Corrections: a person says what an analysed drawing really is.

The drawing takes the label (it is training data for the next version), a
``Feedback`` row keeps the verdict on the prediction (for live accuracy per
version, ``cadml_model_feedback_total`` and the accuracy guardrail).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from apps.accounts.models import Tenant
from apps.cad.labels import drawing_label_set
from apps.cad.models import Analysis
from apps.modelreg import evaluation
from apps.modelreg.models import (
    ActivationEvent,
    Deployment,
    Feedback,
    ModelVersion,
    RegisteredModel,
)
from apps.modelreg.services.deployments import deployment_rollback, deployment_stop
from cadml import metrics
from cadml.lib import events
from cadml.lib.errors import Conflict, DomainError, InvalidInput, NotFound

logger = logging.getLogger(__name__)


def feedback_create(
    *,
    tenant: Tenant,
    analysis_id: int,
    label: Any,
    comment: str = "",
    user: Any = None,
) -> Feedback:
    """Correct (or confirm) the prediction of one of the tenant's analyses."""
    analysis = (
        Analysis.objects.select_related("drawing", "drawing__tenant")
        .filter(tenant=tenant, pk=analysis_id)
        .first()
    )
    if analysis is None:
        raise NotFound("Analysis not found.")
    if not isinstance(comment, str) or len(comment) > 2000:
        raise InvalidInput("comment must be text of at most 2000 characters.")
    prediction = analysis.prediction if isinstance(analysis.prediction, dict) else {}
    predicted = str(prediction.get("label") or "")
    if not predicted or not analysis.model_name:
        raise Conflict(
            "This analysis has no prediction to correct; label the drawing "
            "instead (PATCH /api/v1/drawings/{id}).",
            code="no_prediction",
        )
    owner = prediction.get("model_owner")
    own = RegisteredModel.objects.filter(name=analysis.model_name, tenant=tenant)
    platform = RegisteredModel.objects.filter(
        name=analysis.model_name, tenant__isnull=True
    )
    if owner == "platform":
        model = platform.first()
    elif owner == "tenant":
        model = own.first()
    else:  # predictions stored before the owner was recorded
        model = own.first() or platform.first()
    number = int(analysis.model_version) if analysis.model_version.isdigit() else None
    version = (
        ModelVersion.objects.filter(model=model, number=number).first()
        if model is not None and number is not None
        else None
    )
    with transaction.atomic():
        drawing_label_set(
            drawing=analysis.drawing, label=label, source="feedback", actor=user
        )
        corrected = analysis.drawing.label
        outcome = (
            Feedback.Outcome.CORRECT
            if corrected == predicted
            else Feedback.Outcome.WRONG
        )
        fb = Feedback.objects.create(
            tenant=tenant,
            analysis=analysis,
            model=model,
            version=version,
            model_name=analysis.model_name,
            version_number=number,
            variant=analysis.variant,
            predicted_label=predicted[:128],
            confidence=analysis.confidence,
            corrected_label=corrected,
            outcome=outcome,
            comment=comment,
            user=user if getattr(user, "pk", None) else None,
        )
        _audit(fb, tenant=tenant, user=user)
    labels = (analysis.model_name, str(number or ""), outcome)
    transaction.on_commit(lambda: metrics.model_feedback.labels(*labels).inc())
    if version is not None:
        _guardrail(version)
    return fb


def _audit(fb: Feedback, *, tenant: Tenant, user: Any) -> None:
    events.record(
        "modelreg",
        action="model.feedback",
        tenant=tenant,
        actor_user=user if getattr(user, "is_authenticated", False) else None,
        resource_type="analysis",
        resource_id=fb.analysis_id,
        details={
            "model": fb.model_name,
            "version": fb.version_number,
            "predicted": fb.predicted_label,
            "corrected": fb.corrected_label,
            "outcome": fb.outcome,
        },
    )


def live_accuracy(*, model: RegisteredModel, tenant: Tenant) -> list[dict[str, Any]]:
    """Per version: the tenant's corrections, the share that confirmed the
    prediction and its 95 % (Wilson) interval. A platform model's figures are
    the tenant's own corrections only: other tenants' stay theirs."""
    from django.db.models import Count, Q

    rows = (
        Feedback.objects.filter(model=model, tenant=tenant)
        .values("version_number")
        .annotate(n=Count("id"), correct=Count("id", filter=Q(outcome="correct")))
        .order_by("-version_number")
    )
    out = []
    for row in rows:
        n, correct = row["n"], row["correct"]
        low, high = evaluation.wilson_interval(correct, n)
        out.append(
            {
                "version": row["version_number"],
                "count": n,
                "correct": correct,
                "accuracy": round(correct / n, 4) if n else None,
                "ci95": [low, high],
            }
        )
    return out


def guardrail_set(*, model: RegisteredModel, **values: Any) -> Deployment:
    """Change a deployment's guardrails (``max_error_rate``, ``window``,
    ``min_accuracy``, ``feedback_window``; 0 disables a rate)."""
    fields = {
        "max_error_rate": "guardrail_max_error_rate",
        "window": "guardrail_window",
        "min_accuracy": "guardrail_min_accuracy",
        "feedback_window": "guardrail_feedback_window",
    }
    dep, _ = Deployment.objects.get_or_create(model=model)
    changed = []
    for key, value in values.items():
        if value is None:
            continue
        setattr(dep, fields[key], value)
        changed.append(fields[key])
    if changed:
        dep.full_clean()
        dep.save(update_fields=changed)
    return dep


def _guardrail(version: ModelVersion) -> None:
    """Roll back (active) or stop (candidate) a version whose accuracy over its
    last corrections fell under the deployment's ``guardrail_min_accuracy``."""
    dep = Deployment.objects.filter(model_id=version.model_id).first()
    if dep is None or dep.guardrail_min_accuracy <= 0:
        return
    if version.pk not in (dep.active_version_id, dep.candidate_version_id):
        return
    window = max(1, dep.guardrail_feedback_window)
    last = list(
        Feedback.objects.filter(version=version)
        .order_by("-created", "-id")
        .values_list("outcome", flat=True)[:window]
    )
    if len(last) < window:
        return
    accuracy = sum(o == Feedback.Outcome.CORRECT for o in last) / len(last)
    if accuracy >= dep.guardrail_min_accuracy:
        return
    detail = (
        f"accuracy {accuracy:.0%} over the last {window} corrections is under "
        f"the guardrail of {dep.guardrail_min_accuracy:.0%}"
    )
    try:
        if dep.candidate_version_id == version.pk:
            deployment_stop(
                model=version.model,
                kind=ActivationEvent.Kind.AUTO_ROLLBACK,
                detail=detail,
            )
        else:
            deployment_rollback(
                model=version.model,
                kind=ActivationEvent.Kind.AUTO_ROLLBACK,
                detail=detail,
            )
    except DomainError as exc:
        logger.warning("accuracy guardrail of %s tripped but: %s", version, exc)
