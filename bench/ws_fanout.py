"""WebSocket fan-out: many clients on one daphne with channels-redis.

N clients (default 1,000) connect to one daphne process; S of them (default 100)
subscribe to one ``job:`` channel. Another process publishes E events (default
1,000) at R per second (default 200) through ``apps.realtime.services.publish``.
Every event carries the wall-clock time just before ``publish()`` was called;
each subscriber notes when it received it. Baseline, in the same run: the raw
channels-redis round trip, ``group_send`` to one channel and ``receive`` on it,
with no daphne, no WebSocket and no history in between.

Prints one JSON line. Needs Redis (REDIS_URL, default redis://127.0.0.1:6379/0);
uses DATABASE_URL if set, else a throw-away SQLite file.

    .venv/bin/python bench/ws_fanout.py [--clients 1000] [--subscribers 100]
        [--events 1000] [--rate 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PROJECT_ROOT, bench_env, make_tenant, manage  # noqa: E402
from tests.servers import running_daphne  # noqa: E402

SETUP = """
import json
from django.contrib.auth import (
    BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model,
)
from django.contrib.sessions.backends.db import SessionStore
from apps.accounts.models import Tenant
from apps.accounts.services import membership_create
tenant = Tenant.objects.get(slug=SLUG)
user = get_user_model().objects.create_user(username=SLUG + "-ws")
membership_create(tenant=tenant, user=user, role="member")
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
channel = "model:bench-fanout"
try:
    from apps.batch.models import BatchJob
    channel = "job:%d" % BatchJob.objects.create(tenant=tenant, created_by=user).pk
except Exception:
    pass  # no batch app: a model: channel goes through the same code paths
print(json.dumps({"session": session.session_key, "channel": channel}))
"""

PUBLISHER = """
import json, sys, time
import django
django.setup()
from apps.realtime.services import publish
channel, events, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
publish(channel, "bench.warmup", {"sent_at": time.time(), "warmup": True})
start = time.perf_counter()
for n in range(events):
    due = start + n / rate
    pause = due - time.perf_counter()
    if pause > 0:
        time.sleep(pause)
    publish(channel, "batch.progress", {"n": n, "sent_at": time.time()})
print(json.dumps({"seconds": time.perf_counter() - start}))
"""

RAW = """
import asyncio, json, sys, time
from channels_redis.core import RedisChannelLayer
async def main(url, count):
    layer = RedisChannelLayer(hosts=[url], prefix="cadml:bench")
    channel = await layer.new_channel()
    await layer.group_add("bench.raw", channel)
    latencies = []
    for n in range(count):
        sent = time.perf_counter()
        await layer.group_send("bench.raw", {"type": "x", "n": n})
        await layer.receive(channel)
        latencies.append((time.perf_counter() - sent) * 1000)
        await asyncio.sleep(1 / 200)
    await layer.group_discard("bench.raw", channel)
    print(json.dumps(latencies))
asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_python(env: dict[str, str], code: str, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=PROJECT_ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "cadml.settings"},
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux /proc)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def fan_out(
    ws_url: str,
    cookie: str,
    channel: str,
    *,
    clients: int,
    subscribers: int,
    publish_cmd: list[str],
    env: dict[str, str],
    events: int,
    server_pid: int,
) -> dict:
    from websockets.asyncio.client import connect

    headers = {"Cookie": f"sessionid={cookie}"}
    gate = asyncio.Semaphore(32)
    latencies: list[float] = []
    ids: dict[int, list[int]] = defaultdict(list)
    subscribed: dict[int, asyncio.Event] = defaultdict(asyncio.Event)
    done = asyncio.Event()
    received = 0

    async def read(index: int, ws: object) -> None:
        """Every client answers the server's heartbeat, as a real client must;
        subscribers also record their events."""
        nonlocal received
        async for raw in ws:  # type: ignore[attr-defined]
            now = time.time()
            message = json.loads(raw)
            kind = message["type"]
            if kind == "ping":
                await ws.send('{"type": "pong"}')  # type: ignore[attr-defined]
            elif kind == "subscribed":
                subscribed[index].set()
            elif kind == "event" and not message["event"]["data"].get("warmup"):
                event = message["event"]
                latencies.append((now - event["data"]["sent_at"]) * 1000)
                ids[index].append(event["id"])
                received += 1
                if received >= subscribers * events:
                    done.set()
            elif kind not in ("welcome", "pong", "event"):
                raise AssertionError(message)

    async def open_one(index: int) -> object:
        async with gate:
            ws = await connect(
                f"{ws_url}/ws/v1/events",
                additional_headers=headers,
                max_queue=None,
                ping_interval=None,
                # The handshake limit per client IP (apps/ratelimit) stays on:
                # like an office behind a few NAT addresses, spread the clients
                # over loopback addresses, 100 each (under the per-IP limit even
                # when the limiter falls back to its process-local share).
                local_addr=(f"127.0.0.{2 + index // 100}", 0),
            )
        tasks.append(asyncio.create_task(read(index, ws)))
        return ws

    tasks: list[asyncio.Task[None]] = []
    started = time.perf_counter()
    sockets = await asyncio.gather(*(open_one(i) for i in range(clients)))
    connect_s = time.perf_counter() - started
    for ws in sockets[:subscribers]:
        await ws.send(json.dumps({"type": "subscribe", "channel": channel}))  # type: ignore[attr-defined]
    for index in range(subscribers):
        await asyncio.wait_for(subscribed[index].wait(), 30)

    cpu_before = process_cpu_s(server_pid)
    publisher = await asyncio.create_subprocess_exec(
        *publish_cmd,
        cwd=PROJECT_ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "cadml.settings"},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await publisher.communicate()
    publish_s = json.loads(out)["seconds"]
    publish_done = time.perf_counter()
    # Wait while deliveries still progress: slow is reported as latency, and
    # only what never arrives counts as lost.
    last, idle = -1, 0
    while not done.is_set() and idle < 5:
        await asyncio.sleep(1)
        idle = idle + 1 if received == last else 0
        last = received
    drain_s = time.perf_counter() - publish_done
    fan_out_cpu_s = process_cpu_s(server_pid) - cpu_before
    for task in tasks:
        task.cancel()
    for ws in sockets:
        await ws.close()  # type: ignore[attr-defined]
    in_order = all(
        seq == sorted(set(seq)) and len(seq) == len(set(seq)) for seq in ids.values()
    )
    return {
        "connect_s": round(connect_s, 2),
        "publish_s": round(publish_s, 2),
        "drain_after_publish_s": round(drain_s, 2),
        "delivered": received,
        # daphne's CPU while publishing and delivering, per WebSocket frame sent:
        # one daphne process is one event loop, so 1e6 / this is its ceiling in
        # frames per second on an otherwise idle core.
        "daphne_cpu_s_fan_out": round(fan_out_cpu_s, 2),
        "daphne_cpu_us_per_frame": round(fan_out_cpu_s * 1e6 / received, 1)
        if received
        else None,
        "latencies": latencies,
        "in_order_no_duplicates": in_order,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200)
    args = parser.parse_args()

    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    env = bench_env(REDIS_URL=redis_url)
    slug = f"wsbench-{int(time.time() * 1000) % 10**9}"
    make_tenant(env, slug)
    out = manage(env, "shell", "-c", f"SLUG = {slug!r}\n" + SETUP)
    # The last line: other output (e.g. start-up notices) may precede it.
    setup = json.loads(out.strip().splitlines()[-1])

    raw = json.loads(run_python(env, RAW, redis_url, str(args.events)))

    with running_daphne(env) as server:
        result = asyncio.run(
            fan_out(
                server.ws_url,
                setup["session"],
                setup["channel"],
                clients=args.clients,
                subscribers=args.subscribers,
                publish_cmd=[
                    sys.executable,
                    "-c",
                    PUBLISHER,
                    setup["channel"],
                    str(args.events),
                    str(args.rate),
                ],
                env=env,
                events=args.events,
                server_pid=server.process.pid,
            )
        )
    latencies = result.pop("latencies")
    expected = args.subscribers * args.events
    p50, p99 = (
        statistics.median(latencies) if latencies else 0.0,
        percentile(latencies, 0.99),
    )
    raw_p50, raw_p99 = statistics.median(raw), percentile(raw, 0.99)
    print(
        json.dumps(
            {
                "bench": "ws_fanout",
                "clients": args.clients,
                "subscribers": args.subscribers,
                "events": args.events,
                "rate_per_s": args.rate,
                "channel": setup["channel"].split(":")[0] + ":",
                "expected": expected,
                **result,
                "lost": expected - result["delivered"],
                "p50_ms": round(p50, 2),
                "p99_ms": round(p99, 2),
                "max_ms": round(max(latencies), 2) if latencies else 0.0,
                "raw_group_send_receive_p50_ms": round(raw_p50, 3),
                "raw_group_send_receive_p99_ms": round(raw_p99, 3),
                "ratio_p50": round(p50 / raw_p50, 1) if raw_p50 else None,
                "ratio_p99": round(p99 / raw_p99, 1) if raw_p99 else None,
                "target_p99_ms": 100,
                "meets_target": p99 <= 100 and result["delivered"] == expected,
            }
        )
    )


if __name__ == "__main__":
    main()
