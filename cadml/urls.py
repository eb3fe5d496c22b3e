from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from cadml import health, metrics

api_v1_patterns = [
    path("", include("apps.accounts.urls")),
    path("", include("apps.realtime.urls")),
    path("", include("apps.cad.urls")),
    path("", include("apps.batch.urls")),
    path("", include("apps.modelreg.urls")),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api-auth/", include("rest_framework.urls")),
    path("api/v1/", include(api_v1_patterns)),
]
