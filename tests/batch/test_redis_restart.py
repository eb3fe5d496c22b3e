"""A Redis broker restarted (without persistence) in the middle of a job."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from apps.batch.models import BatchItem, BatchJob
from tests.batch.conftest import as_uploads, files
from tests.servers import free_port, running_celery_worker, test_database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def start_redis(binary: str, port: int, folder: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(  # noqa: S603
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        + ["--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            return process
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("redis did not start")


@contextmanager
def broker(url: str) -> Iterator[None]:
    """Point this process's Celery app at ``url`` (its pools are per URL)."""
    from cadml.celery import app

    previous = app.conf.broker_url
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield
    finally:
        app.conf.broker_url = previous
        app._pool = None
        app.amqp._producer_pool = None


def test_a_job_completes_across_a_broker_restart(
    api_client_a, postgres, redis_url, redis_server_binary, tmp_path
):
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    server = start_redis(redis_server_binary, port, tmp_path)
    env = {
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": url,
        "CADML_PARSE_WORKERS": "1",
        # The beat's reaper re-dispatches what the restart lost.
        "CADML_BATCH_REAP_EVERY_S": "1",
        "CADML_BATCH_DISPATCH_STALE_S": "3",
    }
    args = ("--beat", "--schedule", str(tmp_path / "beat-schedule"))
    try:
        with broker(url), ExitStack() as workers:
            worker = workers.enter_context(
                running_celery_worker(env, tmp_path / "w0.log", extra_args=args)
            )
            response = api_client_a.post(
                "/api/v1/jobs", {"files": as_uploads(files(12))}, format="multipart"
            )
            assert response.status_code == 202, response.content
            job_id = response.json()["id"]
            deadline = time.monotonic() + 60
            while BatchJob.objects.get(pk=job_id).done < 2:
                assert time.monotonic() < deadline, "the job never got going"
                time.sleep(0.05)
            server.terminate()
            server.wait(timeout=10)
            time.sleep(1)
            server = start_redis(redis_server_binary, port, tmp_path)

            # kombu can take the whole worker down when a task's ack meets the
            # lost connection ("Unrecoverable error"); the deployment's
            # supervisor starts it again (docs/operations.md), and so does this.
            deadline = time.monotonic() + 180
            restarts = 0
            while (job := BatchJob.objects.get(pk=job_id)).status not in (
                BatchJob.TERMINAL
            ):
                assert time.monotonic() < deadline, (
                    f"job still {job.status} ({job.done}/{job.total}) after 180 s"
                )
                if worker.poll() is not None and restarts < 3:
                    restarts += 1
                    worker = workers.enter_context(
                        running_celery_worker(
                            env, tmp_path / f"w{restarts}.log", extra_args=args
                        )
                    )
                time.sleep(0.05)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert job.status == BatchJob.Status.SUCCEEDED, job.summary
    assert (job.done, job.failed) == (12, 0)
    items = BatchItem.objects.filter(job=job)
    assert sorted(items.values_list("index", flat=True)) == list(range(12))
    assert all(i.status == "succeeded" and i.analysis_id for i in items)
