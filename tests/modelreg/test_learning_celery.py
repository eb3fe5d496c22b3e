"""A training job on a real Celery worker, killed in the middle."""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from apps.batch.models import BatchJob
from apps.cad.models import Drawing
from apps.cad.services import drawing_create
from apps.cad.synth import generate_part
from apps.modelreg.models import ModelVersion
from tests.batch.conftest import wait_for_job
from tests.conftest import require
from tests.servers import running_celery_worker, test_database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(postgres, redis_url, tmp_path: Path) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    require(bool(settings.CELERY_BROKER_URL), "CELERY_BROKER_URL not set")
    from cadml.celery import app

    app.control.purge()
    env = worker_env(redis_url)
    with running_celery_worker(env, tmp_path / "worker.log", concurrency=1) as p:
        yield p


def worker_env(redis_url: str, **more: str) -> dict[str, str]:
    """A worker's environment: this test's database, Redis and broker."""
    return {
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "CADML_PARSE_WORKERS": "1",
        "CADML_TRAIN_CV_FOLDS": "3",
        **more,
    }


def _unanalysed(tenant, per_class: int) -> None:  # type: ignore[no-untyped-def]
    for family in ("flange", "hex_nut", "washer"):
        for i in range(per_class):
            d = drawing_create(
                tenant=tenant,
                uploaded_by=None,
                name=f"{family}-{i}.dxf",
                content=generate_part(family, random.Random(100 + i)),
            ).drawing
            d.label = family
            d.save(update_fields=["label"])


def test_a_worker_killed_mid_training_leaves_no_half_version(
    admin_client_a, tenant_a, worker
) -> None:  # type: ignore[no-untyped-def]
    _unanalysed(tenant_a, 8)
    r = admin_client_a.post(
        "/api/v1/models/part-classifier/train",
        {"deploy": "active", "min_per_class": 3},
        format="json",
    )
    assert r.status_code == 202, r.data
    job_id = r.data["job"]
    deadline = time.monotonic() + 120
    while True:  # mid-way through re-analysing the drawings
        job = BatchJob.objects.get(pk=job_id)
        if job.done >= 1 and (job.summary or {}).get("worker"):
            break
        assert job.status not in BatchJob.TERMINAL, job.summary
        assert time.monotonic() < deadline, "the training never started"
        time.sleep(0.05)
    pid = int(job.summary["worker"].rsplit(":", 1)[1])
    assert pid != worker.pid
    os.kill(pid, signal.SIGKILL)
    assert not ModelVersion.objects.exists()

    job = wait_for_job(job_id, timeout=300)
    assert job.status == "succeeded", job.summary
    assert int(job.summary["worker"].rsplit(":", 1)[1]) != pid
    versions = list(ModelVersion.objects.all())
    assert [v.number for v in versions] == [1]
    assert versions[0].status == "ready"
    assert job.summary["deployment"]["status"] == "succeeded"
    assert Drawing.objects.filter(tenant=tenant_a).count() == 24


def test_a_worker_draws_the_default_base_it_trains_on(
    admin_client_a, tenant_a, postgres, redis_url, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    # Nothing drawn beforehand: the pool's child process draws the base.
    require(bool(settings.CELERY_BROKER_URL), "CELERY_BROKER_URL not set")
    from cadml.celery import app

    app.control.purge()
    generated = tmp_path / "generated"
    env = worker_env(
        redis_url,
        CADML_TRAIN_BASE_PER_CLASS="4",
        CADML_GENERATED_SET_DIR=str(generated),
    )
    d = drawing_create(
        tenant=tenant_a,
        uploaded_by=None,
        name="plate.dxf",
        content=generate_part("hole_plate", random.Random(3)),
    ).drawing
    d.label = "hole_plate"
    d.save(update_fields=["label"])
    with running_celery_worker(env, tmp_path / "worker.log", concurrency=1):
        r = admin_client_a.post(
            "/api/v1/models/part-classifier/train",
            {"base": "default", "min_per_class": 3},
            format="json",
        )
        assert r.status_code == 202, r.data
        job = wait_for_job(r.data["job"], timeout=300)
    assert job.status == "succeeded", job.summary
    assert job.summary["base_drawings"] > 0
    assert len(list(generated.glob("generated-*.npz"))) == 1
