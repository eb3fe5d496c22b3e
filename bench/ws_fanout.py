"""WebSocket fan-out: many clients on one daphne with channels-redis.

N clients (default 1,000) connect to one daphne process; S of them (default 100)
subscribe to one ``job:`` channel. Another process publishes E events (default
1,000) at R per second (default 200) through ``apps.realtime.services.publish``.
Every event carries the wall-clock time just before ``publish()`` was called;
each subscriber notes when it received it. Baseline, in the same run: the raw
channels-redis round trip, ``group_send`` to one channel and ``receive`` on it,
with no daphne, no WebSocket and no history in between.

Prints one JSON line. Needs Redis (REDIS_URL, default redis://127.0.0.1:6379/0);
uses DATABASE_URL if set, else a throw-away SQLite file. With ``--cluster``
everything runs on a local three-master Redis Cluster (tests/redis_cluster.py)
instead, and the baseline is channels-redis' pub/sub layer on it.

    .venv/bin/python bench/ws_fanout.py [--clients 1000] [--subscribers 100]
        [--events 1000] [--rate 200] [--cluster]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import os
import statistics
import struct
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
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

# One group_send -> receive round trip at a time through the bare channel layer:
# the floor the fan-out is compared with. {layer} is the layer class's import.
_RAW = """
import asyncio, json, sys, time
{layer}
async def main(hosts, count):
    layer = Layer(hosts=hosts.split(","), prefix="cadml:bench")
    channel = await layer.new_channel()
    await layer.group_add("bench.raw", channel)
    latencies = []
    for n in range(count):
        sent = time.perf_counter()
        await layer.group_send("bench.raw", {{"type": "x", "n": n}})
        await layer.receive(channel)
        latencies.append((time.perf_counter() - sent) * 1000)
        await asyncio.sleep(1 / 200)
    await layer.group_discard("bench.raw", channel)
    print(json.dumps(latencies))
asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""
RAW = _RAW.format(layer="from channels_redis.core import RedisChannelLayer as Layer")
RAW_CLUSTER = _RAW.format(
    layer="from channels_redis.pubsub import RedisPubSubChannelLayer as Layer"
)


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


class Client(asyncio.Protocol):
    """A minimal WebSocket client (RFC 6455) on a raw asyncio protocol.

    The load generator shares 2 cores with daphne, Redis and the publisher, and
    receives 20,000 frames/s: a general-purpose client library (``websockets``:
    stream reader, assembler, one task per socket) costs several times the CPU
    of this parser, and that CPU comes out of daphne's share. Frames from the
    server are unmasked; frames to it are masked, as the RFC requires. The
    receive time is taken once per read from the socket: frames that arrived
    together are stamped with the time they were read, not delayed by the
    parsing of the ones before them.
    """

    def __init__(self, index: int, stats: Stats) -> None:
        self.index = index
        self.stats = stats
        self.buffer = b""
        self.handshake: asyncio.Future[None] = (
            asyncio.get_running_loop().create_future()
        )
        self.subscribed = asyncio.Event()
        self.last_id = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.handshake.done():
            self.handshake.set_exception(exc or ConnectionError("closed"))
        elif not self.stats.closing:
            self.stats.dropped_sockets += 1

    def send_frame(self, payload: bytes, opcode: int = 0x1) -> None:
        assert self.transport is not None
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        else:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        key = int.from_bytes(mask * (length // 4 + 1), "big") >> (8 * (4 - length % 4))
        masked = (int.from_bytes(payload, "big") ^ key).to_bytes(length, "big")
        self.transport.write(header + mask + masked)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buffer = self.buffer + data if self.buffer else data
        if not self.handshake.done():
            head, sep, buffer = buffer.partition(b"\r\n\r\n")
            if not sep:
                self.buffer = head
                return
            if not head.startswith(b"HTTP/1.1 101"):
                self.handshake.set_exception(ConnectionError(head.decode()))
                return
            self.handshake.set_result(None)
        offset, size = 0, len(buffer)
        while size - offset >= 2:
            first, second = buffer[offset], buffer[offset + 1]
            length, start = second & 0x7F, offset + 2
            if length == 126:
                if size - offset < 4:
                    break
                length, start = int.from_bytes(buffer[start : start + 2]), start + 2
            elif length == 127:
                if size - offset < 10:
                    break
                length, start = int.from_bytes(buffer[start : start + 8]), start + 8
            if size - start < length:
                break
            payload = buffer[start : start + length]
            offset = start + length
            opcode = first & 0x0F
            if not first & 0x80 or opcode == 0x0:
                raise AssertionError("fragmented frames are not expected here")
            if opcode == 0x1:
                self.message(payload, now)
            elif opcode == 0x9:  # autobahn's keep-alive ping
                self.send_frame(payload, opcode=0xA)
            elif opcode == 0x8 and not self.stats.closing:
                self.stats.dropped_sockets += 1
        self.buffer = buffer[offset:]

    def message(self, payload: bytes, now: float) -> None:
        message = json.loads(payload)
        kind = message["type"]
        if kind == "event":
            event, stats = message["event"], self.stats
            if event["id"] <= self.last_id:
                stats.out_of_order += 1
            self.last_id = event["id"]
            data = event["data"]
            if data.get("warmup"):
                return
            stats.latencies.append((now - data["sent_at"]) * 1000)
            stats.received += 1
            if stats.dump is not None:
                stats.dump.append((data["n"], self.index, data["sent_at"], now))
            if stats.received >= stats.expected:
                stats.done.set()
        elif kind == "ping":
            # Every client answers the server's heartbeat, as a real client must.
            self.send_frame(b'{"type":"pong"}')
        elif kind == "subscribed":
            self.last_id = message["last_event_id"]
            self.subscribed.set()
        elif kind not in ("welcome", "pong"):
            raise AssertionError(message)


@dataclass
class Stats:
    expected: int
    done: asyncio.Event
    received: int = 0
    out_of_order: int = 0
    dropped_sockets: int = 0
    closing: bool = False
    latencies: list[float] = field(default_factory=list)
    dump: list[tuple[int, int, float, float]] | None = None


async def open_client(
    index: int, port: int, cookie: str, stats: Stats, gate: asyncio.Semaphore
) -> Client:
    loop = asyncio.get_running_loop()
    client = Client(index, stats)
    async with gate:
        await loop.create_connection(
            lambda: client,
            "127.0.0.1",
            port,
            # The handshake limit per client IP (apps/ratelimit) stays on: like an
            # office behind a few NAT addresses, spread the clients over loopback
            # addresses, 100 each (under the per-IP limit even when the limiter
            # falls back to its process-local share).
            local_addr=(f"127.0.0.{2 + index // 100}", 0),
        )
        key = base64.b64encode(os.urandom(16)).decode()
        assert client.transport is not None
        client.transport.write(
            (
                "GET /ws/v1/events HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Cookie: sessionid={cookie}\r\n\r\n"
            ).encode()
        )
        await asyncio.wait_for(client.handshake, 30)
    return client


async def fan_out(
    port: int,
    cookie: str,
    channel: str,
    *,
    clients: int,
    subscribers: int,
    publish_cmd: list[str],
    env: dict[str, str],
    events: int,
    server_pid: int,
    dump: bool,
) -> dict:
    stats = Stats(expected=subscribers * events, done=asyncio.Event())
    stats.dump = [] if dump else None
    gate = asyncio.Semaphore(32)
    started = time.perf_counter()
    sockets = await asyncio.gather(
        *(open_client(i, port, cookie, stats, gate) for i in range(clients))
    )
    connect_s = time.perf_counter() - started
    for client in sockets[:subscribers]:
        client.send_frame(
            json.dumps({"type": "subscribe", "channel": channel}).encode()
        )
    for client in sockets[:subscribers]:
        await asyncio.wait_for(client.subscribed.wait(), 30)

    # The client's own collector pauses would show up as publish-to-receive
    # latency: what exists now lives to the end of the run (frozen), and the
    # run itself makes no cyclic garbage (collector off until it ends).
    gc.collect()
    gc.freeze()
    gc.disable()
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
    while not stats.done.is_set() and idle < 5:
        await asyncio.sleep(1)
        idle = idle + 1 if stats.received == last else 0
        last = stats.received
    drain_s = time.perf_counter() - publish_done
    fan_out_cpu_s = process_cpu_s(server_pid) - cpu_before
    gc.enable()
    stats.closing = True
    for client in sockets:
        client.send_frame(struct.pack("!H", 1000), opcode=0x8)
    await asyncio.sleep(0.2)
    for client in sockets:
        assert client.transport is not None
        client.transport.close()
    return {
        "connect_s": round(connect_s, 2),
        "publish_s": round(publish_s, 2),
        "drain_after_publish_s": round(drain_s, 2),
        "delivered": stats.received,
        # daphne's CPU while publishing and delivering, per WebSocket frame sent:
        # one daphne process is one event loop, so 1e6 / this is its ceiling in
        # frames per second on an otherwise idle core.
        "daphne_cpu_s_fan_out": round(fan_out_cpu_s, 2),
        "daphne_cpu_us_per_frame": round(fan_out_cpu_s * 1e6 / stats.received, 1)
        if stats.received
        else None,
        "latencies": stats.latencies,
        "dump": stats.dump,
        # Ids strictly increasing per subscriber: in order and no duplicates.
        "in_order_no_duplicates": stats.out_of_order == 0,
        "sockets_closed_by_server": stats.dropped_sockets,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument(
        "--dump",
        metavar="PATH",
        help="also write every delivery as JSON [n, subscriber, sent at, received at]",
    )
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="run on a local Redis Cluster (needs redis-server and redis-cli)",
    )
    args = parser.parse_args()
    with ExitStack() as stack:
        if args.cluster:
            from tests.redis_cluster import running_cluster

            cluster = stack.enter_context(running_cluster())
            env = bench_env(CADML_REDIS_CLUSTER_URL=cluster.url, REDIS_URL="")
            raw_cmd = (
                RAW_CLUSTER,
                ",".join(f"redis://{h}:{p}" for h, p in cluster.startup_nodes),
            )
        else:
            redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
            env = bench_env(REDIS_URL=redis_url)
            raw_cmd = (RAW, redis_url)
        run(args, env, raw_cmd)


def run(
    args: argparse.Namespace, env: dict[str, str], raw_cmd: tuple[str, str]
) -> None:
    slug = f"wsbench-{int(time.time() * 1000) % 10**9}"
    make_tenant(env, slug)
    out = manage(env, "shell", "-c", f"SLUG = {slug!r}\n" + SETUP)
    # The last line: other output (e.g. start-up notices) may precede it.
    setup = json.loads(out.strip().splitlines()[-1])

    raw = json.loads(run_python(env, *raw_cmd, str(args.events)))

    with running_daphne(env) as server:
        result = asyncio.run(
            fan_out(
                server.port,
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
                dump=bool(args.dump),
            )
        )
    latencies = result.pop("latencies")
    dump = result.pop("dump")
    if args.dump:
        Path(args.dump).write_text(json.dumps(dump))
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
                "redis": "cluster" if args.cluster else "standalone",
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
