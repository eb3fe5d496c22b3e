"""Batch jobs on real Celery worker processes (prefork, 2 processes) and Redis."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from io import StringIO
from typing import Any

import ezdxf
import pytest
from django.conf import settings

from apps.batch.models import BatchItem, BatchJob
from tests.batch.conftest import as_uploads, files, wait_for_job
from tests.conftest import redis_missing, require
from tests.servers import running_celery_worker, test_database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def worker(request, django_db_setup, tmp_path_factory) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """One worker for the tests of this module that share its settings (a test
    with settings of its own gets its own worker, by indirect parametrisation):
    nothing here stops or restarts the worker process itself."""
    require(
        settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
        "PostgreSQL not configured: set DATABASE_URL=postgres://...",
    )
    reason = redis_missing(settings.REDIS_URL or "")
    require(reason is None, reason or "")
    require(bool(settings.CELERY_BROKER_URL), "CELERY_BROKER_URL not set")
    from cadml.celery import app

    app.control.purge()
    env = {
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        # One isolation process per pool process: two items at a time in all.
        "CADML_PARSE_WORKERS": "1",
        # A test's own settings for the worker (indirect parametrisation).
        **getattr(request, "param", {}),
    }
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    with running_celery_worker(env, log, concurrency=2) as process:
        process.log = log  # type: ignore[attr-defined]
        yield process


@pytest.fixture(autouse=True)
def _empty_queue() -> None:
    """No message of an earlier test's job waits for the shared worker."""
    from cadml.celery import app

    app.control.purge()


def submit(client, pairs, priority: int = 5) -> int:  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/v1/jobs",
        {"files": as_uploads(pairs), "priority": str(priority)},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    return response.json()["id"]


def big_dxf(n: int = 40_000) -> bytes:
    """A drawing of ``n`` lines that takes a worker a while, so it can be killed
    mid-item. ezdxf writes the document around one line and the others are
    written as that line is, with handles of their own: ezdxf's own writing of
    200 000 lines costs 10-20 s of a test."""
    doc = ezdxf.new()
    first = doc.modelspace().add_line((0, 0), (0, 1))
    buf = StringIO()
    doc.write(buf)
    text = buf.getvalue()
    seed = int(doc.header["$HANDSEED"], 16)
    start = text.index("  0\nLINE\n")
    end = text.index("  0\n", start + 1)
    lines = "".join(
        f"  0\nLINE\n  5\n{seed + i:X}\n330\n{first.dxf.owner}\n100\nAcDbEntity\n"
        f"  8\n0\n100\nAcDbLine\n 10\n{i}.0\n 20\n0.0\n 30\n0.0\n"
        f" 11\n{i}.0\n 21\n{(i * 7) % 13 + 1}.0\n 31\n0.0\n"
        for i in range(n)
    )
    text = text[:start] + lines + text[end:]
    # The next free handle is past the new ones.
    text = text.replace(
        f"$HANDSEED\n  5\n{seed:X}\n", f"$HANDSEED\n  5\n{seed + n:X}\n", 1
    )
    return text.encode()


# A slice budget no item here exhausts: which slice holds big.dxf is known.
@pytest.mark.parametrize("worker", [{"CADML_BATCH_SLICE_MS": "60000"}], indirect=True)
def test_a_worker_killed_mid_item_loses_nothing(api_client_a, worker):
    # Past the tenant's four slots, big.dxf is handed to a slice that already
    # ran an item: the message redelivered is that earlier item's.
    pairs = [*files(5), ("big.dxf", big_dxf()), *files(3, start=5)]
    job_id = submit(api_client_a, pairs)
    deadline = time.monotonic() + 60
    while True:
        item = BatchItem.objects.get(job_id=job_id, name="big.dxf")
        if item.status == BatchItem.Status.RUNNING and item.worker:
            break
        assert time.monotonic() < deadline, f"big item never ran: {item.status}"
        time.sleep(0.01)
    pid = int(item.worker.rsplit(":", 1)[1])
    assert pid != worker.pid, "items run in pool processes, not the main one"
    os.kill(pid, signal.SIGKILL)

    job = wait_for_job(job_id, timeout=180)
    assert job.status == BatchJob.Status.SUCCEEDED, job.summary
    items = list(BatchItem.objects.filter(job=job).order_by("index"))
    assert [i.index for i in items] == list(range(9))
    assert all(i.status == "succeeded" and i.analysis_id for i in items)
    assert (job.done, job.failed, job.skipped) == (9, 0, 0)
    big = next(i for i in items if i.name == "big.dxf")
    assert big.attempts == 2, "the killed item was redelivered once"
    # Only the item in hand ran again; the rest of the slice ended exactly once.
    assert [i.attempts for i in items if i.name != "big.dxf"] == [1] * 8
    # The slice's own message, redelivered, took big.dxf up again.
    assert any(i.slice == big.slice for i in items if i.index < big.index)
    assert not big.worker.endswith(f":{pid}")
    rows = api_client_a.get(f"/api/v1/jobs/{job.pk}/results").json()["results"]
    assert sorted(r["index"] for r in rows) == list(range(9))


def test_a_job_runs_on_celery_workers(api_client_a, worker):
    # Three times the tenant's four slots: slices take up the items past them.
    job = wait_for_job(submit(api_client_a, files(12)), timeout=120)
    assert job.status == BatchJob.Status.SUCCEEDED
    workers = set(BatchItem.objects.filter(job=job).values_list("worker", flat=True))
    assert all(w and not w.endswith(f":{os.getpid()}") for w in workers)
    # Items ran in slices: some task ran more than one of them.
    slices = list(BatchItem.objects.filter(job=job).values_list("slice", flat=True))
    assert all(slices) and len(set(slices)) < len(slices), slices


def test_a_priority_9_job_overtakes_a_big_priority_0_job(api_client_a, worker):
    # Both jobs' drawings are made first: generating the urgent job's after the
    # big one is in would give a busy machine's workers time to finish it.
    big_files, urgent_files = files(16), files(3, start=20)
    big = submit(api_client_a, big_files, priority=0)
    urgent = submit(api_client_a, urgent_files, priority=9)
    urgent_job = wait_for_job(urgent, timeout=180)
    big_job = wait_for_job(big, timeout=180)
    assert urgent_job.status == big_job.status == BatchJob.Status.SUCCEEDED
    assert urgent_job.finished < big_job.finished
    # It overtook: items of the big job were still waiting when it ended.
    assert BatchItem.objects.filter(
        job=big_job, started__gt=urgent_job.finished
    ).exists()


# Slices of three items: whether the big job outlasts one slice budget must not
# depend on how fast this machine analyses a drawing. (A worker of its own: one
# shared with the test below carried tenant state across the tests' reused ids.)
@pytest.mark.parametrize("worker", [{"CADML_BATCH_SLICE_ITEMS": "3"}], indirect=True)
def test_a_small_job_of_another_tenant_is_not_starved(
    api_client_a, api_client_b, worker
):
    big_files, small_files = files(16), files(2, start=30)
    big = submit(api_client_a, big_files)
    small = submit(api_client_b, small_files)
    small_job = wait_for_job(small, timeout=180)
    big_job = wait_for_job(big, timeout=180)
    assert small_job.finished < big_job.finished
    assert BatchItem.objects.filter(
        job=big_job, started__gt=small_job.finished
    ).exists()


def test_a_large_upload_is_analysed_by_a_worker(api_client_a, worker, settings):  # type: ignore[no-untyped-def]
    from apps.cad.models import Analysis

    settings.CADML_SYNC_ANALYZE_MAX_MB = 0  # every upload takes the 202 path
    ((name, content),) = files(1, start=40)
    response = api_client_a.post(
        "/api/v1/drawings",
        {"file": as_uploads([(name, content)])[0]},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    analysis_id = response.json()["analysis"]["id"]
    deadline = time.monotonic() + 120
    while (analysis := Analysis.objects.get(pk=analysis_id)).status in (
        "queued",
        "running",
    ):
        assert time.monotonic() < deadline, "the queued analysis never ran"
        time.sleep(0.05)
    assert analysis.status == "done", analysis.error
    assert analysis.features


# Two items a slice: the test's items are few, the rotation between slices is
# what is checked (with no budget, tenant A's first slices take all its items
# and B gets none of the first half).
@pytest.mark.parametrize("worker", [{"CADML_BATCH_SLICE_ITEMS": "2"}], indirect=True)
def test_two_tenants_on_one_plan_share_the_workers(
    api_client_a, api_client_b, tenant_b, worker
):
    from apps.accounts.models import Tenant

    Tenant.objects.filter(pk=tenant_b.pk).update(plan="pro")  # as tenant A's
    a_files, b_files = files(16), files(16, start=40)
    a = submit(api_client_a, a_files)
    b = submit(api_client_b, b_files)
    wait_for_job(a, timeout=180)
    wait_for_job(b, timeout=180)

    finished = list(
        BatchItem.objects.filter(job_id__in=[a, b])
        .order_by("finished")
        .values_list("job_id", flat=True)
    )
    first_half = finished[:16]
    # Submitted first, tenant A still leaves half the early work to B.
    assert 5 <= first_half.count(b) <= 11, first_half
