"""The ``/jobs/`` pages: server-rendered tables, live progress over the WebSocket."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import render

from apps.batch import selectors
from cadml.lib.errors import NotFound

LOGIN_URL = "/api-auth/login/"


def _tenant(request: HttpRequest):
    return getattr(request, "tenant", None)


@login_required(login_url=LOGIN_URL)
def jobs_page(request: HttpRequest) -> HttpResponse:
    tenant = _tenant(request)
    if tenant is None:
        return HttpResponseForbidden("You are not a member of any tenant.")
    jobs = selectors.job_list(tenant=tenant)[:100]
    return render(request, "batch/jobs.html", {"tenant": tenant, "jobs": jobs})


@login_required(login_url=LOGIN_URL)
def job_page(request: HttpRequest, job_id: int) -> HttpResponse:
    tenant = _tenant(request)
    if tenant is None:
        return HttpResponseForbidden("You are not a member of any tenant.")
    try:
        job = selectors.job_get(tenant=tenant, job_id=job_id)
    except NotFound:
        raise Http404("job not found") from None
    items = selectors.item_list(job=job)[:1000]
    return render(
        request, "batch/job.html", {"tenant": tenant, "job": job, "items": items}
    )
