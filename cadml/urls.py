from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from cadml import health, metrics

# The endpoints served by EVERY API version (despite the historical name): they
# are mounted at /api/v1/, /api/v2/ and the negotiated /api/ alias below, and
# apps.versioning gives each version its shapes. Append your app's include here.
api_v1_patterns = [
    path("", include("apps.versioning.urls")),
    path("", include("apps.accounts.urls")),
    path("", include("apps.realtime.urls")),
    path("", include("apps.cad.urls")),
    path("", include("apps.batch.urls")),
    path("", include("apps.modelreg.urls")),
    path("", include("apps.audit.urls")),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("jobs/", include("apps.batch.page_urls")),
    path("api-auth/", include("rest_framework.urls")),
    # URL names are namespaced by version: reverse("v2:me"), or DRF's
    # reverse("me", request=request) which picks the request's version.
    path("api/v1/", include((api_v1_patterns, "v1"), namespace="v1")),
    path("api/v2/", include((api_v1_patterns, "v2"), namespace="v2")),
    # Unversioned alias: API-Version / X-API-Version / Accept "version=" header.
    path("api/", include((api_v1_patterns, "api"), namespace="api")),
]
