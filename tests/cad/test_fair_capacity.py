"""Fair, bounded analysis capacity: the preview budget counts what block
references expand to, a refused preview is not drawn again, a tenant past its
share of the isolation pool gets a 429 while others are served, and queued
(202) analyses count in the tenant's in-flight limit with its batch items."""

from __future__ import annotations

import io
import os
import random
import threading
import time
from typing import Any

import ezdxf
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections

from apps.batch.models import BatchItem
from apps.batch.submission import job_submit
from apps.cad import pool
from apps.cad.models import Analysis, Drawing
from apps.cad.synth import generate_part
from apps.cad.tasks import cad_analysis_run
from tests.conftest import require


def nested_block_bomb(levels: int = 10, fan_out: int = 10) -> bytes:
    """A small DXF whose block references expand to fan_out**levels lines."""
    doc = ezdxf.new()
    block = doc.blocks.new("L0")
    for i in range(fan_out):
        block.add_line((i, 0), (i, 1))
    for level in range(1, levels - 1):
        block = doc.blocks.new(f"L{level}")
        for i in range(fan_out):
            block.add_blockref(f"L{level - 1}", (i * fan_out**level, 0))
    msp = doc.modelspace()
    for i in range(fan_out):
        msp.add_blockref(f"L{levels - 2}", (0, i * fan_out**levels))
    out = io.StringIO()
    doc.write(out)
    return out.getvalue().encode()


def _part(seed: int) -> bytes:
    return generate_part("flange", random.Random(seed))


def _upload(client: Any, name: str, content: bytes) -> Any:
    return client.post(
        "/api/v1/drawings",
        {"file": SimpleUploadedFile(name, content)},
        format="multipart",
    )


@pytest.mark.django_db
def test_a_nested_block_bomb_preview_is_refused_with_422_and_not_drawn_again(
    api_client_b,
) -> None:  # type: ignore[no-untyped-def]
    bomb = nested_block_bomb()
    assert len(bomb) < 40_000  # small on the wire, 10**9 lines drawn
    created = _upload(api_client_b, "bomb.dxf", bomb)
    assert created.status_code == 201, created.content
    drawing_id = created.json()["id"]

    refused = api_client_b.get(f"/api/v1/drawings/{drawing_id}/preview.svg")
    assert refused.status_code == 422
    body = refused.json()
    assert body["code"] == "resource_limit"
    assert "block references" in body["detail"]
    assert "50000 entities" in body["detail"]

    # Asked again, the stored refusal answers: the file is not drawn again
    # (it now holds a drawable part, which a new attempt would draw).
    drawing = Drawing.objects.get(pk=drawing_id)
    with open(drawing.file.path, "wb") as fh:
        fh.write(_part(1))
    again = api_client_b.get(f"/api/v1/drawings/{drawing_id}/preview.svg")
    assert again.status_code == 422
    assert again.json()["detail"] == body["detail"]


@pytest.mark.django_db
def test_a_flat_drawing_within_the_budget_still_gets_its_preview(api_client_b) -> None:  # type: ignore[no-untyped-def]
    # Three levels of ten: 10**3 lines once expanded, well within the budget.
    created = _upload(api_client_b, "small.dxf", nested_block_bomb(levels=3))
    assert created.status_code == 201, created.content
    preview = api_client_b.get(f"/api/v1/drawings/{created.json()['id']}/preview.svg")
    assert preview.status_code == 200
    assert preview["Content-Type"] == "image/svg+xml"
    assert b"<svg" in preview.content


def _slow_dxf(points: int) -> bytes:
    return (
        b"0\nSECTION\n2\nENTITIES\n"
        + b"0\nPOINT\n8\n0\n10\n1\n20\n2\n" * points
        + b"0\nENDSEC\n0\nEOF\n"
    )


@pytest.mark.django_db(transaction=True)
def test_a_tenant_past_its_share_of_the_pool_gets_429_while_others_are_served(
    api_client_a, api_client_b, tenant_b, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.CADML_PARSE_TIMEOUT_S = 3
    settings.CADML_ANALYSIS_TENANT_SLOTS = {"free": 1, "pro": 2}
    outcome: dict[str, Any] = {}

    def upload_slow() -> None:
        # Parsing this takes longer than the time limit: it holds tenant B's
        # one slot until it is stopped.
        try:
            outcome["slow"] = _upload(api_client_b, "slow.dxf", _slow_dxf(250_000))
        finally:
            connections.close_all()

    slow = threading.Thread(target=upload_slow)
    slow.start()
    deadline = time.monotonic() + 60
    while pool.admitted(tenant_b.pk) == 0:
        assert slow.is_alive() and time.monotonic() < deadline, outcome
        time.sleep(0.02)

    # Tenant B's next file is refused at once; tenant A's is analysed.
    refused = _upload(api_client_b, "bomb.dxf", nested_block_bomb())
    refused_v2 = api_client_b.post(
        "/api/v2/drawings",
        {"file": SimpleUploadedFile("bomb.dxf", nested_block_bomb())},
        format="multipart",
    )
    served = _upload(api_client_a, "part.dxf", _part(2))
    answered_while_busy = slow.is_alive()
    slow.join(timeout=120)

    assert answered_while_busy
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    assert refused["Retry-After"] == str(settings.CADML_ANALYSIS_RETRY_AFTER_S)
    problem = refused.json()
    assert problem["code"] == "analysis_capacity"
    assert "allows 1 at once" in problem["detail"]
    assert refused_v2.status_code == 429
    assert refused_v2.json()["status"] == 429
    assert refused_v2.json()["code"] == "analysis_capacity"
    assert not Drawing.objects.filter(tenant=tenant_b, name="bomb.dxf").exists()
    assert served.status_code == 201, served.content
    assert served.json()["analysis"]["status"] == "done"
    assert outcome["slow"].status_code == 422  # the time limit
    # The slot is free again.
    assert pool.admitted(tenant_b.pk) == 0
    again = _upload(api_client_b, "part.dxf", _part(3))
    assert again.status_code == 201, again.content


@pytest.fixture
def broker_without_workers(settings) -> Any:  # type: ignore[no-untyped-def]
    """The test broker with no worker consuming it: what is handed over stays
    there (and is purged afterwards)."""
    require(
        bool(os.environ.get("CELERY_BROKER_URL")),
        "CELERY_BROKER_URL is not set (queued work would run in-process at once)",
    )
    from cadml.celery import app

    app.control.purge()
    yield
    app.control.purge()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_queued_uploads_count_in_the_tenants_in_flight_limit_with_batch_items(
    api_client_a,
    api_client_b,
    tenant_a,
    tenant_b,
    owner_a,
    owner_b,
    settings,
    broker_without_workers,
) -> None:  # type: ignore[no-untyped-def]
    settings.CADML_SYNC_ANALYZE_MAX_MB = 0  # every upload is queued (202)
    settings.CADML_BATCH_CONCURRENCY = {"free": 2, "pro": 2}
    # Twelve large uploads from tenant B (free, K=2)...
    for i in range(12):
        queued = _upload(api_client_b, f"big-{i}.dxf", _part(100 + i))
        assert queued.status_code == 202, queued.content
    analyses = Analysis.objects.filter(tenant=tenant_b)
    assert analyses.filter(dispatched_at__isnull=False).count() == 2
    assert analyses.filter(dispatched_at__isnull=True).count() == 10
    # ... leave no slot for B's batch job, and take none of tenant A's.
    drawing_b = Drawing.objects.filter(tenant=tenant_b).first()
    job_b, _ = job_submit(tenant=tenant_b, user=owner_b, drawing_ids=[drawing_b.pk])
    drawing_a = Drawing.objects.create(
        tenant=tenant_a, name="a.dxf", sha256="a" * 64, size=1, format="dxf"
    )
    job_a, _ = job_submit(tenant=tenant_a, user=owner_a, drawing_ids=[drawing_a.pk])
    assert not BatchItem.objects.filter(job=job_b, dispatched_at__isnull=False)
    assert BatchItem.objects.filter(job=job_a, dispatched_at__isnull=False).count() == 1

    # A worker runs one of B's queued analyses: its slot goes to B's next one.
    first = analyses.filter(dispatched_at__isnull=False).order_by("pk").first()
    cad_analysis_run.run(first.pk)
    first.refresh_from_db()
    assert first.status == Analysis.Status.DONE
    assert (
        analyses.filter(
            status=Analysis.Status.QUEUED, dispatched_at__isnull=False
        ).count()
        == 2
    )
    assert analyses.filter(dispatched_at__isnull=True).count() == 9
