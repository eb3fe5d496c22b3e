from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.batch.services import items_reap


class Command(BaseCommand):
    help = (
        "Requeue batch items whose worker or broker message was lost and end "
        "jobs whose items all ended (what the beat task batch.reap does)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        outcome = items_reap()
        self.stdout.write(
            f"requeued {outcome['requeued']}, failed {outcome['failed']}, "
            f"ended {outcome['ended']} job(s)"
        )
