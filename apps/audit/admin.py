"""Read-only admin for the audit trail. (The history of tracked objects on their
own admin pages is added by ``apps.audit.tracking.track_model``.)"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

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
        "actor_label",
        "ip",
        "resource_type",
        "resource_id",
        "request_id",
    ]
    list_filter = ["action", "outcome", "actor_type", "tenant"]
    search_fields = ["=request_id", "=actor_label", "=actor_key_prefix", "=resource_id"]
    date_hierarchy = "ts"
    list_select_related = ["tenant"]
    show_full_result_count = False  # COUNT(*) over millions of rows on every page


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
