from __future__ import annotations

from django.urls import path

from apps.batch import api
from cadml.lib.routing import by_method

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
    path(
        "duplicates/report",
        api.DuplicateReportCreateApi.as_view(),
        name="duplicate-report",
    ),
    path(
        "duplicates/report/<int:job_id>.csv",
        api.DuplicateReportCsvApi.as_view(),
        name="duplicate-report-csv",
    ),
]
