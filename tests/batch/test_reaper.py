from __future__ import annotations

import signal
import socket
import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.batch import runner
from apps.batch.models import BatchItem, BatchJob
from apps.batch.reaper import items_reap
from apps.batch.submission import job_submit
from apps.cad.services import drawing_create
from cadml import metrics
from tests.batch.conftest import files, wait_for_job
from tests.servers import PROJECT_ROOT, server_env, test_database_url

pytestmark = pytest.mark.django_db(transaction=True)


def stalled_job(tenant, owner, n: int = 3) -> BatchJob:  # type: ignore[no-untyped-def]
    """A job whose items were handed to a worker that then vanished."""
    ids = [
        drawing_create(
            tenant=tenant, uploaded_by=owner, name=name, content=content
        ).drawing.pk
        for name, content in files(n)
    ]
    original = runner.enqueue
    runner.enqueue = lambda *a, **k: None  # the broker loses every message
    try:
        job, _ = job_submit(tenant=tenant, user=owner, drawing_ids=ids)
    finally:
        runner.enqueue = original
    return job


def test_items_of_a_lost_worker_are_requeued_and_the_job_completes(tenant_a, owner_a):
    job = stalled_job(tenant_a, owner_a)
    long_ago = timezone.now() - timedelta(hours=2)
    first = BatchItem.objects.filter(job=job).order_by("index").first()
    BatchItem.objects.filter(pk=first.pk).update(
        status="running", started=long_ago, attempts=1
    )
    BatchItem.objects.filter(job=job).exclude(pk=first.pk).update(
        dispatched_at=long_ago
    )
    assert BatchJob.objects.get(pk=job.pk).status == "queued"

    outcome = items_reap()
    assert outcome["requeued"] >= 2
    job = wait_for_job(job.pk)
    assert job.status == "succeeded" and job.done == 3
    assert BatchItem.objects.get(pk=first.pk).attempts == 2


def test_an_item_that_keeps_losing_its_worker_fails_in_the_end(
    tenant_a, owner_a, settings
):
    settings.CADML_BATCH_MAX_ATTEMPTS = 2
    job = stalled_job(tenant_a, owner_a, n=1)
    long_ago = timezone.now() - timedelta(hours=2)
    BatchItem.objects.filter(job=job).update(
        status="running", started=long_ago, attempts=2
    )
    items_reap()
    job = wait_for_job(job.pk)
    assert job.status == "failed"
    item = BatchItem.objects.get(job=job)
    assert item.error_code == "worker_lost"


def test_the_reaper_reports_every_waiting_item_as_queue_depth(tenant_a, owner_a):
    # Pro plan: K=4 items handed to the broker, the other 2 not yet.
    job = stalled_job(tenant_a, owner_a, n=6)
    waiting = BatchItem.objects.filter(job=job, status="pending")
    assert waiting.filter(dispatched_at__isnull=False).count() == 4
    assert waiting.filter(dispatched_at__isnull=True).count() == 2
    original = runner.enqueue
    runner.enqueue = lambda *a, **k: None  # nothing runs while the gauge is read
    try:
        items_reap()
    finally:
        runner.enqueue = original
    depth = metrics.batch_queue_depth.labels("celery")._value.get()
    assert depth >= 6  # other tests' tenants may have items waiting too
    assert depth == BatchItem.objects.filter(status="pending").count()


def test_embedded_serve_runs_the_reaper_loop_and_it_recovers_lost_items(
    tenant_a, owner_a, settings, tmp_path
):  # type: ignore[no-untyped-def]
    from apps.accounts.management.commands.serve import platform_processes

    settings.CADML_BATCH_REAP_EVERY_S = 0.3
    argv = platform_processes("127.0.0.1", 8000)["reaper"]
    assert argv[-3:] == ["batch_reap", "--every", "0.3"]
    assert "worker" not in platform_processes("127.0.0.1", 8000)

    job = stalled_job(tenant_a, owner_a, n=2)
    long_ago = timezone.now() - timedelta(hours=2)
    BatchItem.objects.filter(job=job).update(
        status="running", started=long_ago, attempts=1
    )
    env = server_env({"DATABASE_URL": test_database_url()})
    env.pop("CELERY_BROKER_URL", None)  # embedded: the reaper runs what it requeues
    log = tmp_path / "reaper.log"
    with log.open("wb") as out:
        reaper = subprocess.Popen(  # noqa: S603
            argv, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            job = wait_for_job(job.pk, timeout=120)
        finally:
            reaper.send_signal(signal.SIGTERM)
            reaper.wait(timeout=60)
    assert job.status == "succeeded" and job.done == 2, log.read_text()
    assert reaper.returncode == 0, log.read_text()
    assert "requeued" in log.read_text()
    workers = set(BatchItem.objects.filter(job=job).values_list("worker", flat=True))
    assert workers == {f"{socket.gethostname()}:{reaper.pid}"}


def test_a_queued_upload_whose_message_was_lost_is_handed_out_again(tenant_a, owner_a):  # type: ignore[no-untyped-def]
    from apps.cad.models import Analysis

    name, content = files(1)[0]
    drawing = drawing_create(
        tenant=tenant_a, uploaded_by=owner_a, name=name, content=content
    ).drawing
    # Handed to a broker that lost it: it holds one of the tenant's K slots.
    lost = Analysis.objects.create(
        drawing=drawing,
        tenant=tenant_a,
        status=Analysis.Status.QUEUED,
        dispatched_at=timezone.now() - timedelta(hours=2),
    )
    assert items_reap()["requeued"] == 1
    assert runner.wait_idle(timeout=60)
    lost.refresh_from_db()
    assert lost.status == Analysis.Status.DONE
    assert lost.features


def test_a_queued_upload_whose_worker_was_lost_is_failed_by_the_reaper(
    tenant_a, owner_a
):  # type: ignore[no-untyped-def]
    from apps.cad.models import Analysis

    name, content = files(1)[0]
    drawing = drawing_create(
        tenant=tenant_a, uploaded_by=owner_a, name=name, content=content
    ).drawing
    stuck = Analysis.objects.create(
        drawing=drawing,
        tenant=tenant_a,
        status=Analysis.Status.RUNNING,
        dispatched_at=timezone.now() - timedelta(hours=2),
    )
    assert items_reap()["failed"] == 1
    stuck.refresh_from_db()
    assert stuck.status == Analysis.Status.FAILED
    assert stuck.error_code == "worker_lost"
    assert "analyse the drawing again" in stuck.error
