from __future__ import annotations

from celery import shared_task


@shared_task(name="modelreg.activation_health_check", ignore_result=True)
def activation_health_check(event_id: int) -> None:
    """Health-check a pending activation and apply or refuse it."""
    from apps.modelreg.services import activation_complete

    activation_complete(event_id=event_id)
