"""A bench-only Celery task: the analyze service and nothing else.

``bench/batch_throughput.py`` loads it into its worker (``-I``) to measure what
Celery itself costs per task on the same machine, apart from the batch app's
claims, counters and dispatch: the same options as ``batch.item_run``
(``acks_late``, ``reject_on_worker_lost``, no result), the same service call as
the baseline pool.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(
    name="bench.analysis_run",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def analysis_run_task(drawing_id: int) -> None:
    from apps.cad.models import Drawing
    from apps.cad.services import analysis_run

    analysis_run(drawing=Drawing.objects.get(pk=drawing_id))
