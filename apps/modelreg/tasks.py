from __future__ import annotations

from celery import shared_task
from django.conf import settings


@shared_task(name="modelreg.activation_health_check", ignore_result=True)
def activation_health_check(event_id: int) -> None:
    """Health-check a pending activation and apply or refuse it."""
    from apps.modelreg.services.deployments import activation_complete

    activation_complete(event_id=event_id)


@shared_task(
    name="modelreg.train_run",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    time_limit=settings.CADML_TRAIN_TIME_LIMIT_S,
)
def model_train_run(job_id: int) -> None:
    """Train a tenant's model from its labels (``apps.modelreg.learning``).

    acks_late + reject_on_worker_lost: a worker killed mid-training hands the
    message back and the job runs again; it resumes after its last commit.
    """
    from apps.modelreg.learning import training_run

    training_run(job_id=job_id)
