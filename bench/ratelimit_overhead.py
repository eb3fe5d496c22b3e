"""Rate-limiter overhead, in one run:

1. requests/s of GET /api/v1/me (API key) on daphne with the limiter on (Redis)
   vs the same daphne set-up with the limiter off (target ratio >= 0.9);
2. Redis round trips per request: the limiter gets a redis-server of its own,
   started here, so every command it receives is the limiter's;
3. limiter decisions/s alone (all windows of a pro-plan request: key, tenant, ip,
   global) vs a bare Redis INCR loop on the same connection pool.

With ``--cluster`` the limiter runs on a local three-master Redis Cluster
(tests/redis_cluster.py) instead, and round trips are summed over its masters.

Prints one JSON line. Usage: python bench/ratelimit_overhead.py [seconds] [--cluster]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_env, load, make_tenant  # noqa: E402
from tests.servers import free_port, running_daphne  # noqa: E402


def start_redis(port: int) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed")
    process = subprocess.Popen(  # noqa: S603
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            return process
        except redis.ConnectionError:
            time.sleep(0.05)
    sys.exit("redis-server did not start")


# Commands the limiter's Lua script runs inside Redis: commandstats counts them
# too, but they are not round trips.
SCRIPT_COMMANDS = {"get", "pttl", "rename", "set", "incrby", "exists", "info"}


# A cluster client's own bookkeeping (slot map, node discovery), not decisions.
CLUSTER_COMMANDS = {"cluster", "command", "ping", "readonly", "client"}


def client_commands(*ports: int) -> int:
    """Commands clients sent to the limiter's Redis (i.e. round trips)."""
    import redis

    total = 0
    for port in ports:
        client = redis.Redis(port=port)
        stats = client.info("commandstats")
        client.close()
        total += sum(
            v["calls"]
            for k, v in stats.items()
            if k.removeprefix("cmdstat_").split("|")[0]
            not in SCRIPT_COMMANDS | CLUSTER_COMMANDS
        )
    return total


def decisions_vs_incr(storage_url: str, seconds: float) -> dict[str, float]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadml.settings")
    os.environ["CADML_RATELIMIT_STORAGE_URL"] = storage_url
    import django

    django.setup()
    from apps.ratelimit.engine import get_limiter
    from apps.ratelimit.services import ratelimit_check

    connection = get_limiter().redis.storage.get_connection()
    ratelimit_check(plan="pro", ip="198.51.100.1", key="k1", tenant="t1")
    windows = len(
        ratelimit_check(plan="pro", ip="198.51.100.1", key="k1", tenant="t1").states
    )

    def rate(fn) -> float:  # type: ignore[no-untyped-def]
        n, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            for _ in range(100):
                fn()
            n += 100
        return n / (time.perf_counter() - started)

    decisions = rate(
        lambda: ratelimit_check(
            plan="pro", ip="198.51.100.1", key="k1", tenant="t1", cost=0
        )
    )
    incrs = rate(lambda: connection.incr("bench:incr"))
    return {"decisions_per_s": decisions, "incr_per_s": incrs, "windows": windows}


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    seconds = float(args[0]) if args else 5.0
    with ExitStack() as stack:
        if "--cluster" in sys.argv[1:]:
            from tests.redis_cluster import running_cluster

            cluster = stack.enter_context(running_cluster(replicas=0))
            ports, storage_url = cluster.ports, cluster.url
        else:
            port = free_port()
            redis_server = start_redis(port)
            stack.callback(redis_server.wait)
            stack.callback(redis_server.terminate)
            ports, storage_url = [port], f"redis://127.0.0.1:{port}/0"
        run(seconds, ports, storage_url)


def run(seconds: float, ports: list[int], storage_url: str) -> None:
    env = bench_env(DJANGO_SETTINGS_MODULE="bench.benchsite.settings")
    env.setdefault("REDIS_URL", "")
    key = make_tenant(env)
    auth = {"Authorization": f"Api-Key {key}"}
    on_env = {**env, "CADML_RATELIMIT_STORAGE_URL": storage_url}
    off_env = {**env, "CADML_RATELIMIT_ENABLED": "0"}
    with running_daphne(on_env) as on, running_daphne(off_env) as off:
        load("/api/v1/me", on.port, headers=auth, seconds=1)  # warm up
        load("/api/v1/me", off.port, headers=auth, seconds=1)
        rounds = []
        commands = requests = 0
        for _ in range(2):  # interleave so drift hits both sides alike
            before = client_commands(*ports)
            limited = load("/api/v1/me", on.port, headers=auth, seconds=seconds)
            commands += client_commands(*ports) - before
            requests += limited.requests
            rounds.append(
                (
                    limited,
                    load("/api/v1/me", off.port, headers=auth, seconds=seconds),
                )
            )
    engine = decisions_vs_incr(storage_url, min(seconds, 3.0))
    with_limiter = sum(r[0].rps for r in rounds) / len(rounds)
    without = sum(r[1].rps for r in rounds) / len(rounds)
    print(
        json.dumps(
            {
                "bench": "ratelimit_overhead",
                "limiter_on_rps": round(with_limiter, 1),
                "limiter_off_rps": round(without, 1),
                "ratio": round(with_limiter / without, 3),
                "target_ratio": 0.9,
                "redis_round_trips_per_request": round(commands / max(requests, 1), 3),
                "windows_per_request": engine["windows"],
                "limiter_decisions_per_s": round(engine["decisions_per_s"], 1),
                "bare_incr_per_s": round(engine["incr_per_s"], 1),
                "decisions_vs_incr_ratio": round(
                    engine["decisions_per_s"] / engine["incr_per_s"], 3
                ),
                "errors": sum(r[0].errors + r[1].errors for r in rounds),
                "p50_ms_on": round(sum(r[0].p50 for r in rounds) / len(rounds), 2),
                "p50_ms_off": round(sum(r[1].p50 for r in rounds) / len(rounds), 2),
                "database": env["DATABASE_URL"].split(":", 1)[0],
                "redis": "cluster"
                if storage_url.startswith("redis+cluster")
                else "single",
            }
        )
    )


if __name__ == "__main__":
    main()
