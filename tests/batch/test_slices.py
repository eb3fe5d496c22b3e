"""Slices: a worker runs its tenant's items back to back in one task until the
slice budget is spent, an item of a higher priority waits for a worker, or the
job is cancelled. Each test runs on the PostgreSQL statements and the ORM path
(``item_path``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.batch import execution, runner, services
from apps.batch.models import BatchItem, BatchJob
from apps.cad.models import Analysis
from apps.cad.services import drawing_create
from tests.batch.conftest import files, wait_for_job
from tests.batch.test_celery_integration import big_dxf
from tests.batch.test_item_paths import submit

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def one_slot(settings: Any) -> None:
    settings.CADML_BATCH_CONCURRENCY = {"free": 1, "pro": 1}
    settings.CADML_BATCH_SLICE_MS = 60_000
    settings.CADML_BATCH_SLICE_ITEMS = 100


def slices_of(job: BatchJob) -> list[str]:
    return list(
        BatchItem.objects.filter(job=job)
        .order_by("index")
        .values_list("slice", flat=True)
    )


def waiting_job(tenant: Any, pairs: list[tuple[str, bytes]], priority: int) -> BatchJob:
    """A job whose items are handed to the broker and wait there for a worker
    (nothing runs them in this test)."""
    job = BatchJob.objects.create(tenant=tenant, priority=priority, total=len(pairs))
    for i, (name, content) in enumerate(pairs):
        drawing = drawing_create(
            tenant=tenant, uploaded_by=None, name=name, content=content
        ).drawing
        BatchItem.objects.create(
            job=job,
            tenant=tenant,
            priority=priority,
            index=i,
            name=name,
            drawing=drawing,
            dispatched_at=timezone.now(),
        )
    return job


def test_one_slice_runs_the_tenants_items_back_to_back(item_path, tenant_a, one_slot):
    job = wait_for_job(submit(tenant_a, files(5)).pk)

    assert job.status == BatchJob.Status.SUCCEEDED
    assert (job.done, job.failed) == (5, 0)
    slices = slices_of(job)
    assert slices[0] and len(set(slices)) == 1, slices
    assert all(i.attempts == 1 for i in BatchItem.objects.filter(job=job))


def test_a_slice_ends_after_its_item_budget(item_path, tenant_a, one_slot, settings):
    settings.CADML_BATCH_SLICE_ITEMS = 2
    job = wait_for_job(submit(tenant_a, files(5)).pk)

    assert job.status == BatchJob.Status.SUCCEEDED
    slices = slices_of(job)
    # In order, two items a slice; the next slice takes up where one ended.
    assert slices[0] == slices[1] != slices[2] == slices[3] != slices[4]
    assert len(set(slices)) == 3


def test_a_slice_yields_to_a_higher_priority_item_waiting_for_a_worker(
    item_path,
    tenant_a,
    tenant_b,
    one_slot,
):
    waiting_job(tenant_b, files(1, start=10), priority=9)
    job = wait_for_job(submit(tenant_a, files(3)).pk)

    assert job.status == BatchJob.Status.SUCCEEDED
    # Each item went back to the broker behind the urgent one: one a slice.
    assert len(set(slices_of(job))) == 3


def test_a_waiting_item_of_the_same_priority_does_not_end_a_slice(
    item_path,
    tenant_a,
    tenant_b,
    one_slot,
):
    waiting_job(tenant_b, files(1, start=10), priority=5)
    job = wait_for_job(submit(tenant_a, files(3)).pk)

    assert job.status == BatchJob.Status.SUCCEEDED
    assert len(set(slices_of(job))) == 1


def test_a_slice_runs_the_tenants_urgent_job_before_the_rest_of_its_own(
    item_path,
    tenant_a,
):
    big = waiting_job(tenant_a, files(4), priority=0)
    urgent = waiting_job(tenant_a, files(2, start=10), priority=9)
    BatchItem.objects.filter(job=big).exclude(index=0).update(dispatched_at=None)
    BatchItem.objects.filter(job=urgent).update(dispatched_at=None)
    first = BatchItem.objects.get(job=big, index=0)

    execution.items_slice_run(item_id=first.pk, slice_id="s1")
    runner.wait_idle()

    order = list(
        BatchItem.objects.filter(tenant=tenant_a)
        .order_by("started")
        .values_list("job_id", "index")
    )
    assert order[:3] == [(big.pk, 0), (urgent.pk, 0), (urgent.pk, 1)]
    assert wait_for_job(urgent.pk).status == BatchJob.Status.SUCCEEDED
    assert wait_for_job(big.pk).status == BatchJob.Status.SUCCEEDED


def test_a_cancelled_job_stops_the_slice_before_its_next_claim(item_path, tenant_a):
    job = waiting_job(tenant_a, files(4), priority=5)
    BatchItem.objects.filter(job=job).exclude(index=0).update(dispatched_at=None)
    first = BatchItem.objects.get(job=job, index=0)
    # The slice finished its first item and holds the next one...
    held = execution.item_process(item_id=first.pk, slice_id="s1", keep_next=True)
    assert held is not None
    services.job_cancel(job=job)
    # ...which its next claim refuses.
    assert execution.items_slice_run(item_id=held[0], slice_id="s1") == 1
    runner.wait_idle()

    job = wait_for_job(job.pk)
    assert job.status == BatchJob.Status.CANCELLED
    assert (job.done, job.failed, job.skipped) == (1, 0, 3)
    statuses = list(
        BatchItem.objects.filter(job=job)
        .order_by("index")
        .values_list("status", flat=True)
    )
    assert statuses == ["succeeded", "skipped", "skipped", "skipped"]


def test_a_job_cancelled_mid_item_ends_the_slice_with_that_item(
    item_path, tenant_a, monkeypatch
):
    job = waiting_job(tenant_a, files(4), priority=5)
    BatchItem.objects.filter(job=job).exclude(index=0).update(dispatched_at=None)
    first = BatchItem.objects.get(job=job, index=0)
    compute = execution.analysis_compute

    def cancelled_meanwhile(**kwargs: Any) -> Any:
        services.job_cancel(job=BatchJob.objects.get(pk=job.pk))
        return compute(**kwargs)

    monkeypatch.setattr(execution, "analysis_compute", cancelled_meanwhile)
    # The item in hand finishes; the finish claims no next item for the slice.
    assert execution.items_slice_run(item_id=first.pk, slice_id="s1") == 1
    runner.wait_idle()

    job = wait_for_job(job.pk)
    assert job.status == BatchJob.Status.CANCELLED
    assert (job.done, job.failed, job.skipped) == (1, 0, 3)
    items = BatchItem.objects.filter(job=job).order_by("index")
    assert [i.status for i in items] == ["succeeded"] + ["skipped"] * 3
    assert [i.started is not None for i in items] == [True, False, False, False]


@pytest.mark.parametrize("in_hand", ["claimed", "handed"])
def test_a_redelivered_slice_takes_up_the_item_its_worker_held(
    item_path,
    tenant_a,
    in_hand: str,
):
    job = waiting_job(tenant_a, files(3), priority=5)
    BatchItem.objects.filter(job=job).exclude(index=0).update(dispatched_at=None)
    first = BatchItem.objects.get(job=job, index=0)
    held = execution.item_process(item_id=first.pk, slice_id="s1", keep_next=True)
    assert held is not None
    if in_hand == "claimed":
        # The worker was killed mid-item: running, counted nowhere.
        BatchItem.objects.filter(pk=held[0]).update(
            status=BatchItem.Status.RUNNING, attempts=1, started=timezone.now()
        )

    # The broker hands the slice's message (its first item) out again.
    execution.items_slice_run(item_id=first.pk, slice_id="s1")
    runner.wait_idle()

    job = wait_for_job(job.pk)
    assert job.status == BatchJob.Status.SUCCEEDED
    assert (job.done, job.failed, job.skipped) == (3, 0, 0)
    attempts = dict(BatchItem.objects.filter(job=job).values_list("index", "attempts"))
    assert attempts == {0: 1, 1: 2 if in_hand == "claimed" else 1, 2: 1}


def test_an_item_over_the_isolation_limits_fails_alone(
    item_path, tenant_a, one_slot, settings
):
    settings.CADML_PARSE_TIMEOUT_S = 1
    pairs = [*files(2), ("huge.dxf", big_dxf(200_000)), *files(2, start=2)]
    job = wait_for_job(submit(tenant_a, pairs).pk, timeout=120)

    assert job.status == BatchJob.Status.PARTIAL
    items = list(BatchItem.objects.filter(job=job).order_by("index"))
    assert [i.status for i in items] == ["succeeded"] * 2 + ["failed"] + [
        "succeeded"
    ] * 2
    assert items[2].error_code and items[2].error_message
    # The slice went on after the failed item.
    assert len({i.slice for i in items}) == 1


def test_a_slice_budget_below_one_is_a_configuration_error(settings):
    from apps.batch.checks import batch_settings_check

    settings.CADML_BATCH_SLICE_MS = 0
    assert [e.id for e in batch_settings_check()] == ["batch.E004"]


def test_an_urgent_item_the_broker_lost_does_not_end_every_slice(
    item_path,
    tenant_a,
    tenant_b,
    one_slot,
    settings,
):
    lost = waiting_job(tenant_b, files(1, start=10), priority=9)
    BatchItem.objects.filter(job=lost).update(
        dispatched_at=timezone.now()
        - timedelta(seconds=settings.CADML_BATCH_DISPATCH_STALE_S + 1)
    )
    job = wait_for_job(submit(tenant_a, files(3)).pk)

    assert job.status == BatchJob.Status.SUCCEEDED
    assert len(set(slices_of(job))) == 1


def test_a_slice_finds_duplicates_among_its_own_items(item_path, tenant_a, one_slot):
    import random

    from bench.duplicate_threshold import redrawn
    from tests.cad.test_duplicates import parts

    originals = parts(4, seed=91)
    pairs = [(f"p{i}.dxf", f) for i, f in enumerate(originals)]
    pairs.append(("copy.dxf", redrawn(originals[1], random.Random(5))))
    job = wait_for_job(submit(tenant_a, pairs).pk)

    assert job.status == BatchJob.Status.SUCCEEDED
    items = list(BatchItem.objects.filter(job=job).order_by("index"))
    assert len(set(slices_of(job))) == 1  # the copy ran in its original's slice
    copy = Analysis.objects.get(pk=items[4].analysis_id)
    assert [d["drawing_id"] for d in copy.duplicates] == [items[1].drawing_id]


def test_a_counted_dispatch_skips_the_items_a_finisher_holds(tenant_a, settings):
    """A finisher's dispatch (``freed``) and a count-based one (a submission)
    run at once: the second hands out the other items instead of waiting on
    the finisher's, and no item is handed out twice (both updating the same
    rows once ended in a deadlock and a 500 on the submission)."""
    import threading

    from django.db import connection, transaction

    from apps.batch import dispatch

    settings.CADML_BATCH_CONCURRENCY = {"free": 4, "pro": 4}
    job = BatchJob.objects.create(tenant=tenant_a, priority=5, total=3)
    for i, (name, content) in enumerate(files(3)):
        drawing = drawing_create(
            tenant=tenant_a, uploaded_by=None, name=name, content=content
        ).drawing
        BatchItem.objects.create(
            job=job, tenant=tenant_a, priority=5, index=i, name=name, drawing=drawing
        )
    held: list[Any] = []
    counted: list[Any] = []
    holding, release = threading.Event(), threading.Event()

    def finisher() -> None:
        try:
            with transaction.atomic():
                dispatch.dispatch(
                    tenant_id=tenant_a.pk, freed=1, slice_id="finisher", hold=held
                )
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    def submission() -> None:
        try:
            dispatch.dispatch(tenant_id=tenant_a.pk, slice_id="", hold=counted)
        finally:
            connection.close()

    first = threading.Thread(target=finisher)
    first.start()
    assert holding.wait(30)
    second = threading.Thread(target=submission)
    second.start()
    second.join(20)
    done_while_held = not second.is_alive()
    release.set()
    first.join(30)
    second.join(30)
    assert done_while_held, "the submission's dispatch waited on the finisher's item"
    held_ids = [pk for pk, _ in held]
    counted_ids = [pk for pk, _ in counted]
    assert len(held_ids) == 1 and len(counted_ids) == 2
    assert not set(held_ids) & set(counted_ids)
    assert BatchItem.objects.filter(job=job, dispatched_at__isnull=True).count() == 0


def test_only_the_slices_last_finish_waits_for_the_disk(tenant_a):
    """A finish that claims the slice's next item commits without waiting for
    its WAL (lost with the server, its item is the reaper's, as when a worker
    dies mid-slice); the finish that ends the slice is durable, and with it
    every commit before it."""
    from django.db import connection, transaction

    from apps.batch import sql

    if not sql.enabled():
        pytest.skip("the one-statement path is PostgreSQL's")
    job = BatchJob.objects.create(tenant=tenant_a, total=2)
    first, second = (
        BatchItem.objects.create(
            job=job,
            tenant=tenant_a,
            index=i,
            name=name,
            drawing=drawing_create(
                tenant=tenant_a, uploaded_by=None, name=name, content=content
            ).drawing,
            status=BatchItem.Status.RUNNING if i == 0 else BatchItem.Status.PENDING,
        )
        for i, (name, content) in enumerate(files(2))
    )

    def finish(item: BatchItem) -> tuple[Any, str]:
        now = timezone.now()
        with transaction.atomic(), connection.cursor() as cursor:
            finished = sql.item_finish(
                item_id=item.pk,
                job=job,
                status=BatchItem.Status.FAILED,
                analysis=None,
                code="test",
                message="",
                now=now,
                duration_ms=None,
                progress_gate=now,
                stale_before=now - timedelta(minutes=5),
                slice_id="slice",
                claim_next=True,
                worker="w",
            )
            cursor.execute("SELECT current_setting('synchronous_commit')")
            return finished, cursor.fetchone()[0]

    finished, mode = finish(first)
    assert finished is not None and finished.next_claimed is not None
    assert finished.next_claimed.pk == second.pk
    assert mode == "off"
    finished, mode = finish(second)  # nothing left to claim: the slice ends
    assert finished is not None and finished.next_claimed is None
    assert mode == "on"
    assert BatchJob.objects.get(pk=job.pk).failed == 2
