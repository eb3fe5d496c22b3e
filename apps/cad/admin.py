from __future__ import annotations

from django.contrib import admin

from apps.cad.models import Analysis, Drawing


@admin.register(Drawing)
class DrawingAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "tenant", "format", "size", "created"]
    list_filter = ["format", "tenant"]
    search_fields = ["name", "sha256"]
    raw_id_fields = ["uploaded_by"]


@admin.register(Analysis)
class AnalysisAdmin(admin.ModelAdmin):
    list_display = ["id", "drawing", "status", "feature_version", "created"]
    list_filter = ["status", "feature_version"]
    raw_id_fields = ["drawing"]
    exclude = ["preview_svg"]
