"""Per-worker isolation under pytest-xdist (``-n 2``), loaded with ``-p`` from
setup.cfg so it runs before pytest-django reads the settings.

Each xdist worker gets its own test database from pytest-django (``test_<name>_gw0``).
Redis is shared, so the worker moves REDIS_URL and CELERY_BROKER_URL to databases
of their own: realtime tests clear their Redis keys, and a Celery worker started
by one test must not take the other worker's tasks (it would run them against the
wrong test database). Server processes the tests start inherit these variables.
MEDIA_ROOT gets a folder per worker too. Without xdist nothing changes.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile

import pytest

# Redis has 16 databases; each worker takes two above the configured ones.
_REDIS_DATABASES = 16
_DB_SUFFIX = re.compile(r"/(\d*)$")
_media_root: list[str] = []  # folders this worker made, removed at the end


def worker_number() -> int | None:
    """0 for gw0, 1 for gw1...; None outside xdist."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker[2:]) if worker.startswith("gw") else None


def moved_redis_url(url: str, offset: int) -> str:
    """``url`` on the database ``offset`` above its own (0 when it names none)."""
    base, _, query = url.partition("?")
    found = _DB_SUFFIX.search(base.split("://", 1)[-1])
    db = int(found.group(1)) if found and found.group(1) else 0
    moved = db + offset
    if moved >= _REDIS_DATABASES:
        raise pytest.UsageError(
            f"too many xdist workers for Redis's {_REDIS_DATABASES} databases "
            f"({url.split('@')[-1]} would need database {moved}): use fewer with -n"
        )
    if found:
        base = base[: len(base) - len(found.group(0))]
    return f"{base.rstrip('/')}/{moved}" + (f"?{query}" if query else "")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests() -> None:
    number = worker_number()
    if number is None:
        return
    offset = 2 * (number + 1)
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        url = os.environ.get(name, "")
        if url.startswith(("redis://", "rediss://")):
            os.environ[name] = moved_redis_url(url, offset)
    if "MEDIA_ROOT" not in os.environ:
        folder = tempfile.mkdtemp(prefix=f"cadml-media-gw{number}-")
        _media_root.append(folder)
        os.environ["MEDIA_ROOT"] = folder


def pytest_unconfigure() -> None:
    for folder in _media_root:
        shutil.rmtree(folder, ignore_errors=True)
