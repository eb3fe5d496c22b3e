from __future__ import annotations

from django.apps import AppConfig

from cadml.lib.history import ModelHistory


class BatchConfig(AppConfig):
    name = "apps.batch"
    label = "batch"
    verbose_name = "Batch jobs"
    # Change history (django-auditlog, through the audit app where installed).
    # Progress counters move with every item; the job's lifecycle is what
    # matters here (batch.* events record the rest).
    model_history = (
        ModelHistory(
            model="BatchJob",
            tenant_field="tenant",
            exclude_fields=(
                "done",
                "failed",
                "skipped",
                "last_progress_at",
                "request_hash",
                "idempotency_key",
            ),
        ),
    )

    def ready(self) -> None:
        from apps.batch import (
            checks,  # noqa: F401  (registers the system checks)
            receivers,
        )
        from apps.cad.signals import analyses_waiting

        analyses_waiting.connect(
            receivers.analyses_waiting, dispatch_uid="batch.analyses_waiting"
        )
