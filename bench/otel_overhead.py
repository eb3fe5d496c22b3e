"""Tracing overhead: requests/s with OpenTelemetry on (100 % sampling, OTLP/HTTP
to a local sink this script runs) vs off, on two daphne processes over the same
database, in one run. Two endpoints: a cheap one (``GET /api/v1/me``: auth and a
database read) and the analyze endpoint (``POST /api/v1/drawings/<id>/analyze``:
a full CAD analysis). Rounds interleave off/on so drift hits both alike.

Prints one JSON line. Target: ratio (on/off) >= 0.85 for both.

    .venv/bin/python bench/otel_overhead.py [seconds-per-round]
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench.common import bench_env, load, make_tenant  # noqa: E402
from tests.observability.otlp_sink import running_sink  # noqa: E402
from tests.servers import running_daphne  # noqa: E402


def upload_drawing(port: int, key: str) -> int:
    from apps.cad.synth import PART_CLASSES, generate_part

    content = generate_part(PART_CLASSES[0], random.Random(5))
    response = httpx.post(
        f"http://127.0.0.1:{port}/api/v1/drawings",
        files={"file": ("bench-part.dxf", content)},
        data={"analyze": "false"},
        headers={"Authorization": f"Api-Key {key}"},
        timeout=60,
    )
    response.raise_for_status()
    return int(response.json()["id"])


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    env_off = bench_env(OTEL_TRACES_EXPORTER="none")
    key = make_tenant(env_off)
    auth = {"Authorization": f"Api-Key {key}"}
    with running_sink(decode=False) as sink:
        env_on = dict(
            env_off,
            OTEL_TRACES_EXPORTER="otlp",
            OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
            OTEL_EXPORTER_OTLP_ENDPOINT=sink.endpoint,
            OTEL_TRACES_SAMPLER="always_on",
        )
        with running_daphne(env_off) as off, running_daphne(env_on) as on:
            drawing = upload_drawing(off.port, key)
            endpoints = {
                "me": ("GET", "/api/v1/me", 8),
                "analyze": ("POST", f"/api/v1/drawings/{drawing}/analyze", 4),
            }
            figures: dict[str, dict[str, float]] = {}
            errors = 0
            for name, (method, path, clients) in endpoints.items():
                for server in (off, on):  # warm up imports, pools, caches
                    load(path, server.port, headers=auth, method=method, seconds=1)
                rounds = []
                for _ in range(2):
                    pair = []
                    for server in (off, on):
                        result = load(
                            path,
                            server.port,
                            headers=auth,
                            method=method,
                            seconds=seconds,
                            concurrency=clients,
                        )
                        errors += result.errors
                        pair.append(result.rps)
                    rounds.append(pair)
                rps_off = sum(r[0] for r in rounds) / len(rounds)
                rps_on = sum(r[1] for r in rounds) / len(rounds)
                figures[name] = {
                    "off_rps": round(rps_off, 1),
                    "on_rps": round(rps_on, 1),
                    "ratio": round(rps_on / rps_off, 3) if rps_off else 0.0,
                }
    print(
        json.dumps(
            {
                "bench": "otel_overhead",
                "cheap_get_me": figures["me"],
                "analyze": figures["analyze"],
                "target_ratio": 0.85,
                "sampling": 1.0,
                "exporter": "otlp http/protobuf, BatchSpanProcessor, local sink",
                "spans_batches_received": sink.requests,
                "otlp_bytes_received": sink.bytes,
                "errors": errors,
                "database": env_off["DATABASE_URL"].split(":", 1)[0],
            }
        )
    )


if __name__ == "__main__":
    main()
