"""Where batch work runs: Celery workers, or (no broker) an in-process pool.

Both run the same task bodies (``tasks.py``). In embedded mode a small thread
pool plays the worker: off the request thread, FIFO, priorities honoured by the
dispatch order only (see ``services.dispatch``).
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import connections

log = logging.getLogger(__name__)

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()
# Tasks submitted or waiting on a countdown in this process (embedded mode).
_busy = 0
_idle = threading.Condition()


def _track(delta: int) -> None:
    global _busy
    with _idle:
        _busy += delta
        if _busy == 0:
            _idle.notify_all()


def wait_idle(timeout: float = 30.0) -> bool:
    """Embedded mode: block until no task is queued or running (tests, shutdown)."""
    with _idle:
        return _idle.wait_for(lambda: _busy == 0, timeout=timeout)


def uses_celery() -> bool:
    return bool(settings.CELERY_BROKER_URL)


def broker_priority(priority: int) -> int:
    # Kombu's Redis transport drains priority step 0 first; ours says 9 is urgent.
    return 9 - max(0, min(9, priority))


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=int(settings.CADML_BATCH_EMBEDDED_WORKERS),
                thread_name_prefix="cadml-batch",
            )
        return _executor


def _run_inline(fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        fn(*args)
    except Exception:
        log.exception("embedded batch task %s%r failed", fn.__name__, args)
    finally:
        # Threads of the pool outlive requests; never leave a connection open.
        connections.close_all()
        _track(-1)


def enqueue(
    task: Any, args: tuple[Any, ...], *, priority: int = 5, countdown: float = 0
) -> None:
    """Run Celery ``task`` with ``args`` on a worker, or in-process without one."""
    if uses_celery():
        task.apply_async(
            args=args, priority=broker_priority(priority), countdown=countdown or None
        )
        return
    fn = task.run if hasattr(task, "run") else task
    _track(+1)
    # Run in a copy of the caller's context so in-process items stay in the
    # request's trace (and keep its request id), as Celery headers do for workers.
    context = contextvars.copy_context()
    if countdown:
        timer = threading.Timer(
            countdown, lambda: _pool().submit(context.run, _run_inline, fn, args)
        )
        timer.daemon = True
        timer.start()
    else:
        _pool().submit(context.run, _run_inline, fn, args)
