"""Registry rows: models, their ONNX versions, the deployment pointer and history."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


def new_salt() -> str:
    return secrets.token_hex(8)


def artefact_path(instance: ModelVersion, filename: str) -> str:
    owner = instance.model.tenant_id or "platform"
    name = f"v{instance.number}-{instance.sha256[:12]}.onnx"
    return f"models/{owner}/{instance.model.name}/{name}"


class RegisteredModel(models.Model):
    """A named classifier. ``tenant`` None is a platform model every tenant may use;
    a tenant's own model of the same name takes precedence for that tenant."""

    tenant = models.ForeignKey(
        "accounts.Tenant",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="registered_models",
    )
    name = models.SlugField(max_length=100)
    task = models.CharField(max_length=50, default="part-classification")
    labels = models.JSONField(default=list)
    feature_version = models.CharField(max_length=20)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name"], name="uniq_regmodel_tenant_name"
            ),
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(tenant__isnull=True),
                name="uniq_regmodel_platform_name",
            ),
        ]

    def __str__(self) -> str:
        owner = self.tenant.slug if self.tenant is not None else "platform"
        return f"{self.name} ({owner})"


class ModelVersion(models.Model):
    class Status(models.TextChoices):
        REGISTERED = "registered", "Registered"
        VALIDATING = "validating", "Validating"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        ARCHIVED = "archived", "Archived"

    model = models.ForeignKey(
        RegisteredModel, on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField()
    artefact = models.FileField(upload_to=artefact_path, max_length=300)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    metrics = models.JSONField(default=dict, blank=True)
    # {"features": [[...], ...], "labels": [...]}: held-out rows the health check
    # predicts again before the version may serve.
    validation_sample = models.JSONField(default=dict, blank=True)
    training_summary = models.JSONField(default=dict, blank=True)
    # The class names in probability-column order; empty for versions that
    # predate per-version labels (they use the model's).
    labels = models.JSONField(default=list, blank=True)
    # apps.modelreg.evaluation: cross-validation, held-out figures, pictures.
    evaluation = models.JSONField(default=dict, blank=True)
    # sha256 of the labelled snapshot it was trained on (tenant training).
    snapshot_sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.REGISTERED
    )
    failure_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["model", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "number"], name="uniq_modelversion_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.model.name} v{self.number}"

    def class_labels(self) -> list[str]:
        return list(self.labels or self.model.labels)


class Deployment(models.Model):
    """What serves a model: the active version, a candidate and how it is routed."""

    class Mode(models.TextChoices):
        NONE = "none", "None"
        AB = "ab", "A/B"
        SHADOW = "shadow", "Shadow"

    class Sticky(models.TextChoices):
        TENANT = "tenant", "Tenant"
        USER = "user", "User"
        REQUEST = "request", "Request"

    model = models.OneToOneField(
        RegisteredModel, on_delete=models.CASCADE, related_name="deployment"
    )
    active_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Previously active version ids, most recent last: rollback pops from here.
    history = models.JSONField(default=list, blank=True)
    candidate_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.NONE)
    candidate_percent = models.PositiveSmallIntegerField(default=0)
    sticky_by = models.CharField(
        max_length=10, choices=Sticky.choices, default=Sticky.TENANT
    )
    salt = models.CharField(max_length=32, default=new_salt)
    # Guardrail: roll back when more than this share of the last N predictions of a
    # version failed (0 disables it).
    guardrail_max_error_rate = models.FloatField(default=0.2)
    guardrail_window = models.PositiveIntegerField(default=50)
    # Guardrail on corrections: roll back when the accuracy of a version over
    # its last ``guardrail_feedback_window`` corrections falls under this
    # (0 disables it).
    guardrail_min_accuracy = models.FloatField(default=0.0)
    guardrail_feedback_window = models.PositiveIntegerField(default=30)
    # An activation or A/B start waiting for its health check; a second one is 409.
    pending = models.ForeignKey(
        "ActivationEvent",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    pending_since = models.DateTimeField(null=True, blank=True)
    updated = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"deployment of {self.model}"


class ActivationEvent(models.Model):
    class Kind(models.TextChoices):
        ACTIVATE = "activate", "Activate"
        ROLLBACK = "rollback", "Roll back"
        AUTO_ROLLBACK = "auto_rollback", "Automatic roll back"
        AB_START = "ab_start", "Start A/B"
        SHADOW_START = "shadow_start", "Start shadow"
        PROMOTE = "promote", "Promote"
        STOP = "stop", "Stop"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    model = models.ForeignKey(
        RegisteredModel, on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING
    )
    version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    previous_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    params = models.JSONField(default=dict, blank=True)
    detail = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Set instead of ``actor`` when an API key asked: the key acted, not its creator.
    actor_key = models.ForeignKey(
        "accounts.ApiKey",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created = models.DateTimeField(default=timezone.now)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.model.name} ({self.status})"


class RegistryGeneration(models.Model):
    """One row; bumped on every change of what serves, so processes without Redis
    notice a reload by reading one integer (at most once a second)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"generation {self.value}"


class Feedback(models.Model):
    """A person's verdict on one prediction: the label it should have had."""

    class Outcome(models.TextChoices):
        CORRECT = "correct", "Correct"
        WRONG = "wrong", "Wrong"

    tenant = models.ForeignKey(
        "accounts.Tenant", on_delete=models.CASCADE, related_name="+"
    )
    analysis = models.ForeignKey(
        "cad.Analysis", on_delete=models.CASCADE, related_name="feedback"
    )
    model = models.ForeignKey(
        RegisteredModel,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="feedback",
    )
    version = models.ForeignKey(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="feedback",
    )
    model_name = models.CharField(max_length=128, blank=True)
    version_number = models.PositiveIntegerField(null=True, blank=True)
    variant = models.CharField(max_length=64, blank=True)
    predicted_label = models.CharField(max_length=128, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    corrected_label = models.CharField(max_length=64)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    comment = models.TextField(blank=True, max_length=2000)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(
                fields=["version", "-created"], name="modelreg_feedback_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.predicted_label} -> {self.corrected_label}"
