"""A test URLconf: the real API plus sample views that produce v2-only shapes
(analyses, pages, a v2-only feature) so the version machinery can be seen end to
end before every app has such endpoints."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from apps.accounts import selectors
from cadml.urls import api_v1_patterns


class KeyPageApi(APIView):
    def get(self, request: Request) -> Response:
        paginator = api_settings.DEFAULT_PAGINATION_CLASS()
        keys = selectors.api_key_list(tenant=request.tenant)
        page = paginator.paginate_queryset(keys, request, view=self)
        return paginator.get_paginated_response(
            [{"id": k.pk, "name": k.name} for k in page]
        )


class SampleAnalysisApi(APIView):
    def get(self, request: Request) -> Response:
        return Response(
            {
                "id": 7,
                "predictions": [
                    {"label": "bracket", "score": 0.91},
                    {"label": "plate", "score": 0.06},
                ],
                "title_block": {
                    "part_number": {"value": "A-100", "evidence": {"layer": "TITLE"}},
                    "material": {"value": "AlMg3", "evidence": {"layer": "TITLE"}},
                },
            }
        )


class AsyncOnlyApi(APIView):
    requires_feature = "async_analysis"

    def get(self, request: Request) -> Response:
        return Response({"queued": True})


samples = [
    path("sample-keys", KeyPageApi.as_view(), name="sample-keys"),
    path("sample-analysis", SampleAnalysisApi.as_view(), name="sample-analysis"),
    path("sample-async", AsyncOnlyApi.as_view(), name="sample-async"),
]

patterns = [*samples, *api_v1_patterns]
urlpatterns = [
    path("api/v1/", include((patterns, "v1"), namespace="v1")),
    path("api/v2/", include((patterns, "v2"), namespace="v2")),
    path("api/", include((patterns, "api"), namespace="api")),
]
