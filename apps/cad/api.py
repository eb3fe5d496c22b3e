"""REST interface of the CAD core: parse, call one service or selector, render."""

from __future__ import annotations

from django.http import HttpResponse
from rest_framework import serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import BaseParser, FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.cad import features, labels, selectors, services
from apps.cad.models import Drawing
from apps.cad.serializers import AnalysisOutputSerializer, DrawingOutputSerializer
from cadml.lib.errors import InvalidInput

PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'"


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

    def post(self, request: Request) -> Response:
        # Refuse an oversized body on its declared length, before the multipart
        # parser spools it anywhere.
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        services.check_upload_size(max(0, declared - 64 * 1024))
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        upload = s.validated_data["file"]
        services.check_upload_size(upload.size)
        drawing, analysis, queued = services.drawing_upload(
            tenant=request.tenant,
            uploaded_by=request.user,
            name=s.validated_data.get("name") or upload.name,
            content=upload.read(),
            analyze=s.validated_data["analyze"],
        )
        if queued:
            code = status.HTTP_202_ACCEPTED
        elif drawing.created_now:  # type: ignore[attr-defined]
            code = status.HTTP_201_CREATED
        else:
            code = status.HTTP_200_OK
        return Response(_drawing_with_analysis(drawing, analysis), status=code)


class DrawingListApi(APIView):
    class FilterSerializer(serializers.Serializer):
        name = serializers.CharField(required=False)
        # Not "format": DRF reserves ?format= for choosing the renderer.
        file_format = serializers.ChoiceField(
            choices=Drawing.Format.choices, required=False
        )
        material = serializers.CharField(required=False)
        label = serializers.CharField(required=False, max_length=200)
        labelled = serializers.BooleanField(
            required=False, allow_null=True, default=None
        )
        needs_review = serializers.BooleanField(
            required=False, allow_null=True, default=None
        )
        order = serializers.ChoiceField(
            choices=["newest", "uncertainty"], required=False, default="newest"
        )
        created_from = serializers.DateTimeField(required=False)
        created_to = serializers.DateTimeField(required=False)

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
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(
            DrawingOutputSerializer(page, many=True).data
        )


class DrawingDetailApi(APIView):
    def get(self, request: Request, drawing_id: int) -> Response:
        drawing = selectors.drawing_get(tenant=request.tenant, drawing_id=drawing_id)
        return Response(_drawing_with_analysis(drawing, drawing.latest_analysis()))


class DrawingDeleteApi(APIView):
    def delete(self, request: Request, drawing_id: int) -> Response:
        drawing = selectors.drawing_get(tenant=request.tenant, drawing_id=drawing_id)
        services.drawing_delete(drawing=drawing)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DrawingAnalysisApi(APIView):
    def get(self, request: Request, drawing_id: int) -> Response:
        drawing = selectors.drawing_get(tenant=request.tenant, drawing_id=drawing_id)
        analysis = selectors.analysis_latest(tenant=request.tenant, drawing=drawing)
        return Response(AnalysisOutputSerializer(analysis).data)


class DrawingAnalyzeApi(APIView):
    def post(self, request: Request, drawing_id: int) -> Response:
        drawing = selectors.drawing_get(tenant=request.tenant, drawing_id=drawing_id)
        analysis = services.analysis_run(drawing=drawing)
        return Response(AnalysisOutputSerializer(analysis).data, status=201)


class DrawingSimilarApi(APIView):
    def get(self, request: Request, drawing_id: int) -> Response:
        try:
            k = int(request.query_params.get("k", 10))
        except ValueError:
            raise InvalidInput("k must be a whole number between 1 and 100.") from None
        if not 1 <= k <= 100:
            raise InvalidInput("k must be a whole number between 1 and 100.")
        drawing = selectors.drawing_get(tenant=request.tenant, drawing_id=drawing_id)
        found = selectors.drawing_similar(tenant=request.tenant, drawing=drawing, k=k)
        return Response(
            {
                "drawing_id": drawing.pk,
                "results": [
                    {
                        "drawing": DrawingOutputSerializer(n.drawing).data,
                        "score": n.score,
                        "duplicate": n.duplicate,
                    }
                    for n in found
                ],
            }
        )


class DrawingPreviewApi(APIView):
    def get(self, request: Request, drawing_id: int) -> HttpResponse:
        drawing = selectors.drawing_get(tenant=request.tenant, drawing_id=drawing_id)
        analysis = selectors.analysis_latest(tenant=request.tenant, drawing=drawing)
        svg = services.analysis_preview(analysis=analysis)
        response = HttpResponse(svg, content_type="image/svg+xml")
        # The SVG comes from user data: no scripts, no external loads.
        response["Content-Security-Policy"] = PREVIEW_CSP
        response["X-Content-Type-Options"] = "nosniff"
        return response


class FeatureSchemaApi(APIView):
    def get(self, request: Request) -> Response:
        return Response(features.schema())


class DrawingLabelApi(APIView):
    """``PATCH {"label": "flange"}`` sets the label; ``{"label": null}`` clears it."""

    parser_classes = [JSONParser]

    def patch(self, request: Request, drawing_id: int) -> Response:
        if not isinstance(request.data, dict) or "label" not in request.data:
            raise InvalidInput('Send {"label": "<name>"} or {"label": null}.')
        drawing = selectors.drawing_get(tenant=request.tenant, drawing_id=drawing_id)
        drawing = labels.drawing_label_set(
            drawing=drawing, label=request.data["label"], actor=request.user
        )
        return Response(_drawing_with_analysis(drawing, drawing.latest_analysis()))


class CSVTextParser(BaseParser):
    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):  # type: ignore[no-untyped-def]
        raw = stream.read() if stream is not None else b""
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput("The CSV must be UTF-8 text.") from None


class DrawingLabelBulkApi(APIView):
    """JSON ``[{"id": 12, "label": "nut"}, {"sha256": ..., "label": ...}]`` or
    ``text/csv`` lines ``id_or_sha256,label``: all rows or none."""

    parser_classes = [JSONParser, CSVTextParser]

    def post(self, request: Request) -> Response:
        data = request.data
        rows = (
            labels.rows_from_csv(data)
            if isinstance(data, str)
            else labels.rows_from_json(data)
        )
        result = labels.drawing_labels_bulk(
            tenant=request.tenant, rows=rows, actor=request.user
        )
        return Response(result)
