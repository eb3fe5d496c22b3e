from __future__ import annotations

from rest_framework import serializers

from apps.cad.models import Analysis, Drawing


class AnalysisOutputSerializer(serializers.ModelSerializer):
    drawing_id = serializers.IntegerField(read_only=True)
    prediction = serializers.SerializerMethodField()

    class Meta:
        model = Analysis
        fields = [
            "id",
            "drawing_id",
            "status",
            "error",
            "error_code",
            "pipeline_version",
            "recovered",
            "fixes",
            "feature_version",
            "features",
            "text",
            "title_block",
            "dimensions",
            "stats",
            "timings",
            "prediction",
            "created",
            "finished",
        ]

    def get_prediction(self, obj: Analysis) -> dict:
        return {
            "label": obj.prediction,
            "confidence": obj.confidence,
            "model_name": obj.model_name or None,
            "model_version": obj.model_version or None,
            "variant": obj.variant or None,
            "reason": obj.prediction_reason or None,
        }


class DrawingOutputSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.CharField(source="uploaded_by.username", default=None)
    preview_url = serializers.SerializerMethodField()

    class Meta:
        model = Drawing
        fields = [
            "id",
            "name",
            "sha256",
            "size",
            "format",
            "uploaded_by",
            "created",
            "preview_url",
        ]

    def get_preview_url(self, obj: Drawing) -> str:
        return f"/api/v1/drawings/{obj.pk}/preview.svg"
