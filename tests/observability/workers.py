"""A real Celery worker process for integration tests."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.servers import PROJECT_ROOT, server_env


@contextmanager
def running_worker(
    env: dict[str, str], log: Path, *, pool: str = "prefork", concurrency: int = 1
) -> Iterator[subprocess.Popen]:  # type: ignore[type-arg]
    """``celery -A cadml worker``; prefork configures tracing in each pool process
    (``worker_process_init``), solo and threads in the main one (``worker_init``)."""
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "cadml",
                "worker",
                "--pool",
                pool,
                "--concurrency",
                str(concurrency),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "INFO",
            ],
            cwd=PROJECT_ROOT,
            env=server_env(env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while b"ready." not in log.read_bytes():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker did not start:\n{log.read_text()}")
                time.sleep(0.1)
            yield process
        finally:
            # Warm shutdown; spans the test needs have arrived by now, so a
            # shutdown that hangs is cut short.
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
