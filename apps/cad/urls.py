from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from apps.cad import api


def by_method(**views: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Route one URL to one APIView per operation by HTTP method.

    The first view answers methods nobody claims, so DRF still gives a 405
    with its Allow header. DRF views handle CSRF for session auth themselves.
    """
    fallback = next(iter(views.values()))

    @csrf_exempt
    def dispatch(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        view = (
            views.get(request.method.lower(), fallback) if request.method else fallback
        )
        return view(request, *args, **kwargs)

    return dispatch


urlpatterns = [
    path(
        "drawings",
        by_method(
            get=api.DrawingListApi.as_view(), post=api.DrawingCreateApi.as_view()
        ),
        name="drawings",
    ),
    path(
        "drawings/<int:drawing_id>",
        by_method(
            get=api.DrawingDetailApi.as_view(),
            delete=api.DrawingDeleteApi.as_view(),
            patch=api.DrawingLabelApi.as_view(),
        ),
        name="drawing",
    ),
    path("drawings/labels", api.DrawingLabelBulkApi.as_view(), name="drawing-labels"),
    path(
        "drawings/<int:drawing_id>/analysis",
        api.DrawingAnalysisApi.as_view(),
        name="drawing-analysis",
    ),
    path(
        "drawings/<int:drawing_id>/analyze",
        api.DrawingAnalyzeApi.as_view(),
        name="drawing-analyze",
    ),
    path(
        "drawings/<int:drawing_id>/similar",
        api.DrawingSimilarApi.as_view(),
        name="drawing-similar",
    ),
    path(
        "drawings/<int:drawing_id>/preview.svg",
        api.DrawingPreviewApi.as_view(),
        name="drawing-preview",
    ),
    path("features/schema", api.FeatureSchemaApi.as_view(), name="feature-schema"),
]
