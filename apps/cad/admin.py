from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.cad import labels, selectors
from apps.cad.models import Analysis, Drawing
from cadml.lib.errors import InvalidInput


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
    list_display = ["id", "name", "label", "tenant", "format", "size", "created"]
    # One click from the review queue: type the label in the row and save.
    list_editable = ["label"]
    list_filter = [ReviewQueueFilter, LabelledFilter, "label", "format", "tenant"]
    search_fields = ["name", "sha256", "label"]
    raw_id_fields = ["uploaded_by"]
    action_form = LabelActionForm
    actions = ["set_label"]

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
