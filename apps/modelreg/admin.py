"""Admin: versions with metrics and the confusion matrix, activation history,
and the deployment actions (activate, roll back, A/B, shadow, promote, stop,
archive). Actions call the same services as the API."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from apps.modelreg import selectors
from apps.modelreg.models import (
    ActivationEvent,
    Deployment,
    Feedback,
    ModelVersion,
    RegisteredModel,
)
from apps.modelreg.services import deployments
from apps.modelreg.training import confusion_svg
from cadml.lib.errors import DomainError


def _run(request: HttpRequest, admin_obj: admin.ModelAdmin, fn: Any, **kw: Any) -> None:
    try:
        result = fn(**kw)
    except DomainError as exc:
        admin_obj.message_user(request, exc.message, messages.ERROR)
        return
    if isinstance(result, ActivationEvent) and result.status == "pending":
        # A pending change always names the version it checks.
        assert result.version is not None
        admin_obj.message_user(
            request,
            f"{result.get_kind_display()} of v{result.version.number} is being "
            "health-checked; refresh to see the outcome.",
            messages.INFO,
        )
    else:
        admin_obj.message_user(request, "Done.", messages.SUCCESS)


class ModelVersionInline(admin.TabularInline):
    model = ModelVersion
    # Django accepts tuples for both; a tuple satisfies both stub types.
    readonly_fields = (
        "number",
        "status",
        "failure_reason",
        "accuracy",
        "macro_f1",
        "created",
    )
    fields = readonly_fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="accuracy")
    def accuracy(self, obj: ModelVersion) -> Any:
        return (obj.metrics or {}).get("accuracy")

    @admin.display(description="macro-F1")
    def macro_f1(self, obj: ModelVersion) -> Any:
        return (obj.metrics or {}).get("macro_f1")


class GuardrailInline(admin.StackedInline):
    """The deployment's guardrails, on errors and on corrections."""

    model = Deployment
    verbose_name = verbose_name_plural = "guardrails"
    fields = [
        "guardrail_max_error_rate",
        "guardrail_window",
        "guardrail_min_accuracy",
        "guardrail_feedback_window",
    ]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ActivationEventInline(admin.TabularInline):
    model = ActivationEvent
    readonly_fields = (
        "created",
        "kind",
        "status",
        "version",
        "previous_version",
        "detail",
        "actor",
    )
    fields = readonly_fields
    extra = 0
    can_delete = False
    ordering = ["-created"]
    verbose_name_plural = "activation history"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RegisteredModel)
class RegisteredModelAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "feature_version", "serving", "mode"]
    list_filter = ["feature_version"]
    search_fields = ["name", "tenant__slug"]
    readonly_fields = ["labels", "feature_version", "serving", "mode", "live_figures"]
    inlines = [GuardrailInline, ModelVersionInline, ActivationEventInline]
    actions = ["rollback", "promote", "stop"]

    @admin.display(description="active version")
    def serving(self, obj: RegisteredModel) -> str:
        dep = (
            Deployment.objects.filter(model=obj)
            .select_related("active_version", "candidate_version")
            .first()
        )
        if dep is None or dep.active_version is None:
            return "—"
        return f"v{dep.active_version.number}"

    @admin.display(description="A/B or shadow")
    def mode(self, obj: RegisteredModel) -> str:
        dep = (
            Deployment.objects.filter(model=obj)
            .select_related("candidate_version")
            .first()
        )
        if dep is None or dep.candidate_version is None:
            return "—"
        share = (
            f" {dep.candidate_percent}% by {dep.sticky_by}" if dep.mode == "ab" else ""
        )
        return f"{dep.get_mode_display()} v{dep.candidate_version.number}{share}"

    @admin.display(description="live figures")
    def live_figures(self, obj: RegisteredModel) -> str:
        figures = selectors.deployment_figures(model=obj)
        if not figures:
            return "—"
        cols = [
            "version",
            "predictions",
            "errors",
            "latency_ms_p50",
            "latency_ms_p95",
            "mean_confidence",
            "agreement",
        ]
        head = format_html_join("", "<th>{}</th>", ((c,) for c in ["variant", *cols]))
        rows = format_html_join(
            "",
            "<tr><td>{}</td>{}</tr>",
            (
                (
                    variant,
                    format_html_join("", "<td>{}</td>", ((f.get(c),) for c in cols)),
                )
                for variant, f in figures.items()
            ),
        )
        return format_html("<table><tr>{}</tr>{}</table>", head, rows)

    @admin.action(description="Roll back to previous version")
    def rollback(
        self, request: HttpRequest, queryset: QuerySet[RegisteredModel]
    ) -> None:
        for model in queryset:
            _run(
                request,
                self,
                deployments.deployment_rollback,
                model=model,
                actor=request.user,
            )

    @admin.action(description="Promote the A/B or shadow candidate")
    def promote(
        self, request: HttpRequest, queryset: QuerySet[RegisteredModel]
    ) -> None:
        for model in queryset:
            _run(
                request,
                self,
                deployments.deployment_promote,
                model=model,
                actor=request.user,
            )

    @admin.action(description="Stop the A/B test or shadow")
    def stop(self, request: HttpRequest, queryset: QuerySet[RegisteredModel]) -> None:
        for model in queryset:
            _run(
                request,
                self,
                deployments.deployment_stop,
                model=model,
                actor=request.user,
            )


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "model", "status", "accuracy", "macro_f1", "created"]
    list_filter = ["status", "model__name"]
    readonly_fields = [
        "model",
        "number",
        "artefact",
        "sha256",
        "size",
        "status",
        "failure_reason",
        "accuracy",
        "macro_f1",
        "confusion_matrix",
        "mixed_up",
        "calibration",
        "cross_validation",
        "snapshot_sha256",
        "metrics",
        "training_summary",
        "created_by",
        "created",
    ]
    exclude = ["validation_sample", "evaluation", "labels"]
    actions = ["activate", "start_ab", "start_shadow", "archive"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions come from training or the upload API (validated)

    @admin.display(description="accuracy")
    def accuracy(self, obj: ModelVersion) -> Any:
        return (obj.metrics or {}).get("accuracy")

    @admin.display(description="macro-F1")
    def macro_f1(self, obj: ModelVersion) -> Any:
        return (obj.metrics or {}).get("macro_f1")

    @admin.display(description="confusion matrix (rows: truth)")
    def confusion_matrix(self, obj: ModelVersion) -> str:
        matrix = (obj.metrics or {}).get("confusion_matrix")
        if not matrix:
            return "—"
        # confusion_svg escapes every label; numbers are ints from our metrics.
        return mark_safe(confusion_svg(obj.class_labels(), matrix))  # noqa: S308

    @admin.display(description="mixed up most (held out) and labels on one drawing")
    def mixed_up(self, obj: ModelVersion) -> str:
        ev = obj.evaluation or {}
        lines = [
            (m["label"], m["answered"], f"{m['drawings']} held-out drawings")
            for m in ev.get("most_confused") or []
        ]
        lines += [
            (
                " + ".join(c["labels"]),
                "one drawing",
                f"{c['drawings']} drawings, ids {c['examples']}",
            )
            for c in (ev.get("deduplication") or {}).get("conflicting_labels") or []
        ]
        if not lines:
            return "—"
        # Labels are the tenant's text: format_html_join escapes them.
        return format_html_join(mark_safe("<br>"), "{} → {}: {}", lines)

    @admin.display(description="calibration (reliability diagram)")
    def calibration(self, obj: ModelVersion) -> str:
        svg = ((obj.evaluation or {}).get("svg") or {}).get("calibration")
        # Drawn by apps.modelreg.evaluation from numbers only.
        return mark_safe(svg) if svg else "—"  # noqa: S308

    @admin.display(description="cross-validated macro-F1")
    def cross_validation(self, obj: ModelVersion) -> Any:
        cv = (obj.evaluation or {}).get("cross_validation")
        if not cv:
            return "—"
        return f"{cv['macro_f1_mean']} ± {cv['macro_f1_std']} ({cv['folds']} folds)"

    def _each(
        self, request: HttpRequest, queryset: QuerySet[ModelVersion], **kw: Any
    ) -> None:
        for version in queryset.select_related("model"):
            _run(
                request,
                self,
                deployments.deployment_request,
                model=version.model,
                number=version.number,
                actor=request.user,
                **kw,
            )

    @admin.action(description="Activate (after a health check)")
    def activate(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        self._each(request, queryset)

    @admin.action(description="Start A/B test (10%% of traffic, sticky by tenant)")
    def start_ab(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        self._each(request, queryset, kind=ActivationEvent.Kind.AB_START, percent=10)

    @admin.action(description="Start shadow")
    def start_shadow(
        self, request: HttpRequest, queryset: QuerySet[ModelVersion]
    ) -> None:
        self._each(request, queryset, kind=ActivationEvent.Kind.SHADOW_START)

    @admin.action(description="Archive")
    def archive(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        for version in queryset:
            _run(request, self, deployments.version_archive, version=version)


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    """Corrections of predictions (read-only: they come from the API)."""

    list_display = [
        "created",
        "tenant",
        "model_name",
        "version_number",
        "predicted_label",
        "corrected_label",
        "outcome",
        "user",
    ]
    list_filter = ["outcome", "model_name"]
    search_fields = ["predicted_label", "corrected_label", "comment"]
    readonly_fields = [f.name for f in Feedback._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ActivationEvent)
class ActivationEventAdmin(admin.ModelAdmin):
    list_display = [
        "created",
        "model",
        "kind",
        "status",
        "version",
        "previous_version",
        "actor",
    ]
    list_filter = ["kind", "status"]
    readonly_fields = [f.name for f in ActivationEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
