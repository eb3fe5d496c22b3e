"""Read-only admin for the audit trail, and auditlog history on tracked objects'
admin pages (an "Audit log" link in their change lists)."""

from __future__ import annotations

from typing import Any

from auditlog.mixins import AuditlogHistoryAdminMixin
from django.contrib import admin
from django.http import HttpRequest

from apps.audit.models import AuditDigest, AuditEvent, AuditPurge
from apps.audit.tracking import TRACKED


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


@admin.register(AuditPurge)
class AuditPurgeAdmin(ReadOnlyAdmin):
    list_display = ["id", "created", "purged_count"]


def add_history_links() -> None:
    """Give every tracked model's admin django-auditlog's history view."""
    for tracked in TRACKED.values():
        current = admin.site._registry.get(tracked.model)
        if current is None or isinstance(current, AuditlogHistoryAdminMixin):
            continue
        admin_class = type(
            f"{type(current).__name__}WithHistory",
            (AuditlogHistoryAdminMixin, type(current)),
            {"show_auditlog_history_link": True},
        )
        admin.site.unregister(tracked.model)
        admin.site.register(tracked.model, admin_class)


add_history_links()
