"""Shared pieces of the benchmarks: a throw-away database, a tenant with a key,
daphne processes, and a small keep-alive HTTP load generator.

The load generator is raw asyncio on keep-alive connections rather than an HTTP
client library, so that the client costs as little CPU as possible on a 2-core
machine where it shares the cores with the server under test.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))


def best_of(runs: int, fn: Callable[[], object]) -> float:
    """The fastest of ``runs`` calls of ``fn``, in seconds."""
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def p50(values: list[float]) -> float:
    """The median of ``values`` (latencies in ms), to the microsecond."""
    return round(statistics.median(values), 3)


def bench_env(**extra: str) -> dict[str, str]:
    """Environment for bench processes: the caller's services if configured,
    else a fresh SQLite file."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    if not env.get("DATABASE_URL"):
        path = Path(tempfile.mkdtemp(prefix="cadml-bench-")) / "bench.sqlite3"
        env["DATABASE_URL"] = f"sqlite:///{path}"
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def make_tenant(env: dict[str, str], slug: str | None = None) -> str:
    """Migrate and create a tenant; returns its API key."""
    manage(env, "migrate", "--noinput", "-v", "0")
    slug = slug or f"bench-{int(time.time() * 1000) % 10**9}"
    out = manage(
        env,
        "createtenant",
        slug,
        "--plan",
        "internal",
        "--owner",
        f"{slug}-owner",
        "--json",
    )
    return json.loads(out)["api_key"]


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else 0.0


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response off a keep-alive connection; its status."""
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    length = 0
    chunked = False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
        elif name.lower() == "transfer-encoding" and "chunked" in value:
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readline()).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def _worker(
    host: str, port: int, request: bytes, deadline: float, result: LoadResult
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request)
            await writer.drain()
            status = await read_response(reader)
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            result.requests += 1
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status >= 400:
                result.errors += 1
    finally:
        writer.close()


def load(
    url_path: str,
    port: int,
    *,
    headers: dict[str, str] | None = None,
    seconds: float = 5.0,
    concurrency: int = 8,
    method: str = "GET",
    body: bytes = b"",
    host: str = "127.0.0.1",
) -> LoadResult:
    lines = [
        f"{method} {url_path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Connection: keep-alive",
    ]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body:
        lines.append(f"Content-Length: {len(body)}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    result = LoadResult()

    async def run() -> None:
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()
        await asyncio.gather(
            *(
                _worker(host, port, request, deadline, result)
                for _ in range(concurrency)
            )
        )
        result.seconds = time.perf_counter() - started

    asyncio.run(run())
    return result
