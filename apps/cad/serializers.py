from __future__ import annotations

from rest_framework import serializers

from apps.cad.models import Analysis, Drawing


class AnalysisOutputSerializer(serializers.ModelSerializer):
    drawing_id = serializers.IntegerField(read_only=True)
    predictions = serializers.SerializerMethodField()
    model = serializers.SerializerMethodField()
    prediction_reason = serializers.SerializerMethodField()

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
            "predictions",
            "model",
            "prediction_reason",
            "created",
            "finished",
        ]

    # The current (v2) shape: top-k ``predictions``; apps.versioning collapses
    # it to v1's ``prediction`` + ``confidence``.
    def get_predictions(self, obj: Analysis) -> list[dict]:
        p = obj.prediction
        if not p:
            return []
        if not isinstance(p, dict):
            return [{"label": p, "score": obj.confidence}]
        top = p.get("top3") or p.get("top") or []
        if top:
            return [
                {"label": t.get("label"), "score": t.get("confidence")} for t in top
            ]
        return [{"label": p.get("label"), "score": p.get("confidence", obj.confidence)}]

    def get_model(self, obj: Analysis) -> dict | None:
        if not obj.model_name:
            return None
        p = obj.prediction if isinstance(obj.prediction, dict) else {}
        return {
            "name": obj.model_name,
            "version": obj.model_version,
            "variant": obj.variant or None,
            # Confidence under CADML_MODEL_CONFIDENCE_THRESHOLD: a person should look.
            "needs_review": p.get("needs_review"),
            "inference_ms": p.get("inference_ms"),
        }

    def get_prediction_reason(self, obj: Analysis) -> str | None:
        return obj.prediction_reason or None


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
            "label",
            "uploaded_by",
            "created",
            "preview_url",
        ]

    def get_preview_url(self, obj: Drawing) -> str:
        return f"/api/v1/drawings/{obj.pk}/preview.svg"
