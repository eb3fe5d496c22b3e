"""Audit search, model-change history and compliance reports (read-only).

Tenant owners and admins (the ``admin`` scope) see their tenant; staff signed in
with a session see every tenant (``?tenant=<slug>`` narrows). Every read is itself
audited as ``audit.exported``. Pages are keyed by ``seq`` behind a signed cursor,
so a client cannot forge one that reaches past its filters.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, cast

from django.core import signing
from django.db import models
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request as DRFRequest
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from apps.accounts.models import Tenant
from apps.accounts.permissions import HasTenantScope, is_staff_session
from apps.accounts.request import Request
from apps.audit import selectors
from apps.audit.keys import SHREDDED, UNREADABLE, event_personal
from apps.audit.models import Action, AuditEvent, Outcome
from apps.audit.services import audit_record
from cadml.lib import params as parse
from cadml.lib.errors import InvalidInput, NotFound

CURSOR_SALT = "cadml.audit.cursor"
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
DEFAULT_REPORT_DAYS = 30


class CanReadAudit(BasePermission):
    def has_permission(self, request: DRFRequest, view: Any) -> bool:
        if is_staff_session(request):
            return True
        return HasTenantScope().has_permission(request, view)


def scope_tenant(request: Request) -> Tenant | None:
    """The tenant whose records the caller may read; None = all (staff only)."""
    wanted = parse.text(
        request.query_params.get("tenant"), field="tenant", max_length=50
    )
    if is_staff_session(request):
        if not wanted:
            return None
        tenant = Tenant.objects.filter(slug=wanted).first()
        if tenant is None:
            raise NotFound(f"tenant {wanted!r} not found")
        return tenant
    tenant = request.tenant
    if wanted and wanted != tenant.slug:
        raise NotFound(f"tenant {wanted!r} not found")
    return tenant


def parse_when(params: Any, name: str, *, end_of_day: bool = False) -> datetime | None:
    return parse.when(params.get(name), field=name, end_of_day=end_of_day)


def parse_limit(params: Any) -> int:
    return parse.integer(
        params.get("limit"),
        field="limit",
        minimum=1,
        maximum=MAX_LIMIT,
        default=DEFAULT_LIMIT,
    )


def _column_text(params: Any, name: str, column: str | None = None) -> str:
    """A filter compared with an AuditEvent column: no longer than the column."""
    field = AuditEvent._meta.get_field(column or name)
    assert isinstance(field, models.Field)
    return parse.text(params.get(name), field=name, max_length=field.max_length)


def encode_cursor(seq: int, scope: list[Any]) -> str:
    return signing.dumps({"seq": seq, "scope": scope}, salt=CURSOR_SALT)


def decode_cursor(raw: str, scope: list[Any]) -> int:
    try:
        data = signing.loads(raw, salt=CURSOR_SALT)
    except signing.BadSignature:
        raise InvalidInput(
            "cursor: not a cursor this API issued (it was altered or truncated); "
            "start again without it",
            code="invalid_cursor",
            field="cursor",
        ) from None
    if data.get("scope") != scope or not isinstance(data.get("seq"), int):
        raise InvalidInput(
            "cursor: it belongs to a different query; keep the same filters while "
            "paging",
            code="invalid_cursor",
            field="cursor",
        )
    return data["seq"]


def event_filters(params: Any) -> selectors.EventFilters:
    outcome = parse.text(params.get("outcome"), field="outcome", max_length=40)
    if outcome and outcome not in Outcome.values:
        raise InvalidInput(
            f"outcome: must be one of {Outcome.values}",
            code="invalid_outcome",
            field="outcome",
        )
    since = parse_when(params, "since")
    until = parse_when(params, "until", end_of_day=True)
    if since and until and since >= until:
        raise InvalidInput(
            "since: must be before until", code="invalid_range", field="since"
        )
    return selectors.EventFilters(
        actions=selectors.parse_actions(
            parse.text(params.get("action"), field="action")
        ),
        actor=_column_text(params, "actor", "actor_label"),
        outcome=outcome,
        resource_type=_column_text(params, "resource_type"),
        resource_id=_column_text(params, "resource_id"),
        since=since,
        until=until,
        request_id=_column_text(params, "request_id"),
        ip=parse.text(params.get("ip"), field="ip", max_length=64),
    )


def event_data(event: AuditEvent) -> dict[str, Any]:
    # Decrypted here, for a reader the view has already authorised; the values
    # go into this response only.
    personal = event_personal(event)
    hidden = personal.state in (SHREDDED, UNREADABLE)
    return {
        "seq": event.seq,
        "ts": event.ts.isoformat(),
        "action": event.action,
        "outcome": event.outcome,
        "tenant": event.tenant.slug if event.tenant_id and event.tenant else None,
        "actor": {
            "type": event.actor_type,
            "label": f"[{personal.state}]" if hidden else personal.actor_label,
            "user_id": event.actor_user_id,
            "key_prefix": event.actor_key_prefix or None,
        },
        "ip": personal.ip or None,
        "user_agent": personal.user_agent or None,
        "request_id": event.request_id or None,
        "trace_id": event.trace_id or None,
        "resource": {"type": event.resource_type, "id": event.resource_id},
        "details": personal.details,
        "personal_data": personal.state,
    }


class AuditEventOutputSerializer(serializers.Serializer):
    """What ``event_data`` renders."""

    seq = serializers.IntegerField()
    ts = serializers.DateTimeField()
    action = serializers.CharField()
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    tenant = serializers.CharField(allow_null=True)
    actor = inline_serializer(
        name="AuditActor",
        fields={
            "type": serializers.CharField(),
            "label": serializers.CharField(),
            "user_id": serializers.IntegerField(allow_null=True),
            "key_prefix": serializers.CharField(allow_null=True),
        },
    )
    ip = serializers.CharField(allow_null=True)
    user_agent = serializers.CharField(allow_null=True)
    request_id = serializers.CharField(allow_null=True)
    trace_id = serializers.CharField(allow_null=True)
    resource = inline_serializer(
        name="AuditResource",
        fields={"type": serializers.CharField(), "id": serializers.CharField()},
    )
    details = serializers.DictField()
    personal_data = serializers.ChoiceField(
        choices=["clear", "decrypted", "shredded", "unreadable"],
        help_text="Whether ip, user agent, actor label and details were stored "
        "clear or encrypted, and if encrypted whether they could be read "
        "(shredded: the tenant's keys were destroyed).",
    )


class AuditChangeOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    timestamp = serializers.DateTimeField()
    action = serializers.CharField()
    object_repr = serializers.CharField()
    changes = serializers.DictField()
    actor = serializers.CharField(allow_null=True)
    remote_addr = serializers.CharField(allow_null=True)
    request_id = serializers.CharField(allow_null=True)


_STAFF_TENANT = OpenApiParameter(
    "tenant", str, description="Staff: narrow to one tenant (slug)."
)
_LIMIT = OpenApiParameter("limit", int, description=f"1-{MAX_LIMIT}.")


def _next_url(request: Request, cursor: str) -> str:
    params = request.query_params.copy()
    params["cursor"] = cursor
    return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")


class AuditEventListApi(APIView):
    """GET /audit/events: filters ``action`` (actions or ``category.`` prefixes,
    comma-separated), ``actor`` (username, ``key:<prefix>`` or prefix),
    ``outcome``, ``resource_type``, ``resource_id``, ``since``, ``until``,
    ``request_id``, ``ip``, ``tenant`` (staff); ``limit``, ``cursor``."""

    permission_classes = [CanReadAudit]
    required_scope = "admin"

    @extend_schema(
        parameters=[
            OpenApiParameter("action", str, description="Actions or prefixes (a.)."),
            OpenApiParameter("actor", str),
            OpenApiParameter("outcome", str, enum=Outcome.values),
            OpenApiParameter("resource_type", str),
            OpenApiParameter("resource_id", str),
            OpenApiParameter("since", OpenApiTypes.DATETIME),
            OpenApiParameter("until", OpenApiTypes.DATETIME),
            OpenApiParameter("request_id", str),
            OpenApiParameter("ip", str, description="Client IP address."),
            _STAFF_TENANT,
            _LIMIT,
            OpenApiParameter("cursor", str, description="next_cursor of a page."),
        ],
        responses=inline_serializer(
            name="AuditEventPage",
            fields={
                "results": AuditEventOutputSerializer(many=True),
                "next_cursor": serializers.CharField(allow_null=True),
                "next": serializers.URLField(allow_null=True),
            },
        ),
        summary="Search the audit trail",
    )
    def get(self, request: Request) -> Response:
        tenant = scope_tenant(request)
        filters = event_filters(request.query_params)
        limit = parse_limit(request.query_params)
        scope = [tenant.pk if tenant else None, *filters.fingerprint()]
        events = selectors.event_list(tenant=tenant, filters=filters)
        raw_cursor = parse.text(request.query_params.get("cursor"), field="cursor")
        if raw_cursor:
            events = events.filter(seq__lt=decode_cursor(raw_cursor, scope))
        page = list(events[: limit + 1])
        more = len(page) > limit
        page = page[:limit]
        cursor = encode_cursor(page[-1].seq, scope) if more and page else None
        audit_record(
            action=Action.AUDIT_EXPORTED,
            request=request._request,
            tenant=tenant,
            resource_type="audit_events",
            details={
                "what": "events",
                "filters": dict(request.query_params.lists()) | {"cursor": None},
                "count": len(page),
            },
        )
        return Response(
            {
                "results": [event_data(e) for e in page],
                "next_cursor": cursor,
                "next": _next_url(request, cursor) if cursor else None,
            }
        )


class AuditChangeListApi(APIView):
    """GET /audit/changes?object_type=accounts.apikey&object_id=42: the
    django-auditlog history of one tracked object."""

    permission_classes = [CanReadAudit]
    required_scope = "admin"

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "object_type", str, required=True, description="e.g. accounts.apikey"
            ),
            OpenApiParameter("object_id", str),
            _STAFF_TENANT,
            _LIMIT,
        ],
        responses=inline_serializer(
            name="AuditChangeList",
            fields={"results": AuditChangeOutputSerializer(many=True)},
        ),
        summary="The change history of one tracked object",
    )
    def get(self, request: Request) -> Response:
        tenant = scope_tenant(request)
        object_type = parse.text(
            request.query_params.get("object_type"), field="object_type", max_length=100
        )
        object_id = parse.text(
            request.query_params.get("object_id"), field="object_id", max_length=64
        )
        if not object_type:
            raise InvalidInput(
                "object_type: required (e.g. accounts.apikey)", field="object_type"
            )
        limit = parse_limit(request.query_params)
        entries = list(
            selectors.change_list(
                tenant=tenant, object_type=object_type, object_id=object_id
            )[:limit]
        )
        audit_record(
            action=Action.AUDIT_EXPORTED,
            request=request._request,
            tenant=tenant,
            resource_type=object_type[:50],
            resource_id=object_id,
            details={"what": "changes", "count": len(entries)},
        )
        return Response(
            {
                "results": [
                    {
                        "id": e.pk,
                        "timestamp": e.timestamp.isoformat(),
                        "action": e.get_action_display().lower(),
                        "object_repr": e.object_repr,
                        "changes": e.changes_dict,
                        "actor": _change_actor(e),
                        "remote_addr": e.remote_addr,
                        "request_id": e.cid,
                    }
                    for e in entries
                ]
            }
        )


def _change_actor(entry: Any) -> str | None:
    if entry.actor is not None:
        return entry.actor.get_username()
    key_prefix = (entry.additional_data or {}).get("api_key")
    return f"key:{key_prefix}" if key_prefix else None


class CsvRenderer(BaseRenderer):
    """``?format=csv``: a list of rows as CSV; an error body as a one-row table."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Any = None,
    ) -> bytes:
        if isinstance(data, dict):
            data = [list(data), [str(v) for v in data.values()]]
        out = io.StringIO()
        csv.writer(out).writerows(data or [])
        return out.getvalue().encode()


class ReportNegotiation(DefaultContentNegotiation):
    """An unknown ``?format=`` answers JSON, so the view can say it is a 400
    (DRF alone would answer 404)."""

    def select_renderer(
        self,
        request: DRFRequest,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[Any, str]:
        renderers = list(renderers)
        wanted = format_suffix or request.query_params.get("format")
        if wanted and wanted not in {r.format for r in renderers}:
            format_suffix = "json"
        return super().select_renderer(request, renderers, format_suffix)


class AuditReportApi(APIView):
    """GET /audit/reports?from=&to=&format=json|csv"""

    permission_classes = [CanReadAudit]
    required_scope = "admin"
    # DRF's settings hold the imported classes (the stubs see the dotted paths).
    renderer_classes = [
        *cast("list[type[BaseRenderer]]", api_settings.DEFAULT_RENDERER_CLASSES),
        CsvRenderer,
    ]
    content_negotiation_class = ReportNegotiation

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, description="Default: -30 d."),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Default: now."),
            OpenApiParameter("format", str, enum=["json", "csv"]),
            _STAFF_TENANT,
        ],
        responses={
            (200, "application/json"): OpenApiResponse(
                {
                    "type": "object",
                    "required": ["from", "to", "totals", "verification"],
                    "properties": {
                        "tenant": {"type": "string", "nullable": True},
                        "from": {"type": "string", "format": "date-time"},
                        "to": {"type": "string", "format": "date-time"},
                        "totals": {"type": "array", "items": {"type": "object"}},
                        "verification": {"type": "object"},
                    },
                    "additionalProperties": {"type": "array"},
                },
                description="Sections of rows, and whether the digests verify.",
            ),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR),
        },
        summary="Compliance report for a period",
    )
    def get(self, request: Request) -> Response:
        tenant = scope_tenant(request)
        params = request.query_params
        fmt = parse.text(params.get("format"), field="format", max_length=10) or "json"
        if fmt not in ("json", "csv"):
            raise InvalidInput(
                "format: must be 'json' or 'csv'", code="invalid_format", field="format"
            )
        end = parse_when(params, "to", end_of_day=True) or timezone.now()
        start = parse_when(params, "from")
        if start is None:
            try:
                start = end - timedelta(days=DEFAULT_REPORT_DAYS)
            except OverflowError:
                raise InvalidInput(
                    f"to: leaves no room for the default {DEFAULT_REPORT_DAYS}-day "
                    "window before it; give from as well",
                    code="invalid_range",
                    field="to",
                ) from None
        if start >= end:
            raise InvalidInput(
                "from: must be before to", code="invalid_range", field="from"
            )
        report = selectors.compliance_report(tenant=tenant, start=start, end=end)
        audit_record(
            action=Action.AUDIT_EXPORTED,
            request=request._request,
            tenant=tenant,
            resource_type="audit_report",
            details={
                "what": "report",
                "format": fmt,
                "from": report["from"],
                "to": report["to"],
            },
        )
        if fmt == "json":
            return Response(report)
        name = f"audit-report-{(tenant.slug if tenant else 'all')}-{start:%Y%m%d}.csv"
        return Response(
            selectors.report_csv_rows(report),
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
