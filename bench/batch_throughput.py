"""Batch throughput on Celery vs a plain multiprocessing pool.

(a) 500 stored synthetic drawings analysed by ``multiprocessing.Pool(2)``, each
process calling the CAD core's analyze service (``analysis_run``: the pipeline
in the isolation pool, the Analysis stored in PostgreSQL), the same work each
batch task does (``analysis_compute``, then the Analysis stored by the item's
finish). This is "the same analysis" of the issue: the ratio measures what
Celery and the batch machinery (claims, counters, fair dispatch, progress) add.
(b) The same 500 drawings as a batch job on a real ``celery -A cadml worker
--pool prefork -c 2`` (items through Redis, analyses stored in PostgreSQL),
timed from submission until the job's status is final.
(c) For reference, the pipeline alone on the same pool (no database, no
isolation process): the floor nothing stored can beat.
(d) For reference, Celery alone: the same worker running one bench-only task per
drawing that calls ``analysis_run`` and nothing else (``bench/celery_floor.py``),
all 500 sent at once: what Celery costs apart from the batch app.
(a) and (b) run three times each (``--runs``), alternating; the ratio is the
median of (b) over the median of (a) (target >= 0.95).
(e) Priority: while a 500-item priority-0 job runs, another tenant submits
one-item priority-9 jobs; ``priority_first_item_ms`` is the median time from
such a submission to its item starting (target: within one slice budget).
(f) Fairness: two tenants on the same plan submit equal jobs at once;
``fairness_share`` is the smaller tenant's share of the items finished over
the first half of the run (target 0.5 +- 0.1).
Also prints b/c and the p50/p99 time from submitting a one-item job to its
item starting on an idle worker.

Needs DATABASE_URL (PostgreSQL), REDIS_URL and CELERY_BROKER_URL. Prints one
JSON line. ``--items N`` changes the size.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _analyze(args: tuple[str, bytes]) -> int:
    from apps.cad.pipeline import analyze_bytes

    return len(analyze_bytes(args[0], args[1], preview=False)["features"])


def _service_init() -> None:
    # A pool process set up like a Celery worker process (apps/batch/tasks.py):
    # Django loaded, the worker's database settings (cadml/celery.py), and
    # allowed to start the isolation pool's process.
    multiprocessing.current_process()._config["daemon"] = False  # type: ignore[attr-defined]
    import django

    django.setup()
    from cadml.celery import worker_database_settings

    worker_database_settings()


def _analyze_service(drawing_id: int) -> str:
    from apps.cad.models import Drawing
    from apps.cad.services import analysis_run

    return analysis_run(drawing=Drawing.objects.get(pk=drawing_id)).status


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _wait(job_id: int, *, timeout: float = 900) -> None:
    from apps.batch.models import BatchJob

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = BatchJob.objects.get(pk=job_id)
        if job.status in BatchJob.TERMINAL:
            return
        # The poll shares the two cores with the workers it measures: every
        # 0.1 s, and every 5 ms once the last items run, since the job's end is
        # timed by it.
        time.sleep(0.005 if job.total - job.processed <= 8 else 0.1)
    raise TimeoutError(f"job {job_id} did not finish")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--latency-jobs", type=int, default=30)
    # Runs of (a) and of (b), alternating; more of them tame the machine's drift.
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        if not os.environ.get(name):
            sys.exit(f"{name} must be set (PostgreSQL, Redis and a Redis broker)")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadml.settings")
    os.environ["CADML_PARSE_WORKERS"] = "1"
    # Production settings (DEBUG off) for this process and the worker: DEBUG
    # logs every query in memory, which no deployment pays.
    os.environ.update(
        DEBUG="0",
        SECRET_KEY="bench-" + "k" * 60,
        SECURE_SSL_REDIRECT="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        CADML_AUDIT_SIGNING_KEY="bench-audit-" + "a" * 40,
    )
    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.conf import settings

    from apps.accounts.services import tenant_create
    from apps.batch.models import BatchItem, BatchJob
    from apps.batch.submission import job_submit
    from apps.cad.services import drawing_create
    from apps.cad.synth import PART_CLASSES, generate_part
    from cadml.celery import app

    rng = random.Random(500)
    salt = uuid.uuid4().hex[:8]
    contents = [
        (
            f"part-{i}.dxf",
            generate_part(PART_CLASSES[i % len(PART_CLASSES)], rng)
            + f"999\n{salt}\n".encode(),  # unique bytes per run: no dedup
        )
        for i in range(args.items)
    ]

    # Rows earlier runs updated leave dead versions behind; with autovacuum off
    # (as on the development machines) they pile up run after run and slow
    # every later claim and finish. Start from vacuumed tables, as a server
    # with autovacuum on would be.
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("batch_batchitem", "batch_batchjob", "cad_analysis"):
            cursor.execute(f"VACUUM ANALYZE {table}")

    tenant = tenant_create(slug=f"bench-batch-{salt}", plan="internal")
    drawings = [
        drawing_create(tenant=tenant, uploaded_by=None, name=n, content=c).drawing.pk
        for n, c in contents
    ]

    # (a) and (c) on a 2-process pool. The machine's speed drifts by 10-20 %
    # over a minute, so the runs alternate, (a) (c) (b) (a) (d) (b) (a) (b)
    # (a) (c), and each side is averaged.
    def run_pool(fn, work, initializer=None) -> float:  # noqa: ANN001
        ctx = multiprocessing.get_context("forkserver")
        with ctx.Pool(2, initializer=initializer) as pool:
            pool.map(fn, work[:4])  # warm both processes
            t0 = time.perf_counter()
            pool.map(fn, work, chunksize=1)
            return time.perf_counter() - t0

    def run_pools() -> None:
        service_runs.append(run_pool(_analyze_service, drawings, _service_init))
        pipeline_runs.append(run_pool(_analyze, contents))

    service_runs: list[float] = []
    pipeline_runs: list[float] = []
    run_pools()

    # (b) the batch job on real Celery workers.
    app.control.purge()
    log = Path(f"/tmp/bench-batch-worker-{salt}.log")
    env = {**os.environ, "CADML_PARSE_WORKERS": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    with log.open("wb") as out:
        worker = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "cadml",
                "worker",
                "--pool",
                "prefork",
                "-c",
                "2",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"bench-{salt}@%h",
                "-l",
                "WARNING",
                "-I",
                "bench.celery_floor",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        time.sleep(1)
        # Warm-up: both pool processes start their isolation pools.
        warm, _ = job_submit(tenant=tenant, user=None, drawing_ids=drawings[:4])
        _wait(warm.pk, timeout=120)

        latencies = []
        for i in range(args.latency_jobs):
            job, _ = job_submit(
                tenant=tenant, user=None, drawing_ids=[drawings[i % len(drawings)]]
            )
            _wait(job.pk)
            first = (
                BatchItem.objects.filter(job=job).order_by("started").first().started
            )
            latencies.append((first - job.created).total_seconds() * 1000)

        def run_job() -> BatchJob:
            t0 = time.perf_counter()
            job, _ = job_submit(tenant=tenant, user=None, drawing_ids=drawings)
            _wait(job.pk)
            celery_runs.append(time.perf_counter() - t0)
            return BatchJob.objects.get(pk=job.pk)

        def run_floor() -> float:
            # (d) Celery alone: one bench.analysis_run task per drawing, all
            # sent at once, timed until every analysis is stored.
            from django.utils import timezone

            from apps.batch.runner import broker_priority
            from apps.cad.models import Analysis

            start = timezone.now()
            t0 = time.perf_counter()
            for pk in drawings:
                app.send_task("bench.analysis_run", (pk,), priority=broker_priority(5))
            stored = Analysis.objects.filter(tenant=tenant, created__gte=start)
            while (left := len(drawings) - stored.count()) > 0:
                time.sleep(0.005 if left <= 8 else 0.1)
            return time.perf_counter() - t0

        def run_priority(probes: int = 5) -> list[float]:
            # (e) One-item priority-9 jobs of another tenant, submitted one at a
            # time while the 500-item priority-0 job runs; then it is cancelled.
            from apps.batch.services import job_cancel

            big, _ = job_submit(
                tenant=tenant, user=None, drawing_ids=drawings, priority=0
            )
            waits = []
            for i in range(probes):
                # Spread over the first half of the big job.
                step = len(drawings) // (2 * probes)
                while BatchJob.objects.get(pk=big.pk).processed < step * (i + 1):
                    time.sleep(0.02)
                job, _ = job_submit(
                    tenant=urgent_tenant,
                    user=None,
                    drawing_ids=[urgent_drawings[i]],
                    priority=9,
                )
                item = BatchItem.objects.get(job=job)
                while item.started is None:
                    time.sleep(0.002)
                    item.refresh_from_db(fields=["started"])
                waits.append((item.started - job.created).total_seconds() * 1000)
            job_cancel(job=BatchJob.objects.get(pk=big.pk))
            _wait(big.pk)
            return waits

        def run_fairness() -> float:
            # (f) Two tenants, same plan, equal jobs submitted at once.
            half = len(drawings) // 2
            a, _ = job_submit(tenant=fair[0], user=None, drawing_ids=fair_ids[0][:half])
            b, _ = job_submit(tenant=fair[1], user=None, drawing_ids=fair_ids[1][:half])
            _wait(a.pk)
            _wait(b.pk)
            items = BatchItem.objects.filter(job__in=[a, b])
            t0 = min(a.created, b.created)
            end = max(items.values_list("finished", flat=True))
            middle = t0 + (end - t0) / 2
            early = [
                items.filter(job=job, finished__lte=middle).count() for job in (a, b)
            ]
            return min(early) / sum(early)

        urgent_tenant = tenant_create(slug=f"bench-urgent-{salt}", plan="internal")
        urgent_drawings = [
            drawing_create(
                tenant=urgent_tenant, uploaded_by=None, name=n, content=c
            ).drawing.pk
            for n, c in contents[:5]
        ]
        fair = [tenant_create(slug=f"bench-fair-{k}-{salt}", plan="pro") for k in "ab"]
        fair_ids = [
            [
                drawing_create(tenant=t, uploaded_by=None, name=n, content=c).drawing.pk
                for n, c in contents[: len(contents) // 2]
            ]
            for t in fair
        ]

        celery_runs: list[float] = []
        jobs = [run_job()]
        floor_s = None
        for _ in range(args.runs - 1):
            service_runs.append(run_pool(_analyze_service, drawings, _service_init))
            if floor_s is None:
                floor_s = run_floor()
            jobs.append(run_job())
        if floor_s is None:
            floor_s = run_floor()
        priority_waits = run_priority()
        fairness = run_fairness()
    finally:
        worker.send_signal(3)  # SIGQUIT: cold shutdown
        worker.wait(timeout=30)

    pool_rate = args.items / statistics.median(service_runs)
    pipeline_rate = args.items / statistics.median(pipeline_runs)
    celery_rate = args.items / statistics.median(celery_runs)
    print(
        json.dumps(
            {
                "bench": "batch_throughput",
                "items": args.items,
                "succeeded": [job.done for job in jobs],
                "failed": [job.failed for job in jobs],
                "pool_items_per_s": round(pool_rate, 2),
                "pool_items_per_s_runs": [
                    round(args.items / t, 2) for t in service_runs
                ],
                "celery_items_per_s": round(celery_rate, 2),
                "celery_items_per_s_runs": [
                    round(args.items / t, 2) for t in celery_runs
                ],
                "ratio_celery_vs_pool": round(celery_rate / pool_rate, 3),
                "target_ratio": 0.95,
                "celery_alone_items_per_s": round(args.items / floor_s, 2),
                "ratio_celery_alone_vs_pool": round(
                    args.items / floor_s / pool_rate, 3
                ),
                "pipeline_only_pool_items_per_s": round(pipeline_rate, 2),
                "ratio_celery_vs_pipeline_only": round(celery_rate / pipeline_rate, 3),
                "submit_to_first_item_ms_p50": round(_percentile(latencies, 0.5), 1),
                "submit_to_first_item_ms_p99": round(_percentile(latencies, 0.99), 1),
                "priority_first_item_ms": round(statistics.median(priority_waits), 1),
                "priority_first_item_ms_runs": [round(w, 1) for w in priority_waits],
                "fairness_share": round(fairness, 3),
                "slice_ms": int(settings.CADML_BATCH_SLICE_MS),
                "workers": "celery prefork -c 2 (slices) vs multiprocessing.Pool(2), "
                f"both calling analysis_run; medians of {args.runs} alternating runs",
            }
        )
    )


if __name__ == "__main__":
    main()
