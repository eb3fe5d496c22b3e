"""The real URLconf plus baseline twins of some views, for same-run comparisons."""

from __future__ import annotations

from django.urls import path
from rest_framework.permissions import AllowAny

from apps.accounts.api import MeApi
from cadml.urls import urlpatterns as real_urlpatterns


class OpenMeApi(MeApi):
    """``GET /api/v1/me`` without authentication or permissions: the floor."""

    authentication_classes: list = []
    permission_classes = [AllowAny]


urlpatterns = [
    path("bench/open-me", OpenMeApi.as_view()),
    *real_urlpatterns,
]
