"""Claiming and finishing items: the PostgreSQL statements (``apps/batch/sql.py``)
and the ORM path other databases take must behave the same. Each test runs on
both where the database is PostgreSQL (the ORM path is chosen by turning the
PostgreSQL one off), on the ORM path alone elsewhere."""

from __future__ import annotations

import pytest

from apps.batch import execution, runner, submission
from apps.batch.models import BatchItem, BatchJob
from apps.cad.models import Analysis
from apps.cad.services import drawing_create
from tests.batch.conftest import files, wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)

BROKEN = b"0\nSECTION\n2\nENTITIES\nxyz\nfoo\n0\nENDSEC\n0\nEOF\n"


def one_at_a_time(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CADML_BATCH_CONCURRENCY = {"free": 1, "pro": 1}


def submit(tenant, pairs) -> BatchJob:  # type: ignore[no-untyped-def]
    ids = [
        drawing_create(
            tenant=tenant, uploaded_by=None, name=name, content=content
        ).drawing.pk
        for name, content in pairs
    ]
    job, _ = submission.job_submit(tenant=tenant, user=None, drawing_ids=ids)
    return job


def test_each_finished_item_hands_its_slot_to_the_next(item_path, tenant_a, settings):
    # K=1: the job only ends if every finish dispatches the following item.
    one_at_a_time(settings)
    job = wait_for_job(submit(tenant_a, [*files(3), ("broken.dxf", BROKEN)]).pk)

    assert job.status == BatchJob.Status.PARTIAL
    assert (job.done, job.failed, job.skipped, job.total) == (3, 1, 0, 4)
    assert job.summary["by_error"] == {"unreadable_file": 1}
    items = list(BatchItem.objects.filter(job=job).order_by("index"))
    assert [i.status for i in items] == ["succeeded"] * 3 + ["failed"]
    assert all(i.attempts == 1 and i.dispatched_at for i in items)
    # The finish stored each item's analysis, as analysis_run would.
    for item in items[:3]:
        analysis = Analysis.objects.get(pk=item.analysis_id)
        assert analysis.drawing_id == item.drawing_id
        assert analysis.tenant_id == tenant_a.pk
        assert analysis.status == Analysis.Status.DONE and analysis.created
        # It ends after it begins, and within its item's run.
        assert analysis.created <= analysis.finished
        assert item.started <= analysis.created <= item.finished
        assert analysis.features and analysis.title_block is not None
    assert items[3].error_code == "unreadable_file" and items[3].duration_ms >= 0
    # In index order, each one started after the one before it had finished.
    for before, after in zip(items, items[1:], strict=False):
        assert after.started >= before.finished


def test_a_redelivered_item_is_not_run_or_counted_again(item_path, tenant_a):
    job = wait_for_job(submit(tenant_a, files(2)).pk)
    item = BatchItem.objects.filter(job=job).first()

    execution.item_process(item_id=item.pk)  # the broker hands the message out again
    runner.wait_idle()

    again = BatchItem.objects.get(pk=item.pk)
    assert (again.attempts, again.analysis_id) == (1, item.analysis_id)
    job = BatchJob.objects.get(pk=job.pk)
    assert (job.done, job.failed, job.status) == (2, 0, BatchJob.Status.SUCCEEDED)


def test_an_item_whose_worker_died_is_claimed_again_and_ends_the_job(
    item_path, tenant_a
):
    job = wait_for_job(submit(tenant_a, files(2)).pk)
    item = BatchItem.objects.filter(job=job).order_by("index").last()
    # As a worker leaves it when it dies mid-item: running, counted nowhere.
    BatchItem.objects.filter(pk=item.pk).update(
        status=BatchItem.Status.RUNNING, analysis=None, finished=None
    )
    BatchJob.objects.filter(pk=job.pk).update(
        status=BatchJob.Status.RUNNING, done=1, finished=None, summary={}
    )

    execution.item_process(item_id=item.pk)
    runner.wait_idle()

    item = BatchItem.objects.get(pk=item.pk)
    assert item.status == BatchItem.Status.SUCCEEDED and item.attempts == 2
    assert item.analysis_id is not None and item.job.tenant_id == tenant_a.pk
    job = BatchJob.objects.get(pk=job.pk)
    assert (job.status, job.done, job.failed) == (BatchJob.Status.SUCCEEDED, 2, 0)
    assert job.summary["succeeded"] == 2


def test_a_deleted_drawing_fails_its_item(item_path, tenant_a, settings):
    one_at_a_time(settings)
    settings.CADML_BATCH_EMBEDDED_WORKERS = 1
    job = submit(tenant_a, files(3))
    last = BatchItem.objects.filter(job=job).order_by("index").last()
    last.drawing.delete()  # before its turn comes (K=1, three items)

    job = wait_for_job(job.pk)
    item = BatchItem.objects.get(pk=last.pk)
    assert item.drawing_id is None and item.status == BatchItem.Status.FAILED
    assert item.error_code == "drawing_missing" and item.attempts == 1
    assert (job.status, job.done, job.failed) == (BatchJob.Status.PARTIAL, 2, 1)


def test_a_job_reprioritised_in_the_admin_is_dispatched_first(
    item_path, tenant_a, settings, rf
):
    from types import SimpleNamespace

    from django.contrib.admin.sites import site
    from django.db import transaction

    one_at_a_time(settings)
    # Both jobs are dispatched when this block commits, after the change.
    with transaction.atomic():
        first = submit(tenant_a, files(2))
        second = submit(tenant_a, files(2, start=10))
        second.priority = 9
        site._registry[BatchJob].save_model(
            rf.post("/"), second, SimpleNamespace(changed_data=["priority"]), True
        )
    for job in (first, second):
        wait_for_job(job.pk)

    second_done = max(
        BatchItem.objects.filter(job=second).values_list("finished", flat=True)
    )
    first_started = min(
        BatchItem.objects.filter(job=first).values_list("started", flat=True)
    )
    assert second_done <= first_started
