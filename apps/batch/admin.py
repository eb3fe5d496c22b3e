from __future__ import annotations

from django.contrib import admin

from apps.batch import services
from apps.batch.models import BatchItem, BatchJob, WebhookDelivery

_ITEM_FIELDS = ("index", "name", "status", "attempts", "error_code", "duration_ms")


class BatchItemInline(admin.TabularInline):
    model = BatchItem
    extra = 0
    can_delete = False
    fields = readonly_fields = _ITEM_FIELDS
    show_change_link = False


@admin.register(BatchJob)
class BatchJobAdmin(admin.ModelAdmin):
    list_display = ["id", "tenant", "kind", "status", "priority", "total", "done"]
    list_display += ["failed", "skipped", "created", "finished"]
    list_filter = ["status", "kind", "tenant"]
    readonly_fields = ["summary", "request_hash", "last_progress_at"]
    inlines = [BatchItemInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "priority" in form.changed_data:
            # Waiting items carry the job's priority (their dispatch order).
            services.job_priority_changed(job=obj)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["job", "attempt", "event", "status_code", "ok", "created"]
    list_filter = ["ok"]
