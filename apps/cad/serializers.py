from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.cad.extract.labels import FIELDS as TITLE_FIELDS
from apps.cad.models import Analysis, Drawing

# Sections the pipeline stores inside ``dimensions`` and v2 shows top-level.
ANNOTATION_SECTIONS = ("gdt", "threads", "surface_finish", "general_tolerance")

# Why an analysis' answer is ``unknown`` (apps.modelreg's open set says it).
UNKNOWN_REASONS = ("not_a_part", "far_from_known_parts", "lone_rectangle")
UNKNOWN_REASON_HELP = (
    "Why the answer is unknown: not_a_part (most like a drawing of another "
    "domain), far_from_known_parts (far from every part the model learned), "
    "lone_rectangle (four edges and nothing else, which no part the model "
    "learned was); null when it is not unknown or the answer predates it."
)


class TitleFieldEvidenceSerializer(serializers.Serializer):
    handle = serializers.CharField(
        allow_null=True, help_text="Entity holding the value"
    )
    # A declared field: DRF's metaclass moves it off Field.label.
    label = serializers.CharField(  # type: ignore[assignment]
        allow_blank=True,
        help_text="The label (or attribute tag) that matched; empty for a value "
        "read without a label (unlabelled_date, unlabelled_title, gost_inscription)",
    )
    label_handle = serializers.CharField(allow_null=True, required=False)
    method = serializers.ChoiceField(
        choices=[
            "attribute",
            "inline",
            "same_cell",
            "next_cell",
            "below_cell",
            "right",
            "below",
            "unlabelled_date",
            "unlabelled_title",
            "gost_inscription",
        ],
        required=False,
    )


class TitleFieldSerializer(serializers.Serializer):
    value = serializers.CharField()
    confidence = serializers.FloatField(help_text="Rank of the evidence, 0-1")
    evidence = TitleFieldEvidenceSerializer()


TitleBlockSerializer = type(
    "TitleBlockSerializer",
    (serializers.Serializer,),
    {f: TitleFieldSerializer(allow_null=True, required=False) for f in TITLE_FIELDS},
)


class TitleBlockOutputSerializer(serializers.Serializer):
    drawing = serializers.IntegerField()
    analysis = serializers.IntegerField(help_text="The analysis it was read by")
    fields = TitleBlockSerializer(
        help_text="Each field read: value, confidence and the evidence (entity "
        "handles, the label that matched, how they were paired); absent when not found"
    )


class FitSerializer(serializers.Serializer):
    hole = serializers.CharField()
    shaft = serializers.CharField()
    hole_deviations = serializers.ListField(
        child=serializers.FloatField(), allow_null=True, help_text="[upper, lower]"
    )
    shaft_deviations = serializers.ListField(
        child=serializers.FloatField(), allow_null=True, help_text="[upper, lower]"
    )
    clearance = serializers.ListField(
        child=serializers.FloatField(),
        required=False,
        help_text="[minimum, maximum]; negative is interference",
    )


class DimensionEntitySerializer(serializers.Serializer):
    handle = serializers.CharField(allow_null=True)
    kind = serializers.CharField()
    measurement = serializers.FloatField(
        allow_null=True, help_text="Degrees if angular"
    )
    text_override = serializers.CharField(allow_null=True)
    block = serializers.CharField(allow_null=True)
    upper = serializers.FloatField(required=False, help_text="Upper deviation")
    lower = serializers.FloatField(required=False, help_text="Lower deviation")
    tolerance_class = serializers.CharField(
        required=False, help_text="ISO 286, e.g. H7"
    )
    fit = FitSerializer(required=False)
    limits = serializers.ListField(child=serializers.FloatField(), required=False)
    count = serializers.IntegerField(required=False, help_text="4x: four features")
    tolerance_source = serializers.ChoiceField(
        choices=["text", "dimstyle", "step-pmi"], required=False
    )
    # A declared field: DRF's metaclass moves it off Field.source.
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=["step-pmi"],
        required=False,
        help_text="Absent for drawings' DIMENSION entities; step-pmi for AP242 "
        "semantic dimensions of a STEP file",
    )
    type = serializers.CharField(
        required=False, help_text="STEP PMI: the kernel's dimension type"
    )
    applies_to = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="STEP PMI: the shapes annotated, e.g. 'cylinder face'",
    )


class DimensionsSerializer(serializers.Serializer):
    entities = DimensionEntitySerializer(many=True)
    tokens = serializers.ListField(child=serializers.DictField())
    toleranced = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        help_text="Sizes with tolerances and chamfers written as text",
    )


class ThreadSerializer(serializers.Serializer):
    system = serializers.ChoiceField(choices=["metric", "unified", "pipe"])
    designation = serializers.CharField()
    series = serializers.CharField(required=False)
    nominal_diameter = serializers.FloatField(required=False, help_text="mm")
    nominal_inch = serializers.CharField(required=False)
    pitch = serializers.FloatField(required=False, allow_null=True, help_text="mm")
    tpi = serializers.IntegerField(required=False)
    fine = serializers.BooleanField(required=False)
    tolerance_class = serializers.CharField(required=False)
    internal = serializers.BooleanField(required=False)
    count = serializers.IntegerField(required=False)
    handle = serializers.CharField(allow_null=True)


class DatumRefSerializer(serializers.Serializer):
    # A declared field: DRF's metaclass moves it off Field.label.
    label = serializers.CharField()  # type: ignore[assignment]
    modifiers = serializers.ListField(child=serializers.CharField())


class GdtSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["frame", "datum"])
    characteristic = serializers.CharField(required=False, allow_null=True)
    value = serializers.FloatField(required=False, allow_null=True)
    diameter = serializers.BooleanField(required=False)
    modifiers = serializers.ListField(child=serializers.CharField(), required=False)
    datums = DatumRefSerializer(many=True, required=False)
    # A declared field: DRF's metaclass moves it off Field.label.
    label = serializers.CharField(required=False, help_text="Datum feature letter")  # type: ignore[assignment]
    handle = serializers.CharField(allow_null=True)
    # A declared field: DRF's metaclass moves it off Field.source.
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=["step-pmi"], required=False, help_text="step-pmi: AP242 semantic PMI"
    )
    applies_to = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="STEP PMI: the shapes annotated, e.g. 'plane face'",
    )


class SurfaceFinishSerializer(serializers.Serializer):
    parameter = serializers.ChoiceField(choices=["Ra", "Rz", "Rq", "Rt", "Rp"])
    value = serializers.FloatField()
    unit = serializers.CharField()
    default = serializers.BooleanField(help_text="The note for all other surfaces")
    grade = serializers.CharField(required=False, help_text="ISO 1302 N grade")
    text = serializers.CharField()
    handle = serializers.CharField(allow_null=True)


class GeneralToleranceSerializer(serializers.Serializer):
    standard = serializers.CharField(required=False)
    tolerance_class = serializers.CharField(source="class", required=False)
    geometrical_class = serializers.CharField(required=False)
    text = serializers.CharField()
    handle = serializers.CharField(allow_null=True)


class DuplicateRefSerializer(serializers.Serializer):
    drawing_id = serializers.IntegerField()
    score = serializers.FloatField(help_text="Cosine in the search space")
    exact = serializers.BooleanField(help_text="The same bytes (sha256)")


class NamedSerializer(serializers.Serializer):
    family = serializers.CharField(
        help_text="The part family the name gives; for a tenant's own model, "
        "the label the file name's words point to (words it learned from the "
        "tenant's labelled drawings)."
    )
    word = serializers.CharField(
        help_text="What named it, folded to lower-case ASCII (a word, a "
        "compound or a standard such as iso4017; a tenant's model: the file "
        "name's words that point to the label, space-separated)."
    )
    found_in = serializers.ChoiceField(
        choices=("title block", "file name", "product name"),
        help_text="product name: a part of a STEP or IGES file (part_predictions).",
    )


class PartPredictionSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The part's index in stats.solid.parts.")
    name = serializers.CharField(allow_null=True, help_text="Its product name.")
    label = serializers.CharField(help_text="The most likely part family.")  # type: ignore[assignment]
    confidence = serializers.FloatField()
    unknown = serializers.BooleanField(allow_null=True)
    unknown_reason = serializers.ChoiceField(
        choices=UNKNOWN_REASONS, allow_null=True, help_text=UNKNOWN_REASON_HELP
    )
    needs_review = serializers.BooleanField()
    named = NamedSerializer(allow_null=True)


# An analysis's prediction, in the API's current (v2) shape.
PREDICTION_FIELDS = (
    "predictions",
    "unknown",
    "unknown_reason",
    "needs_review",
    "named",
    "part_predictions",
    "model",
    "prediction_reason",
)


class AnalysisOutputSerializer(serializers.ModelSerializer):
    drawing_id = serializers.IntegerField(read_only=True)
    duplicates = DuplicateRefSerializer(
        many=True,
        allow_null=True,
        read_only=True,
        help_text="The tenant's drawings this one duplicated when it was "
        "analysed: same content, or cosine at or over CADML_DUPLICATE_THRESHOLD "
        "(docs/search.md); null for analyses stored before this was recorded.",
    )
    title_block = serializers.SerializerMethodField()
    dimensions = serializers.SerializerMethodField()
    gdt = serializers.SerializerMethodField()
    threads = serializers.SerializerMethodField()
    surface_finish = serializers.SerializerMethodField()
    general_tolerance = serializers.SerializerMethodField()
    predictions = serializers.SerializerMethodField()
    unknown = serializers.SerializerMethodField()
    unknown_reason = serializers.SerializerMethodField()
    needs_review = serializers.SerializerMethodField()
    named = serializers.SerializerMethodField()
    part_predictions = serializers.SerializerMethodField()
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
            "gdt",
            "threads",
            "surface_finish",
            "general_tolerance",
            "stats",
            "timings",
            *PREDICTION_FIELDS,
            "duplicates",
            "created",
            "finished",
        ]

    @extend_schema_field(TitleBlockSerializer)
    def get_title_block(self, obj: Analysis) -> dict[str, Any]:
        return obj.title_block or {}

    @extend_schema_field(DimensionsSerializer)
    def get_dimensions(self, obj: Analysis) -> dict[str, Any]:
        dims = obj.dimensions or {}
        return {k: v for k, v in dims.items() if k not in ANNOTATION_SECTIONS}

    def _section(self, obj: Analysis, name: str, empty: Any) -> Any:
        value = (obj.dimensions or {}).get(name)
        return empty if value is None else value

    @extend_schema_field(GdtSerializer(many=True))
    def get_gdt(self, obj: Analysis) -> list[dict[str, Any]]:
        return self._section(obj, "gdt", [])

    @extend_schema_field(ThreadSerializer(many=True))
    def get_threads(self, obj: Analysis) -> list[dict[str, Any]]:
        return self._section(obj, "threads", [])

    @extend_schema_field(SurfaceFinishSerializer(many=True))
    def get_surface_finish(self, obj: Analysis) -> list[dict[str, Any]]:
        return self._section(obj, "surface_finish", [])

    @extend_schema_field(GeneralToleranceSerializer(allow_null=True))
    def get_general_tolerance(self, obj: Analysis) -> dict[str, Any] | None:
        return self._section(obj, "general_tolerance", None)

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

    # Open-set answers (v2; v1 drops them): ``unknown`` is true when the drawing
    # is far from every class the model knows, null when the model cannot say.
    def get_unknown(self, obj: Analysis) -> bool | None:
        p = obj.prediction if isinstance(obj.prediction, dict) else {}
        return p.get("unknown")

    @extend_schema_field(
        serializers.ChoiceField(
            choices=UNKNOWN_REASONS, allow_null=True, help_text=UNKNOWN_REASON_HELP
        )
    )
    def get_unknown_reason(self, obj: Analysis) -> str | None:
        p = obj.prediction if isinstance(obj.prediction, dict) else {}
        return p.get("unknown_reason")

    def get_needs_review(self, obj: Analysis) -> bool | None:
        p = obj.prediction if isinstance(obj.prediction, dict) else {}
        return p.get("needs_review")

    # The part family the drawing's file name or title block named, when the
    # model weighed it beside the drawing (docs/models.md); null otherwise.
    @extend_schema_field(NamedSerializer(allow_null=True))
    def get_named(self, obj: Analysis) -> dict[str, str] | None:
        p = obj.prediction if isinstance(obj.prediction, dict) else {}
        return p.get("named")

    # Each part of a STEP or IGES file of several, answered by the model that
    # answered the file (docs/step-iges.md); empty for one part or a drawing.
    @extend_schema_field(PartPredictionSerializer(many=True))
    def get_part_predictions(self, obj: Analysis) -> list[dict[str, Any]]:
        p = obj.prediction if isinstance(obj.prediction, dict) else {}
        return p.get("parts") or []

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
    uploaded_by = serializers.CharField(
        source="uploaded_by.username", default=None, allow_null=True
    )
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


class DrawingWithAnalysisOutputSerializer(DrawingOutputSerializer):
    analysis = AnalysisOutputSerializer(allow_null=True)

    class Meta(DrawingOutputSerializer.Meta):
        fields = [*DrawingOutputSerializer.Meta.fields, "analysis"]


class NeighbourOutputSerializer(serializers.Serializer):
    drawing = DrawingOutputSerializer()
    score = serializers.FloatField(
        help_text="Cosine in 'space'; in '...+all-views+names' (no model) the "
        "weighed mean of the drawings' cosine and their file names'."
    )
    duplicate = serializers.BooleanField()


class SimilarOutputSerializer(serializers.Serializer):
    drawing_id = serializers.IntegerField()
    space = serializers.CharField(
        help_text="The space that ranked them: '<model>-v<n>-metric+classes' "
        "(the tenant's own model: its classes beside the metric it learned from "
        "the tenant's labels; '+classes+names' when the model learned the words "
        "of its labels' file names and weighs each drawing's name in its "
        "classes) or '<feature version>-unsupervised+all-views+names' "
        "(no model: every view of the drawing beside the words of its file "
        "name; '<feature version>-unsupervised+names' for dxf-2 to dxf-4, "
        "which have no size, topology or layout view)."
    )
    results = NeighbourOutputSerializer(many=True)


class DuplicatesOutputSerializer(serializers.Serializer):
    drawing_id = serializers.IntegerField()
    space = serializers.CharField()
    threshold = serializers.FloatField(help_text="CADML_DUPLICATE_THRESHOLD")
    results = NeighbourOutputSerializer(many=True)


class SearchOutputSerializer(serializers.Serializer):
    space = serializers.CharField()
    query = AnalysisOutputSerializer(
        help_text="The uploaded file's analysis (unsaved)."
    )
    results = NeighbourOutputSerializer(many=True)
