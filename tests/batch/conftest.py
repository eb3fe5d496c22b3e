"""Batch tests: synthetic drawings, a wait-for-the-job helper, and (outside the
integration tests) embedded mode, i.e. the in-process pool instead of a broker."""

from __future__ import annotations

import io
import random
import time
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from apps.batch import runner
from apps.batch.models import BatchJob
from apps.cad.synth import PART_CLASSES, generate_part


@pytest.fixture(autouse=True)
def batch_settings(request: pytest.FixtureRequest, settings: Any) -> Iterator[None]:
    if request.node.get_closest_marker("integration") is None:
        settings.CELERY_BROKER_URL = None
    settings.CADML_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
    settings.CADML_WEBHOOK_BACKOFF_S = 0.05
    settings.CADML_BATCH_PROGRESS_HZ = 4
    yield
    # The in-process pool must be done before the test database is flushed.
    runner.wait_idle(timeout=60)


@pytest.fixture(params=["postgresql", "orm"])
def item_path(request: pytest.FixtureRequest, monkeypatch: Any) -> str:
    """Run a test on the PostgreSQL statements (``apps/batch/sql.py``) and on
    the ORM path other databases take."""
    from django.db import connection

    from apps.batch import sql

    if request.param == "postgresql" and connection.vendor != "postgresql":
        pytest.skip("the one-statement path is PostgreSQL's")
    if request.param == "orm":
        monkeypatch.setattr(sql, "enabled", lambda: False)
    return request.param


def dxf(i: int) -> bytes:
    rng = random.Random(i)
    return generate_part(PART_CLASSES[i % len(PART_CLASSES)], rng)


def files(n: int, start: int = 0) -> list[tuple[str, bytes]]:
    return [(f"part-{i}.dxf", dxf(i)) for i in range(start, start + n)]


def as_uploads(pairs: list[tuple[str, bytes]]) -> list[Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return [SimpleUploadedFile(name, content) for name, content in pairs]


def zip_of(pairs: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in pairs:
            archive.writestr(name, content)
    return buf.getvalue()


def wait_for_job(job_id: int, timeout: float = 60.0) -> BatchJob:
    """Poll until the job reaches a terminal status (not a timed assertion:
    the timeout only keeps a broken run from hanging)."""
    deadline = time.monotonic() + timeout
    while True:
        job = BatchJob.objects.get(pk=job_id)
        if job.status in BatchJob.TERMINAL:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(
                f"job {job_id} still {job.status} ({job.done}/{job.failed}/"
                f"{job.skipped} of {job.total}) after {timeout}s"
            )
        time.sleep(0.05)
