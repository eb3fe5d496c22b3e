"""The same 100 synthetic drawings analysed three ways, in one run:

- gRPC ``AnalysisService/Analyze`` on ``manage.py rungrpc``, 4 concurrent clients;
- REST ``POST /api/v1/drawings`` on daphne, 4 concurrent clients;
- in-process: the CAD core's ``content_analyze`` (the same isolation pool the
  servers use) from 4 threads, with no transport, database or storage.

Prints one JSON line with files/s for each and the ratios (targets: gRPC/REST
>= 1.1, gRPC/in-process >= 0.85). REST and gRPC use separate tenants, so neither
sees the other's drawings as already analysed.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PROJECT_ROOT, bench_env, make_tenant  # noqa: E402
from tests.servers import running_daphne  # noqa: E402

N = int(os.environ.get("BENCH_FILES", "100"))
CONCURRENCY = 4


def make_files(seed: int) -> list[tuple[str, bytes]]:
    from apps.cad.synth import PART_CLASSES, generate_part

    rng = random.Random(seed)
    return [
        (f"part-{i}.dxf", generate_part(PART_CLASSES[i % len(PART_CLASSES)], rng))
        for i in range(N)
    ]


def rest_rate(port: int, key: str, files: list[tuple[str, bytes]]) -> float:
    import httpx

    def one(client: httpx.Client, item: tuple[str, bytes]) -> None:
        response = client.post(
            f"http://127.0.0.1:{port}/api/v1/drawings",
            files={"file": (item[0], item[1], "application/dxf")},
            headers={"Authorization": f"Api-Key {key}"},
            timeout=120,
        )
        response.raise_for_status()

    clients = [httpx.Client() for _ in range(CONCURRENCY)]
    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(
            pool.map(
                lambda ix: one(clients[ix[0] % CONCURRENCY], ix[1]), enumerate(files)
            )
        )
    elapsed = time.perf_counter() - started
    for client in clients:
        client.close()
    return len(files) / elapsed


def grpc_rate(port: int, key: str, files: list[tuple[str, bytes]]) -> float:
    import grpc

    from apps.grpcapi.gen.cadml.v1 import analysis_pb2, analysis_pb2_grpc

    async def run() -> float:
        queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        for item in files:
            queue.put_nowait(item)
        metadata = (("authorization", f"Api-Key {key}"),)

        async def client() -> None:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = analysis_pb2_grpc.AnalysisServiceStub(channel)
                while not queue.empty():
                    name, content = queue.get_nowait()
                    await stub.Analyze(
                        analysis_pb2.AnalyzeRequest(filename=name, content=content),
                        metadata=metadata,
                        timeout=120,
                    )

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
        return len(files) / (time.perf_counter() - started)

    return asyncio.run(run())


def in_process_rate(files: list[tuple[str, bytes]]) -> float:
    from apps.cad.services import content_analyze

    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(lambda f: content_analyze(name=f[0], content=f[1]), files))
    return len(files) / (time.perf_counter() - started)


def main() -> None:
    env = bench_env()
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadml.settings")
    import django

    django.setup()
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    rest_key = make_tenant(env, "bench-rest")
    grpc_key = make_tenant(env, "bench-grpc")
    files = make_files(seed=7)
    warm = make_files(seed=8)[:CONCURRENCY]

    grpc_proc = subprocess.Popen(
        [sys.executable, "manage.py", "rungrpc", "--bind", "127.0.0.1:0"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(re.search(r":(\d+) ", grpc_proc.stdout.readline()).group(1))
        grpc_rate(port, grpc_key, warm)
        grpc_fps = grpc_rate(port, grpc_key, files)
    finally:
        grpc_proc.terminate()
        grpc_proc.wait(timeout=60)

    with running_daphne(env) as server:
        rest_rate(server.port, rest_key, warm)
        rest_fps = rest_rate(server.port, rest_key, files)

    in_process_rate(warm)
    local_fps = in_process_rate(files)
    print(
        json.dumps(
            {
                "bench": "grpc_vs_rest",
                "files": len(files),
                "concurrency": CONCURRENCY,
                "grpc_files_per_s": round(grpc_fps, 2),
                "rest_files_per_s": round(rest_fps, 2),
                "in_process_files_per_s": round(local_fps, 2),
                "grpc_over_rest": round(grpc_fps / rest_fps, 3),
                "grpc_over_in_process": round(grpc_fps / local_fps, 3),
                "targets": {"grpc_over_rest": 1.1, "grpc_over_in_process": 0.85},
                "database": env["DATABASE_URL"].split(":", 1)[0],
            }
        )
    )


if __name__ == "__main__":
    main()
