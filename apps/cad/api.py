"""REST interface of the CAD core: parse, call one service or selector, render."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.parsers import BaseParser, FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import acting_user
from apps.accounts.request import Request
from apps.cad import features, labels, preview_theme, selectors, services
from apps.cad.models import Drawing
from apps.cad.serializers import (
    AnalysisOutputSerializer,
    DrawingOutputSerializer,
    DrawingWithAnalysisOutputSerializer,
    DuplicatesOutputSerializer,
    SearchOutputSerializer,
    SimilarOutputSerializer,
    TitleBlockOutputSerializer,
)
from cadml.lib import params
from cadml.lib.errors import InvalidInput
from cadml.lib.openapi import LIMIT_OFFSET_PARAMETERS, errors, limit_offset_page
from cadml.lib.pagination import BoundedLimitOffsetPagination

PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'"
PREVIEW_SIZE_MIN, PREVIEW_SIZE_MAX = 16, 4096


def _validated_upload(
    request: Request, serializer_class: type[serializers.Serializer]
) -> tuple[dict[str, Any], Any]:
    """The form and its ``file``, not read yet: an oversized body is refused
    on its declared length, before the multipart parser spools it anywhere. The
    service the file goes to checks the file itself once (``file_check``)."""
    declared = params.integer(
        request.META.get("CONTENT_LENGTH"),
        field="Content-Length",
        minimum=0,
        maximum=2**63 - 1,
        default=0,
    )
    services.check_upload_size(max(0, declared - 64 * 1024))
    s = serializer_class(data=request.data)
    s.is_valid(raise_exception=True)
    return s.validated_data, s.validated_data["file"]


def _drawing_with_analysis(drawing: Drawing, analysis: object) -> dict:
    data = DrawingOutputSerializer(drawing).data
    data["analysis"] = AnalysisOutputSerializer(analysis).data if analysis else None
    return data


class DrawingCreateApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField(allow_empty_file=True)
        analyze = serializers.BooleanField(default=True)
        name = serializers.CharField(required=False, max_length=255)

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={
            201: DrawingWithAnalysisOutputSerializer,
            200: OpenApiResponse(
                DrawingWithAnalysisOutputSerializer,
                description="The tenant already had this file (same sha256).",
            ),
            202: OpenApiResponse(
                DrawingWithAnalysisOutputSerializer,
                description="Stored; the analysis runs in the background.",
            ),
            **errors(
                e413="The file is larger than CADML_MAX_UPLOAD_MB.",
                e422="The file could not be read, or parsing ran past its limits.",
            ),
        },
        summary="Upload a drawing (and analyze it)",
    )
    def post(self, request: Request) -> Response:
        data, upload = _validated_upload(request, self.InputSerializer)
        out = services.drawing_upload(
            tenant=request.tenant,
            uploaded_by=request.user,
            name=data.get("name") or upload.name,
            content=upload,
            analyze=data["analyze"],
        )
        code: int
        if out.queued:
            code = status.HTTP_202_ACCEPTED
        elif out.created:
            code = status.HTTP_201_CREATED
        else:
            code = status.HTTP_200_OK
        return Response(_drawing_with_analysis(out.drawing, out.analysis), status=code)


class DrawingListApi(APIView):
    class FilterSerializer(serializers.Serializer):
        name = serializers.CharField(required=False, max_length=255)
        # Not "format": DRF reserves ?format= for choosing the renderer.
        file_format = serializers.ChoiceField(
            choices=Drawing.Format.choices, required=False
        )
        material = serializers.CharField(required=False, max_length=255)
        # A declared field: DRF's metaclass moves it off Field.label.
        label = serializers.CharField(required=False, max_length=200)  # type: ignore[assignment]
        labelled = serializers.BooleanField(
            required=False, allow_null=True, default=None
        )
        needs_review = serializers.BooleanField(
            required=False, allow_null=True, default=None
        )
        order = serializers.ChoiceField(
            choices=["newest", "uncertainty"], required=False, default="newest"
        )
        created_from = params.WhenField(required=False)
        created_to = params.WhenField(required=False, end_of_day=True)

    @extend_schema(
        parameters=[FilterSerializer, *LIMIT_OFFSET_PARAMETERS],
        operation_id="drawings_list",
        responses=limit_offset_page("DrawingPage", DrawingOutputSerializer),
        summary="List drawings",
    )
    def get(self, request: Request) -> Response:
        f = self.FilterSerializer(data=request.query_params)
        f.is_valid(raise_exception=True)
        filters = dict(f.validated_data)
        filters["format"] = filters.pop("file_format", None)
        if filters.get("needs_review") and filters.get("labelled") is None:
            # The review queue: what a person has labelled needs no review.
            filters["labelled"] = False
        if filters.get("label"):
            filters["label"] = labels.label_normalise(filters["label"])
        qs = selectors.drawing_list(tenant=request.tenant, **filters)
        paginator = BoundedLimitOffsetPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(
            DrawingOutputSerializer(page, many=True).data
        )


class DrawingDetailApi(APIView):
    @extend_schema(
        responses=DrawingWithAnalysisOutputSerializer,
        summary="A drawing with its latest analysis",
    )
    def get(self, request: Request, drawing_id: int) -> Response:
        drawing = selectors.drawing_get(tenant=request.tenant, drawing_id=drawing_id)
        return Response(_drawing_with_analysis(drawing, drawing.latest_analysis()))


class DrawingDeleteApi(APIView):
    @extend_schema(responses={204: None}, summary="Delete a drawing")
    def delete(self, request: Request, drawing_id: int) -> Response:
        drawing = selectors.drawing_get(tenant=request.tenant, drawing_id=drawing_id)
        services.drawing_delete(drawing=drawing)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DrawingAnalysisApi(APIView):
    @extend_schema(responses=AnalysisOutputSerializer, summary="Latest analysis")
    def get(self, request: Request, drawing_id: int) -> Response:
        drawing = selectors.drawing_get(tenant=request.tenant, drawing_id=drawing_id)
        analysis = selectors.analysis_latest(tenant=request.tenant, drawing=drawing)
        return Response(AnalysisOutputSerializer(analysis).data)


class DrawingTitleBlockApi(APIView):
    """A v2-only endpoint: v1 has no evidence for title-block fields, so the
    versioning middleware answers this path there with a 404 naming v2."""

    # A feature of the versions registry (CADML_API_VERSIONS); named, not
    # imported: the registry sits above this app.
    requires_feature = "title_block_evidence"

    @extend_schema(
        responses=TitleBlockOutputSerializer,
        summary="The drawing's title block, with the evidence of each field",
    )
    def get(self, request: Request, drawing_id: int) -> Response:
        drawing = selectors.drawing_get(tenant=request.tenant, drawing_id=drawing_id)
        analysis = selectors.analysis_latest(tenant=request.tenant, drawing=drawing)
        body = {
            "drawing": drawing.pk,
            "analysis": analysis.pk,
            "fields": analysis.title_block or {},
        }
        return Response(TitleBlockOutputSerializer(body).data)


class DrawingAnalyzeApi(APIView):
    @extend_schema(
        request=None,
        responses={
            201: AnalysisOutputSerializer,
            **errors(e422="The file could not be read, or parsing hit its limits."),
        },
        summary="Analyze the drawing again",
    )
    def post(self, request: Request, drawing_id: int) -> Response:
        drawing = selectors.drawing_get(tenant=request.tenant, drawing_id=drawing_id)
        analysis = services.analysis_run(drawing=drawing, interactive=True)
        return Response(AnalysisOutputSerializer(analysis).data, status=201)


class SimilarFilterSerializer(serializers.Serializer):
    """The filters of ``/similar`` and ``/search``."""

    k = serializers.IntegerField(
        min_value=1, max_value=100, default=10, help_text="How many neighbours."
    )
    # A declared field: DRF's metaclass moves it off Field.label.
    label = serializers.CharField(required=False, max_length=200)  # type: ignore[assignment]
    # Not "format": DRF reserves ?format= for choosing the renderer.
    file_format = serializers.ChoiceField(
        choices=Drawing.Format.choices, required=False
    )
    created_from = params.WhenField(
        required=False, help_text="Only drawings uploaded at or after this."
    )
    created_to = params.WhenField(
        required=False,
        end_of_day=True,
        help_text="Only drawings uploaded at or before this.",
    )
    exclude_identical = serializers.BooleanField(
        default=False, help_text="Leave out drawings with the query's exact content."
    )


def _filters(data: dict) -> selectors.SimilarFilters:
    return selectors.SimilarFilters(
        label=labels.label_normalise(data["label"]) if data.get("label") else "",
        format=data.get("file_format", ""),
        created_from=data.get("created_from"),
        created_to=data.get("created_to"),
        exclude_identical=data["exclude_identical"],
    )


def _neighbours(found: selectors.Similar) -> list[dict]:
    # One serializer for all: building a ModelSerializer's fields per row
    # cost more than the search itself.
    drawings = DrawingOutputSerializer(
        [n.drawing for n in found.neighbours], many=True
    ).data
    return [
        {"drawing": drawing, "score": n.score, "duplicate": n.duplicate}
        for drawing, n in zip(drawings, found.neighbours, strict=True)
    ]


class DrawingSimilarApi(APIView):
    @extend_schema(
        parameters=[SimilarFilterSerializer],
        responses={
            200: SimilarOutputSerializer,
            **errors(e409="The drawing has no finished analysis yet."),
        },
        summary="Drawings most like this one",
    )
    def get(self, request: Request, drawing_id: int) -> Response:
        f = SimilarFilterSerializer(data=request.query_params)
        f.is_valid(raise_exception=True)
        drawing = selectors.drawing_get(tenant=request.tenant, drawing_id=drawing_id)
        found = selectors.drawing_similar(
            tenant=request.tenant,
            drawing=drawing,
            k=f.validated_data["k"],
            filters=_filters(f.validated_data),
        )
        return Response(
            {
                "drawing_id": drawing.pk,
                # Which space ranked them: "<model>-v<n>-metric+classes" (the
                # tenant's own model; "+classes+names" when its classes weigh
                # the drawings' names) or "<feature version>-unsupervised"
                # (+all-views from dxf-5 on: size, topology and layout too;
                # +names: beside the words of the drawings' file names).
                "space": found.space,
                "results": _neighbours(found),
            }
        )


class DrawingDuplicatesApi(APIView):
    @extend_schema(
        responses={
            200: DuplicatesOutputSerializer,
            **errors(e409="The drawing has no finished analysis yet."),
        },
        summary="Near-duplicates of this drawing",
    )
    def get(self, request: Request, drawing_id: int) -> Response:
        drawing = selectors.drawing_get(tenant=request.tenant, drawing_id=drawing_id)
        found = selectors.drawing_duplicates(tenant=request.tenant, drawing=drawing)
        return Response(
            {
                "drawing_id": drawing.pk,
                "space": found.space,
                "threshold": settings.CADML_DUPLICATE_THRESHOLD,
                "results": _neighbours(found),
            }
        )


class SearchApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(SimilarFilterSerializer):
        file = serializers.FileField(allow_empty_file=True)

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={
            200: SearchOutputSerializer,
            **errors(
                e413="The file is larger than CADML_MAX_UPLOAD_MB.",
                e422="The file could not be read, or gave no feature vector.",
            ),
        },
        summary="Drawings most like an uploaded file (nothing is stored)",
    )
    def post(self, request: Request) -> Response:
        data, upload = _validated_upload(request, self.InputSerializer)
        analysis, found = services.content_search(
            tenant=request.tenant,
            name=upload.name,
            content=upload,
            k=data["k"],
            filters=_filters(data),
        )
        return Response(
            {
                "space": found.space,
                "query": AnalysisOutputSerializer(analysis).data,
                "results": _neighbours(found),
            }
        )


class DrawingPreviewApi(APIView):
    class FilterSerializer(serializers.Serializer):
        theme = serializers.ChoiceField(
            choices=preview_theme.THEMES,
            default="light",
            help_text="light: white paper, dark lines; dark: the CAD screen.",
        )
        size = serializers.IntegerField(
            required=False,
            min_value=PREVIEW_SIZE_MIN,
            max_value=PREVIEW_SIZE_MAX,
            help_text="Thumbnail: this many pixels on the longer side.",
        )

    @extend_schema(
        parameters=[FilterSerializer],
        responses={
            (200, "image/svg+xml"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The drawing as SVG."
            )
        },
        summary="Preview picture (SVG)",
    )
    def get(self, request: Request, drawing_id: int) -> HttpResponse:
        f = self.FilterSerializer(data=request.query_params)
        f.is_valid(raise_exception=True)
        drawing = selectors.drawing_get(tenant=request.tenant, drawing_id=drawing_id)
        analysis = selectors.analysis_latest(tenant=request.tenant, drawing=drawing)
        svg = services.analysis_preview(
            analysis=analysis,
            theme=f.validated_data["theme"],
            size=f.validated_data.get("size"),
        )
        response = HttpResponse(svg, content_type="image/svg+xml")
        # The SVG comes from user data: no scripts, no external loads.
        response["Content-Security-Policy"] = PREVIEW_CSP
        response["X-Content-Type-Options"] = "nosniff"
        return response


_FEATURE_SLOT = {
    "type": "object",
    "properties": {
        "index": {"type": "integer"},
        "name": {"type": "string"},
        "description": {"type": "string"},
        "invariance": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


class FeatureSchemaApi(APIView):
    @extend_schema(
        responses={
            200: {
                "type": "object",
                "description": "Feature version (e.g. dxf-1) to its slots, in order.",
                "additionalProperties": {"type": "array", "items": _FEATURE_SLOT},
            }
        },
        summary="The feature vector's columns, per feature version",
    )
    def get(self, request: Request) -> Response:
        return Response(features.schema())


class DrawingLabelApi(APIView):
    """``PATCH {"label": "flange"}`` sets the label; ``{"label": null}`` clears it."""

    parser_classes = [JSONParser]

    @extend_schema(
        request=inline_serializer(
            name="DrawingLabelInput",
            fields={
                "label": serializers.CharField(
                    allow_null=True,
                    help_text="Trimmed, lower-cased, spaces to _; null clears it.",
                )
            },
        ),
        responses={200: DrawingWithAnalysisOutputSerializer},
        summary="Set or clear a drawing's label",
    )
    def patch(self, request: Request, drawing_id: int) -> Response:
        if not isinstance(request.data, dict) or "label" not in request.data:
            raise InvalidInput('Send {"label": "<name>"} or {"label": null}.')
        drawing = selectors.drawing_get(tenant=request.tenant, drawing_id=drawing_id)
        drawing = labels.drawing_label_set(
            drawing=drawing, label=request.data["label"], actor=acting_user(request)
        )
        return Response(_drawing_with_analysis(drawing, drawing.latest_analysis()))


class CSVTextParser(BaseParser):
    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput("The CSV must be UTF-8 text.") from None


class DrawingLabelBulkApi(APIView):
    """JSON ``[{"id": 12, "label": "nut"}, {"sha256": ..., "label": ...}]`` or
    ``text/csv`` lines ``id_or_sha256,label``: all rows or none."""

    parser_classes = [JSONParser, CSVTextParser]

    @extend_schema(
        request={
            "application/json": inline_serializer(
                name="DrawingLabelRow",
                fields={
                    "id": serializers.IntegerField(required=False),
                    "sha256": serializers.CharField(required=False),
                    "label": serializers.CharField(allow_null=True),
                },
                many=True,
            ),
            "text/csv": OpenApiTypes.STR,
        },
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT, description="How many drawings were labelled."
            )
        },
        summary="Label many drawings at once (all or nothing)",
    )
    def post(self, request: Request) -> Response:
        data = request.data
        rows = (
            labels.rows_from_csv(data)
            if isinstance(data, str)
            else labels.rows_from_json(data)
        )
        result = labels.drawing_labels_bulk(
            tenant=request.tenant, rows=rows, actor=acting_user(request)
        )
        return Response(result)
