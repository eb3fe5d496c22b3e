from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import JSONField, OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from apps.cad import services
from apps.cad.api import PREVIEW_CSP
from apps.cad.models import Analysis, Drawing
from cadml.lib.errors import DomainError

_LIST_THUMBNAIL_PX = 64
_FORM_PREVIEW_PX = 480


@admin.register(Drawing)
class DrawingAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "thumbnail",
        "name",
        "tenant",
        "format",
        "size",
        "latest_prediction",
        "latest_confidence",
        "created",
    ]
    list_filter = ["format", "tenant"]
    search_fields = ["name", "sha256"]
    raw_id_fields = ["uploaded_by"]
    readonly_fields = ["latest_prediction", "latest_confidence", "preview"]

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


@admin.register(Analysis)
class AnalysisAdmin(admin.ModelAdmin):
    list_display = ["id", "drawing", "status", "feature_version", "created"]
    list_filter = ["status", "feature_version"]
    raw_id_fields = ["drawing"]
    exclude = ["preview_svg"]
