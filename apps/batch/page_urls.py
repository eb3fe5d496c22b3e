from __future__ import annotations

from django.urls import path

from apps.batch import views

urlpatterns = [
    path("", views.jobs_page, name="jobs-page"),
    path("<int:job_id>/", views.job_page, name="job-page"),
]
