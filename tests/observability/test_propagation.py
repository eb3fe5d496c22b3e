"""One trace across processes: a REST batch submission in daphne and its item
tasks in a real Celery worker, both exporting over OTLP/HTTP to a local sink."""

from __future__ import annotations

import random
import time
from urllib.parse import urlparse, urlunparse

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from apps.batch.models import BatchJob
from apps.cad.synth import PART_CLASSES, generate_part
from tests.observability.otlp_sink import running_sink
from tests.servers import (
    free_port,
    running_celery_worker,
    running_daphne,
    test_database_url,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Redis database 8 belongs to these tests: their broker queue is theirs alone.
REDIS_DB = 8


def own_db(url: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{REDIS_DB}"))


def wait_for_job(job_id: int, timeout: float = 30.0) -> BatchJob:
    deadline = time.monotonic() + timeout
    while True:
        job = BatchJob.objects.get(pk=job_id)
        if job.status in BatchJob.TERMINAL or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


@pytest.mark.parametrize("pool", ["prefork", "threads"])
def test_batch_submission_and_its_items_share_one_trace(
    pool, postgres, redis_url, api_client_a, tmp_path
):  # type: ignore[no-untyped-def]
    redis = own_db(redis_url)
    # The worker's pool processes write metrics to a shared directory that its
    # main process serves on a port of its own.
    (tmp_path / "prom").mkdir()
    metrics_port = free_port()
    with running_sink() as sink:
        env = {
            "DATABASE_URL": test_database_url(),
            "REDIS_URL": redis,
            "CELERY_BROKER_URL": redis,
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_TRACES_SAMPLER": "parentbased_always_on",
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test",
        }
        worker_env = dict(
            env,
            PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prom"),
            CADML_METRICS_PORT=str(metrics_port),
        )
        with (
            running_celery_worker(
                worker_env,
                tmp_path / "worker.log",
                pool=pool,
                concurrency=2,
                warm_shutdown=True,
            ),
            running_daphne(env) as web,
        ):
            rng = random.Random(11)
            files = [
                ("files", (f"part-{i}.dxf", generate_part(PART_CLASSES[i], rng)))
                for i in range(2)
            ]
            response = httpx.post(
                f"{web.url}/api/v1/jobs",
                files=files,
                headers={"Authorization": f"Api-Key {api_client_a.plaintext}"},
                timeout=30,
            )
            assert response.status_code == 202, response.text
            trace_id = response.headers["X-Trace-ID"]
            job_id = response.json()["id"]

            def in_trace(span):  # type: ignore[no-untyped-def]
                return span["trace_id"] == trace_id

            runs = sink.wait_for(
                lambda s: in_trace(s) and s["name"] == "run/batch.item_run"
            )
            # Give the second item's span the same chance as the first.
            deadline = time.monotonic() + 30
            while len(runs) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
                runs = sink.wait_for(
                    lambda s: in_trace(s) and s["name"] == "run/batch.item_run"
                )

            worker_metrics = httpx.get(
                f"http://127.0.0.1:{metrics_port}/metrics", timeout=5
            ).text

    finished = [
        sample
        for family in text_string_to_metric_families(worker_metrics)
        for sample in family.samples
        if sample.name == "cadml_celery_tasks_total"
        and sample.labels["task"] == "batch.item_run"
    ]
    assert sum(sample.value for sample in finished) == 2, worker_metrics
    job = wait_for_job(job_id)
    assert job.status == BatchJob.Status.SUCCEEDED, job.status
    trace = [s for s in sink.spans if in_trace(s)]
    by_name = {s["name"]: s for s in trace}
    server = by_name["POST api/v1/jobs"]
    assert server["service"] == "cadml-web"
    assert server["resource"]["deployment.environment"] == "test"
    assert server["attributes"]["cadml.api_version"] == "v1"
    publishes = [s for s in trace if s["name"] == "apply_async/batch.item_run"]
    assert len(publishes) == 2 and all(p["service"] == "cadml-web" for p in publishes)

    assert len(runs) == 2, [s["name"] for s in trace]
    for run in runs:
        assert run["service"] == "cadml-worker"
        assert run["resource"]["cadml.process.kind"] == "worker"
        # Each item task continues from the publish that enqueued it.
        assert run["parent_id"] in {p["span_id"] for p in publishes}
    # Database work in the worker joins the same trace.
    worker_children = [
        s
        for s in trace
        if s["service"] == "cadml-worker" and s["name"] != "run/batch.item_run"
    ]
    assert worker_children, "no database or Redis spans from the worker"
