from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from apps.batch import api


def by_method(**views: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """One URL, one APIView per HTTP method (DRF still answers 405 for others)."""
    fallback = next(iter(views.values()))

    @csrf_exempt  # DRF views enforce CSRF for session auth themselves
    def dispatch(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return views.get((request.method or "").lower(), fallback)(
            request, *args, **kwargs
        )

    return dispatch


urlpatterns = [
    path(
        "jobs",
        by_method(get=api.JobListApi.as_view(), post=api.JobCreateApi.as_view()),
        name="jobs",
    ),
    path("jobs/<int:job_id>", api.JobDetailApi.as_view(), name="job"),
    path("jobs/<int:job_id>/cancel", api.JobCancelApi.as_view(), name="job-cancel"),
    path(
        "jobs/<int:job_id>/retry-failed",
        api.JobRetryFailedApi.as_view(),
        name="job-retry-failed",
    ),
    path("jobs/<int:job_id>/items", api.JobItemListApi.as_view(), name="job-items"),
    path("jobs/<int:job_id>/results", api.JobResultsApi.as_view(), name="job-results"),
]
