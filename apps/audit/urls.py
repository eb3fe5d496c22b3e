from __future__ import annotations

from django.urls import path

from apps.audit import api

urlpatterns = [
    path("audit/events", api.AuditEventListApi.as_view(), name="audit-events"),
    path("audit/changes", api.AuditChangeListApi.as_view(), name="audit-changes"),
    path("audit/reports", api.AuditReportApi.as_view(), name="audit-reports"),
]
