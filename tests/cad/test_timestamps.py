"""An analysis ends after it begins: ``created <= finished`` on every path that
stores one (the batch and gRPC paths are in their own test folders)."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.cad.models import Analysis
from apps.cad.services import analysis_run, drawing_create
from cadml.lib.errors import DomainError


def _ordered(analysis: Analysis) -> None:
    assert analysis.finished is not None
    assert analysis.created <= analysis.finished, (analysis.created, analysis.finished)


def _upload(client, content: bytes):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/drawings",
        {"file": SimpleUploadedFile("part.dxf", content)},
        format="multipart",
    )


def test_a_synchronous_upload_finishes_after_it_was_created(
    api_client_a, part: bytes
) -> None:  # type: ignore[no-untyped-def]
    r = _upload(api_client_a, part)
    assert r.status_code == 201
    body = r.data["analysis"]
    # What the client reads, and what is stored.
    assert datetime.fromisoformat(body["created"]) <= datetime.fromisoformat(
        body["finished"]
    )
    _ordered(Analysis.objects.get(pk=body["id"]))


def test_a_rerun_is_ordered_too(api_client_a, part: bytes) -> None:  # type: ignore[no-untyped-def]
    r = _upload(api_client_a, part)
    rerun = api_client_a.post(f"/api/v1/drawings/{r.data['id']}/analyze")
    assert rerun.status_code == 201
    _ordered(Analysis.objects.get(pk=rerun.data["id"]))


def test_a_failed_analysis_is_ordered_too(tenant_a) -> None:  # type: ignore[no-untyped-def]
    broken = b"0\nSECTION\n2\nENTITIES\nxyz\nfoo\n0\nENDSEC\n0\nEOF\n"
    drawing = drawing_create(
        tenant=tenant_a, uploaded_by=None, name="b.dxf", content=broken
    ).drawing
    with pytest.raises(DomainError):
        analysis_run(drawing=drawing)
    analysis = Analysis.objects.get(drawing=drawing)
    assert analysis.status == Analysis.Status.FAILED
    _ordered(analysis)


@pytest.mark.django_db(transaction=True)
def test_a_queued_upload_finishes_after_it_was_created(
    api_client_a, settings, part: bytes
) -> None:  # type: ignore[no-untyped-def]
    from apps.batch import runner

    settings.CELERY_BROKER_URL = None
    settings.CADML_SYNC_ANALYZE_MAX_MB = 0
    r = _upload(api_client_a, part)
    assert r.status_code == 202
    assert runner.wait_idle(timeout=60)
    analysis = Analysis.objects.get(pk=r.data["analysis"]["id"])
    assert analysis.status == Analysis.Status.DONE
    _ordered(analysis)
