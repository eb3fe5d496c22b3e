"""Isolation pool: parsing and extraction run in worker processes, not the web one.

Why pebble: its ``ProcessPool`` kills a task's worker on timeout and starts a new
one, and reports a worker that died (OOM killer, segfault in a C extension) as
``ProcessExpired`` instead of hanging, which ``concurrent.futures`` does not do
(a dead worker breaks the whole ``ProcessPoolExecutor``). We add the memory cap
(RLIMIT_AS in each worker) and translate both limits into a 422.

Workers are started through a forkserver that has already imported the pipeline,
so a replacement worker costs a fork, not an interpreter start; the pool itself
is created on first use and reused by every caller in the process.

Admission: a caller that names a tenant is let in only while that tenant has
fewer than its limit of files waiting or running in this process's pool; past
it, ``AnalysisCapacityExceeded`` (429) at once. So one tenant's burst waits in
nobody's queue but its own client's: the pool's FIFO queue holds at most the
limit per tenant ahead of anyone. The count is per process, like the pool.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import resource
import threading
from collections.abc import Hashable, Iterator
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pebble import ProcessExpired, ProcessPool

from apps.cad.errors import AnalysisCapacityExceeded, ResourceLimitExceeded

if TYPE_CHECKING:
    from apps.cad.formats import Format

_EXIT_MEMORY = 86  # exit status of a worker that hit RLIMIT_AS
_lock = threading.Lock()
# One pool per family of formats (``Format.pool``), each with its key.
_pools: dict[str, tuple[ProcessPool, tuple[int, int, int]]] = {}
# Files of each tenant waiting or running in this process's pool.
_admitted: dict[Hashable, int] = {}
_admission_lock = threading.Lock()


# Loaded by a family's workers before the cap is set, which then counts above
# them: OpenCascade maps about 900 MB of libraries, the program's and not the
# file's, and would otherwise leave a STEP file a sliver of a 1 GB cap.
_PRELOAD = {"brep": ("OCP.STEPCAFControl", "OCP.IGESControl", "OCP.HLRBRep")}


def _mapped_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * resource.getpagesize()


def _limit_memory(memory_mb: int, family: str = "cad") -> None:
    # BLAS thread pools reserve address space per thread; one thread is plenty
    # for the small matrices we build and keeps RLIMIT_AS meaningful.
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    limit = memory_mb * 1024 * 1024
    if _PRELOAD.get(family):
        for module in _PRELOAD[family]:
            importlib.import_module(module)
        limit += _mapped_bytes()
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _run(
    task: str, name: str, content: bytes, preview: bool, memory_mb: int, fmt: Format
) -> dict[str, Any]:
    from apps.cad.pipeline import analyze_bytes, render_preview

    try:
        if task == "preview":
            return render_preview(name, content, fmt=fmt)
        return analyze_bytes(name, content, preview=preview, fmt=fmt)
    except (MemoryError, SystemError):
        # A worker that ran out of address space may hold fragmented memory or
        # half-built C state: let it die (pebble starts a fresh one) and have
        # the parent report the memory limit. C code whose allocation fails
        # under RLIMIT_AS without setting MemoryError surfaces as SystemError
        # ("error return without exception set"); nothing else in the pipeline
        # raises it.
        os._exit(_EXIT_MEMORY)
    except RecursionError:
        raise ResourceLimitExceeded(
            "The file nests deeper than the analysis recursion limit."
        ) from None


def _get_pool(workers: int, memory_mb: int, family: str = "cad") -> ProcessPool:
    key = (os.getpid(), workers, memory_mb)
    with _lock:
        pool, pool_key = _pools.get(family, (None, None))
        if pool is not None and pool_key == key and pool.active:
            return pool
        if pool is not None and pool_key is not None and pool_key[0] == os.getpid():
            pool.stop()
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["apps.cad.pipeline", "trimesh", "numpy"])
        pool = ProcessPool(
            max_workers=workers,
            initializer=_limit_memory,
            initargs=(memory_mb, family),
            context=ctx,
        )
        _pools[family] = (pool, key)
        return pool


@contextmanager
def _admitted_for(
    tenant: Hashable | None, limit: int, retry_after_s: int
) -> Iterator[None]:
    if tenant is None:
        yield
        return
    with _admission_lock:
        held = _admitted.get(tenant, 0)
        if held >= limit:
            raise AnalysisCapacityExceeded(
                f"{held} of your files are already being analysed or waiting "
                f"(your plan allows {limit} at once); retry in {retry_after_s} s.",
                retry_after=retry_after_s,
            )
        _admitted[tenant] = held + 1
    try:
        yield
    finally:
        with _admission_lock:
            left = _admitted[tenant] - 1
            if left:
                _admitted[tenant] = left
            else:
                del _admitted[tenant]


def admitted(tenant: Hashable) -> int:
    """Files of ``tenant`` waiting or running in this process's pool."""
    with _admission_lock:
        return _admitted.get(tenant, 0)


def analyze_isolated(
    name: str,
    content: bytes,
    *,
    fmt: Format,
    preview: bool = True,
    timeout_s: float = 20,
    memory_mb: int = 1024,
    workers: int = 2,
    task: str = "analyze",
    tenant: Hashable | None = None,
    tenant_limit: int = 1,
    retry_after_s: int = 1,
) -> dict[str, Any]:
    """Run ``pipeline.analyze_bytes`` (or, with ``task="preview"``,
    ``pipeline.render_preview``) in a worker of ``fmt``'s pool on a file of
    that format (already detected: the worker does not detect it again);
    limits become a 422.

    With ``tenant``, at most ``tenant_limit`` of its files wait or run at once
    (the module docstring); one more is refused with a 429.
    """
    with _admitted_for(tenant, tenant_limit, retry_after_s):
        return _run_isolated(
            name, content, fmt, preview, timeout_s, memory_mb, workers, task
        )


def _run_isolated(
    name: str,
    content: bytes,
    fmt: Format,
    preview: bool,
    timeout_s: float,
    memory_mb: int,
    workers: int,
    task: str,
) -> dict[str, Any]:
    pool = _get_pool(workers, memory_mb, fmt.pool)
    future = pool.schedule(
        _run, args=(task, name, content, preview, memory_mb, fmt), timeout=timeout_s
    )
    try:
        return future.result()
    except FutureTimeout:
        raise ResourceLimitExceeded(
            f"Analysis took longer than the {timeout_s:g} s time limit and was stopped."
        ) from None
    except ProcessExpired as exc:
        if exc.exitcode == _EXIT_MEMORY:
            raise ResourceLimitExceeded(
                f"The file needs more than the {memory_mb} MB memory limit for "
                "analysis."
            ) from None
        # Past RLIMIT_AS, C code that cannot raise MemoryError aborts the worker.
        raise ResourceLimitExceeded(
            "The analysis worker died (exit code "
            f"{exc.exitcode}), most likely at the {memory_mb} MB memory limit."
        ) from None


def shutdown() -> None:
    with _lock:
        for pool, _ in _pools.values():
            pool.stop()
            pool.join()
        _pools.clear()
