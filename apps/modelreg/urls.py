from __future__ import annotations

from django.urls import path

from apps.modelreg import api
from cadml.lib.routing import by_method

urlpatterns = [
    path("models", api.ModelListApi.as_view(), name="models"),
    path("models/<slug:name>", api.ModelDetailApi.as_view(), name="model"),
    path(
        "models/<slug:name>/versions",
        by_method(
            get=api.VersionListApi.as_view(), post=api.VersionRegisterApi.as_view()
        ),
        name="model-versions",
    ),
    path(
        "models/<slug:name>/versions/<int:number>",
        api.VersionDetailApi.as_view(),
        name="model-version",
    ),
    path(
        "models/<slug:name>/versions/<int:number>/confusion.svg",
        api.VersionPictureApi.as_view(picture="confusion"),
        name="model-version-confusion",
    ),
    path(
        "models/<slug:name>/versions/<int:number>/calibration.svg",
        api.VersionPictureApi.as_view(picture="calibration"),
        name="model-version-calibration",
    ),
    path("models/<slug:name>/train", api.ModelTrainApi.as_view(), name="model-train"),
    path(
        "models/<slug:name>/guardrail",
        api.ModelGuardrailApi.as_view(),
        name="model-guardrail",
    ),
    path(
        "analyses/<int:analysis_id>/feedback",
        api.AnalysisFeedbackApi.as_view(),
        name="analysis-feedback",
    ),
    path(
        "models/<slug:name>/versions/<int:number>/archive",
        api.VersionArchiveApi.as_view(),
        name="model-version-archive",
    ),
    path(
        "models/<slug:name>/activate",
        api.ModelActivateApi.as_view(),
        name="model-activate",
    ),
    path(
        "models/<slug:name>/rollback",
        api.ModelRollbackApi.as_view(),
        name="model-rollback",
    ),
    path(
        "models/<slug:name>/experiment",
        api.ModelExperimentApi.as_view(),
        name="model-experiment",
    ),
    path(
        "models/<slug:name>/promote",
        api.ModelPromoteApi.as_view(),
        name="model-promote",
    ),
    path("models/<slug:name>/stop", api.ModelStopApi.as_view(), name="model-stop"),
    path(
        "models/<slug:name>/predict",
        api.ModelPredictApi.as_view(),
        name="model-predict",
    ),
]
