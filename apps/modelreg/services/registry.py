"""Register a model version: validate the ONNX artefact and its validation
sample, then store it as the model's next version."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max

from apps.modelreg.models import Deployment, ModelVersion, RegisteredModel
from apps.modelreg.services import notify
from apps.modelreg.validation import check_onnx, feature_width, max_model_bytes
from cadml.lib.errors import InvalidInput


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


def _model_for_version(
    *,
    tenant: Any,
    name: str,
    labels: list[str],
    feature_version: str,
    new_labels_allowed: bool,
) -> RegisteredModel:
    """The model a new version joins, created on its first version and locked
    otherwise; refuses a version whose vectors or labels the model cannot take."""
    model, created = RegisteredModel.objects.get_or_create(
        tenant=tenant,
        name=name,
        defaults={"labels": labels, "feature_version": feature_version},
    )
    if created:
        return model
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
    return model


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
    model = _model_for_version(
        tenant=tenant,
        name=name,
        labels=labels,
        feature_version=feature_version,
        new_labels_allowed=new_labels_allowed,
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
        created_by=notify.actor_fields(created_by)["actor"],
    )
    version.artefact.save(f"v{number}.onnx", ContentFile(content), save=False)
    version.full_clean()
    version.save()
    notify.model_changed(
        model,
        "model.registered",
        {"version": number},
        actor=created_by,
        action="model.registered",
    )
    return version
