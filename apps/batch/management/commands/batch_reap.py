from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.batch import runner
from apps.batch.reaper import items_reap


class Command(BaseCommand):
    help = (
        "Requeue batch items whose worker or broker message was lost and end "
        "jobs whose items all ended (what the beat task batch.reap does). With "
        "--every, repeat until stopped: the beat of embedded mode (manage.py "
        "serve starts it when no broker is configured)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--every",
            type=float,
            metavar="SECONDS",
            help="run again every SECONDS until SIGTERM or Ctrl-C",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        every = options["every"]
        stop = threading.Event()
        if every:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
        while True:
            outcome = items_reap()
            if not every or any(outcome.values()):
                self.stdout.write(
                    f"requeued {outcome['requeued']}, failed {outcome['failed']}, "
                    f"ended {outcome['ended']} job(s)"
                )
                self.stdout.flush()
            if not every or stop.wait(every):
                break
        # Without a broker, requeued items run in this process: let them finish.
        runner.wait_idle(timeout=120)
