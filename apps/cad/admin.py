from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import JSONField, OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from apps.cad import labels, selectors, services
from apps.cad.api import PREVIEW_CSP
from apps.cad.models import Analysis, Drawing
from cadml.lib.errors import DomainError, InvalidInput

_LIST_THUMBNAIL_PX = 64
_FORM_PREVIEW_PX = 480


class LabelActionForm(ActionForm):
    label = forms.CharField(
        required=False,
        max_length=200,
        help_text="For “Set label”: the label (empty clears it).",
    )


class LabelledFilter(admin.SimpleListFilter):
    title = "labelled"
    parameter_name = "labelled"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Labelled"), ("no", "Unlabelled")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.exclude(label="")
        if self.value() == "no":
            return queryset.filter(label="")
        return queryset


class ReviewQueueFilter(admin.SimpleListFilter):
    """The review queue: unlabelled drawings whose latest prediction needs a
    person, least certain first (as ``GET /api/v1/drawings?needs_review=true``)."""

    title = "review queue"
    parameter_name = "review"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("queue", "Needs review, least certain first")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() != "queue":
            return queryset
        from apps.accounts.models import Tenant

        ordered: list[int] = []
        for tenant in Tenant.objects.filter(pk__in=queryset.values("tenant_id")):
            ordered += list(
                selectors.drawing_list(
                    tenant=tenant,
                    labelled=False,
                    needs_review=True,
                    order="uncertainty",
                ).values_list("pk", flat=True)[:500]
            )
        from django.db.models import Case, IntegerField, Value, When

        return queryset.filter(pk__in=ordered).order_by(
            Case(
                *[When(pk=pk, then=Value(i)) for i, pk in enumerate(ordered)],
                output_field=IntegerField(),
            )
        )


class LabelRowForm(forms.ModelForm):
    """The label typed in a row of the list: normalised, or refused with the
    reason beside the field."""

    class Meta:
        model = Drawing
        fields = ["label"]

    label = forms.CharField(required=False, max_length=200)

    def clean_label(self) -> str:
        raw = self.cleaned_data.get("label") or ""
        if not raw.strip():
            return ""
        try:
            return labels.label_normalise(raw)
        except InvalidInput as exc:
            raise forms.ValidationError(exc.message) from None


@admin.register(Drawing)
class DrawingAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "thumbnail",
        "name",
        "label",
        "tenant",
        "format",
        "size",
        "latest_prediction",
        "latest_confidence",
        "created",
    ]
    # One click from the review queue: type the label in the row and save.
    list_editable = ["label"]
    list_filter = [ReviewQueueFilter, LabelledFilter, "label", "format", "tenant"]
    search_fields = ["name", "sha256", "label"]
    raw_id_fields = ["uploaded_by"]
    readonly_fields = ["latest_prediction", "latest_confidence", "preview"]
    action_form = LabelActionForm
    actions = ["set_label"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Drawing]:
        # The latest analysis' answer in the list query itself, not one query
        # per row.
        latest = Analysis.objects.filter(drawing=OuterRef("pk")).order_by(
            "-created", "-id"
        )
        return (
            super()
            .get_queryset(request)
            .select_related("tenant")
            .annotate(
                _prediction=Subquery(
                    latest.values("prediction")[:1], output_field=JSONField()
                ),
                _confidence=Subquery(latest.values("confidence")[:1]),
            )
        )

    @admin.display(description="prediction")
    def latest_prediction(self, obj: Drawing) -> str:
        p = getattr(obj, "_prediction", None)
        if isinstance(p, dict):
            p = p.get("label")
        return "-" if p in (None, "") else str(p)

    @admin.display(description="confidence", ordering="_confidence")
    def latest_confidence(self, obj: Drawing) -> str:
        c = getattr(obj, "_confidence", None)
        return "-" if c is None else f"{c:.2f}"

    @admin.display(description="preview")
    def thumbnail(self, obj: Drawing) -> str:
        return self._img(obj, _LIST_THUMBNAIL_PX)

    @admin.display(description="preview")
    def preview(self, obj: Drawing) -> str:
        return self._img(obj, _FORM_PREVIEW_PX) if obj.pk else "-"

    def _img(self, obj: Drawing, px: int) -> str:
        # An <img> never runs scripts in an SVG; the picture is drawn on first
        # request, so the page itself stays fast.
        url = reverse("admin:cad_drawing_thumbnail", args=[obj.pk])
        return format_html(
            '<img src="{}?size={}" width="{}" loading="lazy" alt="">', url, px, px
        )

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:drawing_id>/thumbnail.svg",
                self.admin_site.admin_view(self.thumbnail_view),
                name="cad_drawing_thumbnail",
            ),
            *super().get_urls(),
        ]

    def thumbnail_view(self, request: HttpRequest, drawing_id: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise Http404
        drawing = get_object_or_404(Drawing, pk=drawing_id)
        analysis = drawing.latest_analysis()
        try:
            size = min(max(int(request.GET.get("size", _FORM_PREVIEW_PX)), 16), 1024)
            if analysis is None:
                raise Http404
            svg = services.analysis_preview(analysis=analysis, size=size)
        except (ValueError, DomainError):
            raise Http404 from None
        response = HttpResponse(svg, content_type="image/svg+xml")
        response["Content-Security-Policy"] = PREVIEW_CSP
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def save_model(
        self, request: HttpRequest, obj: Drawing, form: Any, change: bool
    ) -> None:
        if change and "label" in form.changed_data:
            old = Drawing.objects.get(pk=obj.pk)
            wanted = obj.label
            obj.label = old.label
            labels.drawing_label_set(
                drawing=obj,
                label=wanted or None,
                source="admin",
                actor=request.user,
            )
            others = [f for f in form.changed_data if f != "label"]
            if others:
                obj.save(update_fields=others)
            return
        super().save_model(request, obj, form, change)

    def get_changelist_form(self, request: HttpRequest, **kwargs: Any) -> Any:
        return LabelRowForm

    @admin.action(description="Set label")
    def set_label(self, request: HttpRequest, queryset: QuerySet[Drawing]) -> None:
        raw = request.POST.get("label", "")
        try:
            new = labels.label_normalise(raw) if raw.strip() else None
        except InvalidInput as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
            return
        changed = 0
        for drawing in queryset.select_related("tenant"):
            before = drawing.label
            labels.drawing_label_set(
                drawing=drawing, label=new, source="admin", actor=request.user
            )
            changed += drawing.label != before
        self.message_user(request, f"Labelled {changed} drawing(s) {new or '(none)'}.")


@admin.register(Analysis)
class AnalysisAdmin(admin.ModelAdmin):
    list_display = ["id", "drawing", "status", "feature_version", "created"]
    list_filter = ["status", "feature_version"]
    raw_id_fields = ["drawing"]
    exclude = ["preview_svg"]
