"""Reads of the audit trail, always scoped: ``tenant=None`` means every tenant and
is only passed for staff."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q, QuerySet

from apps.accounts.models import Tenant
from apps.audit.keys import SHREDDED, UNREADABLE, event_personal, search_indexes
from apps.audit.models import ACTIONS, CATEGORIES, Action, AuditEvent, Outcome
from apps.audit.tracking import TRACKED
from apps.audit.verify import audit_verify, audit_verify_tenant
from cadml.lib.errors import InvalidInput, NotFound


@dataclass(frozen=True)
class EventFilters:
    actions: tuple[str, ...] = ()  # exact actions or "category." prefixes
    actor: str = ""
    outcome: str = ""
    resource_type: str = ""
    resource_id: str = ""
    since: datetime | None = None
    until: datetime | None = None
    request_id: str = ""
    ip: str = ""

    def fingerprint(self) -> list[Any]:
        return [
            list(self.actions),
            self.actor,
            self.outcome,
            self.resource_type,
            self.resource_id,
            self.since.isoformat() if self.since else None,
            self.until.isoformat() if self.until else None,
            self.request_id,
            self.ip,
        ]


def parse_actions(raw: str) -> tuple[str, ...]:
    """``apikey.created,auth.`` -> exact actions and category prefixes; ``auth`` and
    ``auth.*`` mean the whole category."""
    wanted: list[str] = []
    for part in filter(None, (p.strip() for p in raw.split(","))):
        name = part.removesuffix("*")
        if name in ACTIONS:
            wanted.append(name)
        elif name.rstrip(".") in CATEGORIES:
            wanted.append(name.rstrip(".") + ".")
        else:
            raise InvalidInput(
                f"action: unknown action or category {part!r}; use one of "
                f"{sorted(ACTIONS)} or a category prefix such as 'apikey.'",
                code="invalid_action",
                field="action",
            )
    return tuple(wanted)


def event_list(*, tenant: Tenant | None, filters: EventFilters) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.select_related("tenant")
    if tenant is not None:
        events = events.filter(tenant=tenant)
    if filters.actions:
        query = Q(pk__in=[])
        for action in filters.actions:
            query |= (
                Q(action__startswith=action)
                if action.endswith(".")
                else Q(action=action)
            )
        events = events.filter(query)
    # Encrypted events are found by blind index, never by decrypting rows.
    all_tenants = tenant is None
    tenant_id = tenant.pk if tenant is not None else None
    if filters.actor:
        indexes = search_indexes(
            tenant_id=tenant_id, value=filters.actor, all_tenants=all_tenants
        )
        events = events.filter(
            Q(actor_label=filters.actor)
            | Q(actor_key_prefix=filters.actor)
            | Q(actor_index__in=indexes)
        )
    if filters.ip:
        indexes = search_indexes(
            tenant_id=tenant_id, value=filters.ip, all_tenants=all_tenants
        )
        events = events.filter(Q(ip=filters.ip) | Q(ip_index__in=indexes))
    if filters.outcome:
        events = events.filter(outcome=filters.outcome)
    if filters.resource_type:
        events = events.filter(resource_type=filters.resource_type)
    if filters.resource_id:
        events = events.filter(resource_id=filters.resource_id)
    if filters.since:
        events = events.filter(ts__gte=filters.since)
    if filters.until:
        events = events.filter(ts__lt=filters.until)
    if filters.request_id:
        events = events.filter(request_id=filters.request_id)
    return events.order_by("-seq")


def change_list(
    *, tenant: Tenant | None, object_type: str, object_id: str
) -> QuerySet[LogEntry]:
    """django-auditlog entries of one tracked object the caller may see."""
    tracked = TRACKED.get(object_type.lower())
    if tracked is None:
        raise InvalidInput(
            f"object_type: {object_type!r} is not tracked; use one of "
            f"{sorted(TRACKED)}",
            code="invalid_object_type",
            field="object_type",
        )
    if not object_id:
        raise InvalidInput("object_id: required", code="required", field="object_id")
    if tenant is not None:
        if tracked.tenant_field is None:
            raise NotFound(f"{object_type} {object_id} not found")
        try:
            exists = tracked.model._default_manager.filter(
                pk=object_id, **{tracked.tenant_field: tenant}
            ).exists()
        except (ValueError, TypeError):
            exists = False
        if not exists:
            raise NotFound(f"{object_type} {object_id} not found")
    content_type = ContentType.objects.get_for_model(tracked.model)
    return (
        LogEntry.objects.filter(content_type=content_type, object_pk=str(object_id))
        .select_related("actor")
        .order_by("-timestamp", "-id")
    )


PERSONAL_GROUP_LIMIT = 50_000


def _personal_value(event: AuditEvent, name: str) -> Any:
    personal = event_personal(event)
    if name == "details__username":
        return personal.details.get("username")
    if name in ("ip", "actor_label") and personal.state in (SHREDDED, UNREADABLE):
        return f"[{personal.state}]"
    if name in ("ip", "actor_label"):
        return getattr(personal, name)
    return getattr(event, name)


def _rows(events: QuerySet[AuditEvent], *fields: str) -> list[dict[str, Any]]:
    """Counts by ``fields``. Grouping by a personal field of encrypted events
    means decrypting them (at most ``PERSONAL_GROUP_LIMIT`` per section) for
    this response only; clear events are grouped by the database."""
    personal = any(f in ("ip", "actor_label", "details__username") for f in fields)
    if not personal or not events.exclude(personal_key="").exists():
        return list(
            events.values(*fields).annotate(count=Count("seq")).order_by("-count")
        )
    counts: Counter[tuple[Any, ...]] = Counter()
    for event in events.order_by("seq")[:PERSONAL_GROUP_LIMIT]:
        counts[tuple(_personal_value(event, f) for f in fields)] += 1
    return [
        {**dict(zip(fields, key, strict=True)), "count": n}
        for key, n in counts.most_common()
    ]


def _timeline(events: QuerySet[AuditEvent], limit: int = 1000) -> list[dict[str, Any]]:
    return [
        {
            "ts": e.ts.isoformat(),
            "action": e.action,
            "outcome": e.outcome,
            "actor": _personal_value(e, "actor_label"),
            "resource_type": e.resource_type,
            "resource_id": e.resource_id,
            "ip": _personal_value(e, "ip"),
        }
        for e in events.order_by("seq")[:limit]
    ]


def compliance_report(
    *, tenant: Tenant | None, start: datetime, end: datetime
) -> dict[str, Any]:
    """Who did what in [start, end): totals, sign-in failures and key rejections by
    source, denials, rate-limit blocks, model changes, key lifecycle, exports, and
    whether the digests covering the period verify."""
    events = AuditEvent.objects.filter(ts__gte=start, ts__lt=end)
    if tenant is not None:
        events = events.filter(tenant=tenant)
    # A tenant's report checks its own events only; platform-wide verification
    # (every tenant's rows, deletions included) is for staff.
    verification = (
        audit_verify(since=start)
        if tenant is None
        else audit_verify_tenant(tenant_id=tenant.pk, since=start)
    )
    return {
        "tenant": tenant.slug if tenant is not None else None,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "totals": _rows(events, "action", "outcome"),
        "failed_sign_ins": _rows(
            events.filter(action=Action.AUTH_LOGIN_FAILED), "ip", "details__username"
        ),
        "key_rejections": _rows(
            events.filter(action=Action.APIKEY_REJECTED), "ip", "actor_key_prefix"
        ),
        "denied": _rows(
            events.filter(Q(action=Action.AUTHZ_DENIED) | Q(outcome=Outcome.DENIED))
            .exclude(action=Action.APIKEY_REJECTED)
            .exclude(action=Action.API_CALL),
            "actor_label",
            "resource_id",
        ),
        "rate_limit_blocks": _rows(
            events.filter(action=Action.RATELIMIT_BLOCKED), "actor_label", "ip"
        ),
        "model_changes": _timeline(events.filter(action__startswith="model.")),
        "key_lifecycle": _timeline(
            events.filter(action__in=[Action.APIKEY_CREATED, Action.APIKEY_REVOKED])
        ),
        "exports": _timeline(
            events.filter(action__in=[Action.DATA_EXPORTED, Action.AUDIT_EXPORTED])
        ),
        "verification": {
            "status": "ok" if verification.ok else "failed",
            "digests_checked": verification.digests_checked,
            "events_checked": verification.events_checked,
            "problems": verification.counts,
            "sealed_through": verification.sealed_through_ts,
            "unsealed_events": verification.unsealed,
        },
    }


REPORT_CSV_HEADER = ["section", "action", "outcome", "source", "actor", "ts", "count"]


def report_csv_rows(report: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = [REPORT_CSV_HEADER]
    for r in report["totals"]:
        rows.append(["totals", r["action"], r["outcome"], "", "", "", r["count"]])
    for r in report["failed_sign_ins"]:
        rows.append(
            [
                "failed_sign_ins",
                Action.AUTH_LOGIN_FAILED,
                "",
                r["ip"],
                r["details__username"] or "",
                "",
                r["count"],
            ]
        )
    for r in report["key_rejections"]:
        rows.append(
            [
                "key_rejections",
                Action.APIKEY_REJECTED,
                "",
                r["ip"],
                r["actor_key_prefix"],
                "",
                r["count"],
            ]
        )
    for r in report["denied"]:
        rows.append(
            ["denied", "", "", r["resource_id"], r["actor_label"], "", r["count"]]
        )
    for r in report["rate_limit_blocks"]:
        rows.append(
            [
                "rate_limit_blocks",
                Action.RATELIMIT_BLOCKED,
                "",
                r["ip"],
                r["actor_label"],
                "",
                r["count"],
            ]
        )
    for section in ("model_changes", "key_lifecycle", "exports"):
        for r in report[section]:
            rows.append(
                [section, r["action"], r["outcome"], r["ip"], r["actor"], r["ts"], 1]
            )
    verification = report["verification"]
    rows.append(
        [
            "verification",
            verification["status"],
            "",
            "",
            "",
            verification["sealed_through"] or "",
            sum(verification["problems"].values()),
        ]
    )
    return rows
