"""Registry reads, always from a tenant's point of view: its own models and the
platform's (tenant None). Another tenant's model is a 404."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from apps.modelreg import stats
from apps.modelreg.models import (
    ActivationEvent,
    Deployment,
    ModelVersion,
    RegisteredModel,
)
from cadml.lib.errors import Forbidden, NotFound


def model_list(*, tenant: Any) -> QuerySet[RegisteredModel]:
    return (
        RegisteredModel.objects.filter(Q(tenant=tenant) | Q(tenant__isnull=True))
        .select_related("deployment__active_version", "deployment__candidate_version")
        .order_by("name", "tenant_id")
    )


def model_get(*, tenant: Any, name: str) -> RegisteredModel:
    """The tenant's own model of that name, else the platform's."""
    found = sorted(
        model_list(tenant=tenant).filter(name=name),
        key=lambda m: m.tenant_id is None,
    )
    if not found:
        raise NotFound(f"No model named {name!r}.")
    return found[0]


def model_get_writable(
    *, tenant: Any, name: str, staff: bool = False
) -> RegisteredModel:
    """A model the caller may change: its tenant's own (platform models: staff)."""
    model = model_get(tenant=tenant, name=name)
    if model.tenant_id is None and not staff:
        raise Forbidden(
            f"{name!r} is a platform model; upload a version under this name to "
            "create your tenant's own model, or ask staff."
        )
    return model


def version_list(*, model: RegisteredModel) -> QuerySet[ModelVersion]:
    return model.versions.select_related("model", "created_by").order_by("-number")


def version_get(*, model: RegisteredModel, number: int) -> ModelVersion:
    version = model.versions.select_related("model").filter(number=number).first()
    if version is None:
        raise NotFound(f"Model {model.name!r} has no version {number}.")
    return version


def event_list(*, model: RegisteredModel) -> QuerySet[ActivationEvent]:
    return model.events.select_related(
        "version", "previous_version", "actor", "actor_key"
    )


def deployment_figures(*, model: RegisteredModel) -> dict[str, Any]:
    """Live per-variant figures of what serves now."""
    dep = (
        Deployment.objects.filter(model=model)
        .select_related("active_version", "candidate_version")
        .first()
    )
    if dep is None:
        return {}
    out: dict[str, Any] = {}
    for variant, version in (
        ("primary", dep.active_version),
        ("candidate", dep.candidate_version),
    ):
        if version is not None:
            out[variant] = {
                "version": version.number,
                **stats.figures(
                    deployment_salt=dep.salt, version_id=version.pk, variant=variant
                ),
            }
    return out
