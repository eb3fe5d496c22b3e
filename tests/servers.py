"""Real server processes for integration tests and benchmarks.

``running_daphne()`` starts ``daphne cadml.asgi:application`` on a free loopback
port with the given environment and waits until ``/healthz`` answers.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Start-up deadlines only keep a broken run from hanging: on a loaded machine
# (two cores, xdist workers, other jobs) importing Django alone can take a minute.
STARTUP_TIMEOUT_S = 180.0


def wait_for_http(url: str, timeout: float = STARTUP_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310
                if response.status < 500:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout}s")
        time.sleep(0.1)


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def stop(self, sig: int = 15) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The current environment (DATABASE_URL, REDIS_URL...) plus ``extra``.

    Under pytest the test database is not the one in DATABASE_URL: pass the
    test database's URL in ``extra`` (see ``test_database_url``).
    """
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(extra or {})
    return env


def test_database_url() -> str:
    """A DATABASE_URL pointing at the database pytest-django created."""
    from django.db import connection

    settings = connection.settings_dict
    if settings["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings['NAME']}"
    user = settings.get("USER") or "postgres"
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{settings['NAME']}"


@contextmanager
def running_daphne(
    env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[Server]:
    """daphne serving the project; ``port``: the one a server stopped earlier
    used (a restart, as a deploy does), else a free one."""
    port = port or free_port()
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "daphne",
            "-v",
            "0",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "cadml.asgi:application",
        ],
        cwd=PROJECT_ROOT,
        env=server_env(env),
    )
    server = Server(process=process, port=port)
    try:
        wait_for_http(f"{server.url}/healthz")
        yield server
    finally:
        server.stop()


test_database_url.__test__ = False  # type: ignore[attr-defined]  # not a test


@contextmanager
def running_celery_worker(
    env: dict[str, str],
    log: Path,
    *,
    pool: str = "prefork",
    concurrency: int = 2,
    extra_args: tuple[str, ...] = (),
    warm_shutdown: bool = False,
) -> Iterator[subprocess.Popen[bytes]]:
    """``celery -A cadml worker`` writing to ``log``, yielded once it is ready.

    The default stop is a cold shutdown (SIGQUIT: quick, nothing left to finish);
    ``warm_shutdown`` sends SIGTERM instead, so the worker flushes what it holds
    (spans, metrics) before it exits.
    """
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
                "--hostname",
                f"test-{uuid.uuid4().hex[:8]}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "INFO",
                *extra_args,
            ],
            cwd=PROJECT_ROOT,
            env=server_env(env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while b"ready." not in log.read_bytes():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker did not start:\n{log.read_text()}")
                time.sleep(0.1)
            yield process
        finally:
            process.send_signal(signal.SIGTERM if warm_shutdown else signal.SIGQUIT)
            try:
                process.wait(timeout=5 if warm_shutdown else 10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
