"""The real URLconf plus baseline twins of some views, for same-run comparisons."""

from __future__ import annotations

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer

from apps.accounts.api import MeApi
from cadml.urls import urlpatterns as real_urlpatterns


class OpenMeApi(MeApi):
    """``GET /api/v1/me`` without authentication or permissions: the floor."""

    authentication_classes: list = []
    permission_classes = [AllowAny]


class UnversionedMeApi(MeApi):
    """``GET /api/v2/me`` without the versioning layer (no middleware: outside
    /api/; no versioning class; plain JSON renderer): versioning's baseline."""

    versioning_class = None
    renderer_classes = [JSONRenderer]


urlpatterns = [
    path("bench/open-me", OpenMeApi.as_view()),
    path("bench/unversioned-me", UnversionedMeApi.as_view()),
    *real_urlpatterns,
]
