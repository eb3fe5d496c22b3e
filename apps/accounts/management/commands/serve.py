"""Run the whole platform in the foreground: daphne, plus Celery worker and beat
when a broker is configured or the batch reaper loop when not, and the gRPC server
(``CADML_SERVE_EXTRA``). Ctrl-C or
SIGTERM stops every child and waits for it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


def platform_processes(host: str, port: int) -> dict[str, list[str]]:
    python = sys.executable
    processes = {
        "web": [
            python,
            "-m",
            "daphne",
            "-b",
            host,
            "-p",
            str(port),
            "cadml.asgi:application",
        ],
    }
    if settings.CELERY_BROKER_URL:
        processes["worker"] = [
            python,
            "-m",
            "celery",
            "-A",
            "cadml",
            "worker",
            "--loglevel",
            "INFO",
        ]
        processes["beat"] = [
            python,
            "-m",
            "celery",
            "-A",
            "cadml",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(settings.BASE_DIR / ".celerybeat-schedule"),
        ]
    else:
        # Embedded mode's beat: lost batch items requeued, finished jobs ended.
        processes["reaper"] = [
            python,
            "manage.py",
            "batch_reap",
            "--every",
            str(settings.CADML_BATCH_REAP_EVERY_S),
        ]
    for name, argv in settings.CADML_SERVE_EXTRA.items():
        processes[name] = [python if part == "{python}" else part for part in argv]
    return processes


class Command(BaseCommand):
    help = (
        "Serve HTTP and WebSocket (daphne) and, with a broker, Celery worker and beat."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument(
            "--port", type=int, default=int(os.environ.get("PORT", "8000"))
        )

    def handle(self, *args: Any, **options: Any) -> None:
        children: dict[str, subprocess.Popen[bytes]] = {}
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        for name, argv in platform_processes(options["host"], options["port"]).items():
            self.stdout.write(f"starting {name}: {' '.join(argv[1:])}")
            children[name] = subprocess.Popen(argv, cwd=settings.BASE_DIR)  # noqa: S603
        self.stdout.write(
            f"cadml serving on http://{options['host']}:{options['port']}/ "
            "(Ctrl-C to stop)"
        )
        self.stdout.flush()
        exit_code = 0
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    self.stderr.write(
                        f"{name} exited with {child.returncode}; stopping"
                    )
                    exit_code = child.returncode or 1
                    stopping = True
            time.sleep(0.3)
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for child in children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self.stdout.write("stopped")
        if exit_code:
            sys.exit(exit_code)
