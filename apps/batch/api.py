"""REST interface of batch jobs: parse, call one service or selector, render."""

from __future__ import annotations

import csv
import io
import json
import posixpath
from typing import Any, cast

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from apps.accounts.permissions import acting_user
from apps.accounts.request import Request
from apps.batch import (
    duplicate_report,
    events,
    selectors,
    services,
    submission,
    zipsafe,
)
from apps.batch.completion import job_summary
from apps.batch.models import BatchItem, BatchJob, WebhookDelivery
from apps.cad.labels import label_from_path
from cadml.lib.errors import InvalidInput, PayloadTooLarge
from cadml.lib.openapi import LIMIT_OFFSET_PARAMETERS, errors, limit_offset_page
from cadml.lib.pagination import BoundedLimitOffsetPagination
from cadml.lib.parsers import JSONObjectParser


class JobOutputSerializer(serializers.ModelSerializer):
    percent = serializers.FloatField(read_only=True)
    eta_s = serializers.SerializerMethodField()
    channel = serializers.CharField(read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = BatchJob
        fields = [
            "id",
            "url",
            "kind",
            "status",
            "priority",
            "total",
            "done",
            "failed",
            "skipped",
            "percent",
            "eta_s",
            "options",
            "callback_url",
            "idempotency_key",
            "channel",
            "created",
            "started",
            "finished",
            "summary",
        ]

    def get_eta_s(self, obj: BatchJob) -> float | None:
        return selectors.job_eta_s(obj)

    def get_url(self, obj: BatchJob) -> str:
        return f"/api/v1/jobs/{obj.pk}"


class ItemOutputSerializer(serializers.ModelSerializer):
    analysis_id = serializers.IntegerField(read_only=True, allow_null=True)
    drawing_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = BatchItem
        fields = [
            "index",
            "name",
            "drawing_id",
            "status",
            "attempts",
            "error_code",
            "error_message",
            "analysis_id",
            "started",
            "finished",
            "duration_ms",
        ]


class DeliveryOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = ["attempt", "event", "url", "status_code", "ok", "error", "created"]


class JobDetailOutputSerializer(JobOutputSerializer):
    deliveries = DeliveryOutputSerializer(many=True)

    class Meta(JobOutputSerializer.Meta):
        fields = [*JobOutputSerializer.Meta.fields, "deliveries"]


class JobRetriedOutputSerializer(JobOutputSerializer):
    retried = serializers.IntegerField(help_text="Items queued again.")

    class Meta(JobOutputSerializer.Meta):
        fields = [*JobOutputSerializer.Meta.fields, "retried"]


def _int_list(raw: Any) -> list[int]:
    if isinstance(raw, str):
        raw = [p for p in raw.replace(",", " ").split() if p]
    if not isinstance(raw, list):
        raise InvalidInput(
            "drawings must be a list of ids", code="invalid_drawings", field="drawings"
        )
    try:
        return [int(v) for v in raw]
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput(
            "drawings must be a list of integer ids",
            code="invalid_drawings",
            field="drawings",
        ) from None


class JobCreateApi(APIView):
    """POST files (repeated ``files``), one zip, or JSON ``{"drawings": [...]}``."""

    parser_classes = [JSONObjectParser, MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(
            choices=BatchJob.Kind.choices,
            default=BatchJob.Kind.ANALYZE,
            error_messages={"invalid_choice": submission.KIND_MESSAGE},
        )
        priority = serializers.IntegerField(
            min_value=0,
            max_value=9,
            default=5,
            error_messages={
                "min_value": submission.PRIORITY_MESSAGE,
                "max_value": submission.PRIORITY_MESSAGE,
            },
        )
        callback_url = serializers.URLField(
            required=False, allow_blank=True, default="", max_length=2000
        )
        options = serializers.JSONField(required=False, default=dict)

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                name="JobCreateMultipartInput",
                fields={
                    "files": serializers.ListField(
                        child=serializers.FileField(),
                        required=False,
                        help_text="Repeat for each file, or send one .zip.",
                    ),
                    "drawings": serializers.CharField(
                        required=False, help_text="Ids of stored drawings, 1,2,3."
                    ),
                    "kind": serializers.ChoiceField(
                        choices=BatchJob.Kind.choices, required=False
                    ),
                    "priority": serializers.IntegerField(
                        min_value=0, max_value=9, required=False
                    ),
                    "callback_url": serializers.URLField(required=False),
                    "options": serializers.CharField(
                        required=False, help_text="A JSON object."
                    ),
                },
            ),
            "application/json": inline_serializer(
                name="JobCreateJsonInput",
                fields={
                    "drawings": serializers.ListField(
                        child=serializers.IntegerField(), required=False
                    ),
                    "kind": serializers.ChoiceField(
                        choices=BatchJob.Kind.choices, required=False
                    ),
                    "priority": serializers.IntegerField(
                        min_value=0, max_value=9, required=False
                    ),
                    "callback_url": serializers.URLField(required=False),
                    "options": serializers.DictField(required=False),
                },
            ),
        },
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="The same key answers the same job (200), once.",
            )
        ],
        responses={
            202: JobOutputSerializer,
            200: OpenApiResponse(
                JobOutputSerializer,
                description="The job already submitted with this Idempotency-Key.",
            ),
            **errors(
                e409="The Idempotency-Key was used for a different request.",
                e413="Too large: the zip, or a file in it.",
            ),
        },
        summary="Submit a batch job (files, a zip, or stored drawings)",
    )
    def post(self, request: Request) -> Response:
        data = request.data
        if not hasattr(data, "get"):
            raise InvalidInput(
                "the body must be a JSON object (or multipart form)",
                code="invalid_body",
            )
        s = self.InputSerializer(
            data={
                k: data.get(k)
                for k in ("kind", "priority", "callback_url", "options")
                if data.get(k) not in (None, "")
            }
        )
        s.is_valid(raise_exception=True)
        if not isinstance(s.validated_data["options"], dict):
            raise InvalidInput(
                "options must be a JSON object", code="invalid_options", field="options"
            )
        files = request.FILES.getlist("files") or request.FILES.getlist("file")
        label_from = data.get("label_from") or ""
        if label_from not in ("", "folder"):
            raise InvalidInput(
                "label_from must be 'folder' (label each drawing of a zip by its "
                "folder name) or left out",
                code="invalid_label_from",
            )
        uploads = self._uploads(files, label_from=label_from)
        drawing_ids = _int_list(data.get("drawings")) if data.get("drawings") else []
        job, created = submission.job_submit(
            tenant=request.tenant,
            user=request.user,
            uploads=uploads,
            drawing_ids=drawing_ids,
            idempotency_key=request.headers.get("Idempotency-Key") or None,
            **s.validated_data,
        )
        body = JobOutputSerializer(job).data
        return Response(
            body,
            status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK,
            headers={"Location": body["url"]},
        )

    @staticmethod
    def _uploads(files: list[Any], *, label_from: str = "") -> list[submission.Upload]:
        limit = int(settings.CADML_MAX_UPLOAD_MB) * 1024 * 1024
        if len(files) > submission.max_items():
            raise InvalidInput(
                f"{len(files)} files submitted; a job takes at most "
                f"{submission.max_items()}",
                code="too_many_items",
            )
        if len(files) == 1 and files[0].name.lower().endswith(".zip"):
            if files[0].size > limit:
                raise PayloadTooLarge(
                    f"the zip is larger than {limit} bytes", code="zip_too_large"
                )
            if label_from == "folder":
                return [
                    submission.Upload(
                        name=posixpath.basename(path) or path,
                        content=content,
                        label=label_from_path(path),
                    )
                    for path, content in zipsafe.zip_entries(files[0].read())
                ]
            return [
                submission.Upload(name=name, content=content)
                for name, content in zipsafe.zip_members(files[0].read())
            ]
        if label_from:
            raise InvalidInput(
                "label_from=folder needs one zip upload with a folder per label",
                code="invalid_label_from",
            )
        return [submission.Upload(name=f.name, content=f.read()) for f in files]


class JobListApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("status", str),
            OpenApiParameter("kind", str, enum=BatchJob.Kind.values),
            OpenApiParameter("created_after", OpenApiTypes.DATETIME),
            OpenApiParameter("created_before", OpenApiTypes.DATETIME),
            *LIMIT_OFFSET_PARAMETERS,
        ],
        operation_id="jobs_list",
        responses=limit_offset_page("JobPage", JobOutputSerializer),
        summary="List batch jobs",
    )
    def get(self, request: Request) -> Response:
        qs = selectors.job_list(
            tenant=request.tenant,
            status=request.query_params.get("status"),
            kind=request.query_params.get("kind"),
            created_after=request.query_params.get("created_after"),
            created_before=request.query_params.get("created_before"),
        )
        paginator = BoundedLimitOffsetPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(
            JobOutputSerializer(page, many=True).data
        )


class JobDetailApi(APIView):
    @extend_schema(
        responses=JobDetailOutputSerializer, summary="A job and its webhook calls"
    )
    def get(self, request: Request, job_id: int) -> Response:
        job = selectors.job_get(tenant=request.tenant, job_id=job_id)
        data = JobOutputSerializer(job).data
        data["deliveries"] = DeliveryOutputSerializer(
            selectors.delivery_list(job=job), many=True
        ).data
        return Response(data)


class JobCancelApi(APIView):
    @extend_schema(
        request=None,
        responses={202: JobOutputSerializer, **errors(e409="The job already ended.")},
        summary="Cancel a job",
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = selectors.job_get(tenant=request.tenant, job_id=job_id)
        job = services.job_cancel(job=job, user=request.user)
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class JobRetryFailedApi(APIView):
    @extend_schema(
        request=None,
        responses={
            202: JobRetriedOutputSerializer,
            **errors(e409="The job is still running, or nothing failed."),
        },
        summary="Run the failed items again",
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = selectors.job_get(tenant=request.tenant, job_id=job_id)
        job, n = services.job_retry_failed(job=job)
        data = JobOutputSerializer(job).data
        data["retried"] = n
        return Response(data, status=status.HTTP_202_ACCEPTED)


class JobItemListApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=BatchItem.Status.values),
            *LIMIT_OFFSET_PARAMETERS,
        ],
        responses=limit_offset_page("JobItemPage", ItemOutputSerializer),
        summary="A job's items",
    )
    def get(self, request: Request, job_id: int) -> Response:
        job = selectors.job_get(tenant=request.tenant, job_id=job_id)
        qs = selectors.item_list(job=job, status=request.query_params.get("status"))
        paginator = BoundedLimitOffsetPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(
            ItemOutputSerializer(page, many=True).data
        )


class CSVRenderer(BaseRenderer):
    """Lets ``?format=csv`` through DRF's negotiation; the view writes the body."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> bytes:
        return json.dumps(data).encode() if data is not None else b""


class JobResultsApi(APIView):
    # The default (versioned) renderers first: v2 JSON comes in the envelope.
    renderer_classes = [
        # DRF's settings hold the imported classes (the stubs see dotted paths).
        *cast("list[type[BaseRenderer]]", api_settings.DEFAULT_RENDERER_CLASSES),
        CSVRenderer,
    ]

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["json", "csv"])],
        responses={
            (200, "application/json"): inline_serializer(
                name="JobResults",
                fields={
                    "job": JobOutputSerializer(),
                    "summary": inline_serializer(
                        name="JobResultsSummary",
                        fields={
                            "by_label": serializers.DictField(
                                child=serializers.IntegerField()
                            ),
                            "by_error": serializers.DictField(
                                child=serializers.IntegerField()
                            ),
                        },
                    ),
                    "results": serializers.ListField(child=serializers.DictField()),
                },
            ),
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description="One row per item."
            ),
        },
        summary="A job's results (JSON or CSV)",
    )
    def get(self, request: Request, job_id: int) -> Response | HttpResponse:
        job = selectors.job_get(tenant=request.tenant, job_id=job_id)
        fmt = request.query_params.get("format") or "json"
        if fmt not in ("json", "csv", "api"):
            raise InvalidInput(
                "format must be json or csv", code="invalid_format", field="format"
            )
        rows = selectors.result_rows(job=job)
        events.audit(
            "data.exported",
            tenant=request.tenant,
            job_id=job.pk,
            request=request._request,
            details={"format": fmt, "rows": len(rows), "what": "batch_results"},
        )
        if fmt == "csv":
            out = io.StringIO()
            if rows:
                writer = csv.DictWriter(out, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
            response = HttpResponse(
                out.getvalue(), content_type="text/csv; charset=utf-8"
            )
            stamp = timezone.now().strftime("%Y%m%d")
            response["Content-Disposition"] = (
                f'attachment; filename="job-{job.pk}-results-{stamp}.csv"'
            )
            return response
        summary = job.summary or job_summary(job=job)
        return Response(
            {
                "job": JobOutputSerializer(job).data,
                "summary": {
                    "by_label": summary.get("by_label", {}),
                    "by_error": summary.get("by_error", {}),
                },
                "results": rows,
            }
        )


class DuplicateReportAcceptedSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    total = serializers.IntegerField(help_text="Analysed drawings to look at")
    url = serializers.CharField(help_text="The job: progress, cancel")
    channel = serializers.CharField(help_text="Realtime channel of its progress")
    csv = serializers.CharField(help_text="The CSV, once the job succeeded")


class DuplicateReportCreateApi(APIView):
    """Every near-duplicate pair of the tenant's drawings, as a job with CSV."""

    @extend_schema(
        request=None,
        responses={
            202: DuplicateReportAcceptedSerializer,
            **errors(e409="A duplicate report is already queued or running."),
        },
        summary="Report the tenant's duplicate drawings (a job with CSV results)",
    )
    def post(self, request: Request) -> Response:
        job = duplicate_report.report_request(
            tenant=request.tenant, user=acting_user(request)
        )
        return Response(
            {
                "job": job.pk,
                "total": job.total,
                "url": f"/api/v1/jobs/{job.pk}",
                "channel": f"job:{job.pk}",
                "csv": f"/api/v1/duplicates/report/{job.pk}.csv",
            },
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": f"/api/v1/jobs/{job.pk}"},
        )


class DuplicateReportCsvApi(APIView):
    @extend_schema(
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description="drawing_id,name,duplicate_id,duplicate_name,score; "
                "one near-duplicate pair a row, lower id first.",
            ),
            **errors(e409="The report job has not succeeded (yet)."),
        },
        summary="The CSV of a finished duplicate report",
    )
    def get(self, request: Request, job_id: int) -> HttpResponse:
        job, body = duplicate_report.report_csv(tenant=request.tenant, job_id=job_id)
        events.audit(
            "data.exported",
            tenant=request.tenant,
            job_id=job.pk,
            request=request._request,
            details={"format": "csv", "what": "duplicate_report"},
        )
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="duplicates-job-{job.pk}.csv"'
        )
        return response
