from __future__ import annotations

from django.urls import path

from apps.cad import api
from cadml.lib.routing import by_method

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
        "drawings/<int:drawing_id>/title-block",
        api.DrawingTitleBlockApi.as_view(),
        name="drawing-title-block",
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
        "drawings/<int:drawing_id>/duplicates",
        api.DrawingDuplicatesApi.as_view(),
        name="drawing-duplicates",
    ),
    path(
        "drawings/<int:drawing_id>/preview.svg",
        api.DrawingPreviewApi.as_view(),
        name="drawing-preview",
    ),
    path("search", api.SearchApi.as_view(), name="search"),
    path("features/schema", api.FeatureSchemaApi.as_view(), name="feature-schema"),
]
