"""Per-version OpenAPI schema, Swagger UI and ReDoc (drf-spectacular).

They are served inside every version's namespace, so ``/api/v1/schema/`` is the
v1 schema and ``/api/v2/docs/`` the v2 Swagger UI. Their scripts come from the
installed drf-spectacular-sidecar (settings: ``*_DIST = "SIDECAR"``), so the
pages work without internet access.
"""

from __future__ import annotations

from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)
from rest_framework.permissions import AllowAny


class SchemaApi(SpectacularAPIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]


class SwaggerUiApi(SpectacularSwaggerView):
    authentication_classes: list = []
    permission_classes = [AllowAny]


class RedocApi(SpectacularRedocView):
    template_name = "versioning/redoc.html"
    authentication_classes: list = []
    permission_classes = [AllowAny]
