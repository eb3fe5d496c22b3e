"""Zero-downtime model updates: two daphne processes on one database and Redis,
a constant stream of analyze requests to both, while the tenant's classifier is
switched between two versions 5 times each way (activate, then roll back).

Prints one JSON line: total requests, non-2xx (must be 0), p50/p99 latency in
steady state and during swaps (the window from an activation request until
both processes serve the new version, plus 0.5 s) and their ratio (target
<= 2), and per swap the seconds until every process served the new version
(target <= 2; activation includes its health check).

Needs REDIS_URL (the pub/sub reload notice); DATABASE_URL optional (else a
throw-away SQLite file, which both processes share).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PROJECT_ROOT, bench_env, make_tenant  # noqa: E402
from tests.servers import running_daphne  # noqa: E402

CONCURRENCY_PER_SERVER = 2
CYCLES = 5


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def train(env: dict[str, str], tenant: str, seed: int) -> None:
    subprocess.run(
        [
            sys.executable, "manage.py", "train_classifier", "--synthetic", "6",
            "--seed", str(seed), "--tenant", tenant, "--register", "--json",
            "--estimator", "logistic_regression", "--workers", "2",
        ],
        cwd=PROJECT_ROOT, env=env, check=True, capture_output=True,
    )  # fmt: skip


async def run(urls: list[str], key: str) -> dict[str, object]:
    headers = {"Authorization": f"Api-Key {key}"}
    records: list[tuple[float, float, int, str, str | None]] = []
    stop = asyncio.Event()
    async with httpx.AsyncClient(headers=headers, timeout=30) as http:
        from apps.cad.synth import generate_part

        part = generate_part("flange", random.Random(3))
        r = await http.post(
            f"{urls[0]}/api/v1/drawings", files={"file": ("p.dxf", part)}
        )
        r.raise_for_status()
        drawing = r.json()["id"]

        async def activate(version: int) -> None:
            r = await http.post(
                f"{urls[0]}/api/v1/models/part-classifier/activate",
                json={"version": version},
            )
            assert r.status_code == 202, r.text

        await activate(1)

        async def stream(url: str) -> None:
            while not stop.is_set():
                t0 = time.perf_counter()
                try:
                    r = await http.post(f"{url}/api/v1/drawings/{drawing}/analyze")
                    status = r.status_code
                    model = (r.json().get("model") or {}) if status < 300 else {}
                    version = model.get("version")
                except httpx.HTTPError:
                    status, version = 599, None
                t1 = time.perf_counter()
                records.append((t0, t1, status, url, version))

        features = r.json()["analysis"]["features"]
        polls: list[tuple[float, float, str, int | None]] = []

        async def poll(url: str) -> None:
            # A light probe of what each process serves, every 50 ms.
            while not stop.is_set():
                t0 = time.perf_counter()
                r = await http.post(
                    f"{url}/api/v1/models/part-classifier/predict",
                    json={"features": features},
                )
                p = r.json().get("prediction") if r.status_code == 200 else None
                polls.append((t0, time.perf_counter(), url, p and p["model_version"]))
                await asyncio.sleep(0.05)

        async def serving(version: int, since: float) -> float:
            """Seconds from ``since`` until every process answered with
            ``version`` (the end of the first such probe: an upper bound)."""
            while True:
                firsts = []
                for url in urls:
                    hits = [
                        t1
                        for t0, t1, u, v in polls
                        if u == url and t0 >= since and v == version
                    ]
                    firsts.append(min(hits) if hits else None)
                if all(f is not None for f in firsts):
                    return max(firsts) - since  # type: ignore[type-var,operator]
                if time.perf_counter() - since > 30:
                    return float("inf")
                await asyncio.sleep(0.02)

        pollers = [asyncio.create_task(poll(url)) for url in urls]
        workers = [
            asyncio.create_task(stream(url))
            for url in urls
            for _ in range(CONCURRENCY_PER_SERVER)
        ]
        await asyncio.sleep(1.0)
        start = time.perf_counter()
        await serving(1, 0.0)
        await asyncio.sleep(3.0)  # steady state
        windows: list[tuple[float, float]] = []
        swaps: list[dict[str, object]] = []
        for _ in range(CYCLES):
            for action, target in (("activate", 2), ("rollback", 1)):
                t = time.perf_counter()
                if action == "activate":
                    await activate(2)
                else:
                    r = await http.post(
                        f"{urls[0]}/api/v1/models/part-classifier/rollback"
                    )
                    assert r.status_code == 200, r.text
                seconds = await serving(target, t)
                swaps.append({"action": action, "seconds": round(seconds, 3)})
                windows.append((t, t + seconds + 0.5))
                await asyncio.sleep(1.5)
        await asyncio.sleep(2.0)
        stop.set()
        await asyncio.gather(*workers, *pollers)
        # When each change took effect (after the activation's health check).
        r = await http.get(f"{urls[0]}/api/v1/models/part-classifier")
        events = [e for e in r.json()["activations"] if e["finished"]]
        events = list(reversed(events[: len(swaps)]))
        wall = time.time() - time.perf_counter()
        for swap, event, (t, _) in zip(swaps, events, windows, strict=False):
            from datetime import datetime

            done = datetime.fromisoformat(event["finished"].replace("Z", "+00:00"))
            effect = done.timestamp() - wall
            swap["health_check_s"] = round(max(effect - t, 0.0), 3)
            swap["after_commit_s"] = round(float(swap["seconds"]) - (effect - t), 3)

    def in_swap(t0: float) -> bool:
        return any(a <= t0 <= b for a, b in windows)

    measured = [r for r in records if r[0] >= start]
    swap_lat = [(t1 - t0) * 1000 for t0, t1, *_ in measured if in_swap(t0)]
    steady_lat = [(t1 - t0) * 1000 for t0, t1, *_ in measured if not in_swap(t0)]
    non2xx = sum(1 for r in records if not 200 <= r[2] < 300)
    worst = max(float(s["seconds"]) for s in swaps)  # type: ignore[arg-type]
    after = [float(s.get("after_commit_s", 0)) for s in swaps]  # type: ignore[arg-type]
    p99_swap, p99_steady = pct(swap_lat, 0.99), pct(steady_lat, 0.99)
    steady = {
        "requests": len(steady_lat),
        "p50_ms": pct(steady_lat, 0.5),
        "p99_ms": p99_steady,
    }
    during = {
        "requests": len(swap_lat),
        "p50_ms": pct(swap_lat, 0.5),
        "p99_ms": p99_swap,
    }
    p99_ratio = round(p99_swap / p99_steady, 2) if p99_steady else None
    return {
        "bench": "hot_reload",
        "processes": len(urls),
        "requests": len(records),
        "non_2xx": non2xx,
        "steady": steady,
        "during_swaps": during,
        "p99_ratio_swap_over_steady": p99_ratio,
        "swaps": len(swaps),
        "seconds_until_all_serve_max": round(worst, 3),
        "seconds_until_all_serve_median": round(
            statistics.median(float(s["seconds"]) for s in swaps),  # type: ignore[arg-type]
            3,
        ),
        "seconds_after_commit_max": round(max(after), 3),
        "seconds_after_commit_median": round(statistics.median(after), 3),
        "swap_detail": swaps,
        "targets_met": {
            "non_2xx==0": non2xx == 0,
            "p99_ratio<=2": p99_ratio is not None and p99_ratio <= 2,
            "propagation<=2s": worst <= 2,
        },
    }


def main() -> None:
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        sys.exit("set REDIS_URL (e.g. redis://127.0.0.1:6379/5)")
    media = tempfile.mkdtemp(prefix="cadml-bench-media-")
    env = bench_env(
        REDIS_URL=redis_url,
        MEDIA_ROOT=media,
        CADML_MODEL_HEALTHCHECK_MODE="thread",
        CADML_RATELIMIT_ENABLED="0",
        CELERY_BROKER_URL="",
        LOG_LEVEL="WARNING",
    )
    tenant = f"reload-{int(time.time() * 1000) % 10**9}"
    key = make_tenant(env, tenant)
    train(env, tenant, seed=0)
    train(env, tenant, seed=1)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadml.settings")
    import django

    django.setup()
    with running_daphne(env) as a, running_daphne(env) as b:
        out = asyncio.run(run([a.url, b.url], key))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
