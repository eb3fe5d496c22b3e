"""Read-only admin for the audit trail. (The history of tracked objects on their
own admin pages is added by ``apps.audit.tracking.track_model``.)"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from apps.audit.keys import SHREDDED, UNREADABLE, event_personal, search_indexes
from apps.audit.models import AuditDigest, AuditEvent, AuditPurge
from apps.audit.verify import audit_verify


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = [
        "seq",
        "ts",
        "action",
        "outcome",
        "tenant",
        "actor",
        "client_ip",
        "resource_type",
        "resource_id",
        "request_id",
    ]
    list_filter = ["action", "outcome", "actor_type", "tenant"]
    search_fields = ["=request_id", "=actor_label", "=actor_key_prefix", "=resource_id"]
    date_hierarchy = "ts"
    list_select_related = ["tenant"]
    show_full_result_count = False  # COUNT(*) over millions of rows on every page
    readonly_fields = ["personal_data"]
    exclude = ["personal", "personal_key", "ip_index", "actor_index"]

    # Staff only (the admin): encrypted fields are decrypted for display, shredded
    # or damaged ones say so.
    @admin.display(description="actor")
    def actor(self, obj: AuditEvent) -> str:
        personal = event_personal(obj)
        if personal.state in (SHREDDED, UNREADABLE):
            return f"[{personal.state}]"
        return personal.actor_label

    @admin.display(description="ip")
    def client_ip(self, obj: AuditEvent) -> str:
        personal = event_personal(obj)
        return (
            f"[{personal.state}]"
            if personal.state in (SHREDDED, UNREADABLE)
            else (personal.ip)
        )

    @admin.display(description="personal data")
    def personal_data(self, obj: AuditEvent) -> str:
        personal = event_personal(obj)
        if personal.state in (SHREDDED, UNREADABLE):
            return f"[{personal.state}]"
        return (
            f"actor: {personal.actor_label}; ip: {personal.ip}; "
            f"user agent: {personal.user_agent}; details: {personal.details}"
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        found, duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            indexes = search_indexes(tenant_id=None, value=term, all_tenants=True)
            found = found | queryset.filter(
                Q(actor_index__in=indexes) | Q(ip_index__in=indexes)
            )
        return found, duplicates


@admin.register(AuditDigest)
class AuditDigestAdmin(ReadOnlyAdmin):
    list_display = ["id", "created", "after_seq", "last_seq", "event_count", "key_id"]
    exclude = ["entries"]
    actions = ["verify_trail"]

    @admin.action(description="Verify the whole audit trail (every tenant)")
    def verify_trail(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        # Platform-wide, like `manage.py audit_verify`: whatever rows are selected.
        report = audit_verify()
        problems = ", ".join(f"{k}: {n}" for k, n in sorted(report.counts.items()))
        self.message_user(
            request,
            f"{'OK' if report.ok else 'FAILED'}: {report.digests_checked} digest(s), "
            f"{report.events_checked} event(s) checked, {report.unsealed} unsealed"
            + (f"; problems: {problems}" if problems else ""),
            messages.SUCCESS if report.ok else messages.ERROR,
        )


@admin.register(AuditPurge)
class AuditPurgeAdmin(ReadOnlyAdmin):
    list_display = ["id", "created", "purged_count"]
