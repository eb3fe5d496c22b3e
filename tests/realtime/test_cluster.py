"""The realtime layer on a real Redis Cluster (tests/redis_cluster.py): event ids
and history, connection limits and the channel layer (channels-redis' pub/sub
layer) with the process hub, each across a master failover."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any

import pytest
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer

from apps.realtime import hub as hub_module
from apps.realtime.history import _stream_key, get_history
from apps.realtime.limits import KEY_PREFIX, RedisLimiter, Slot, get_limiter
from apps.realtime.services import publish
from cadml.lib.redis_client import cluster_hosts


def cluster_settings(settings, url: str) -> None:  # type: ignore[no-untyped-def]
    """What cadml/settings.py configures when CADML_REDIS_CLUSTER_URL is set."""
    settings.CADML_REDIS_CLUSTER_URL = url
    settings.REDIS_URL = ""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [f"redis://{h}:{p}" for h, p in cluster_hosts(url)],
                "prefix": "cadml:ch",
            },
        }
    }


@pytest.fixture
def on_cluster(settings, redis_cluster):  # type: ignore[no-untyped-def]
    cluster_settings(settings, redis_cluster.url)
    return redis_cluster


def unique(kind: str = "model") -> str:
    return f"{kind}:cluster-{uuid.uuid4().hex[:12]}"


def test_event_ids_and_history_continue_across_a_master_failover(on_cluster):  # type: ignore[no-untyped-def]
    channel = unique()
    history = get_history()
    for n in range(1, 11):
        assert publish(channel, "model.progress", {"n": n})["id"] == n
    on_cluster.failover(_stream_key(channel))
    # The new master has the counter and the stream: ids go on, nothing lost.
    for n in range(11, 21):
        assert publish(channel, "model.progress", {"n": n})["id"] == n

    replay = asyncio.run(history.aread(channel, 5))
    assert replay.complete and replay.last_id == 20
    assert [e["id"] for e in replay.events] == list(range(6, 21))
    assert [e["data"]["n"] for e in replay.events] == list(range(6, 21))


def test_channels_on_every_master_keep_their_own_ids(on_cluster):  # type: ignore[no-untyped-def]
    channels = [unique() for _ in range(30)]
    masters = {on_cluster.master_of(_stream_key(c)) for c in channels}
    assert len(masters) == 3  # the channels really are spread over the masters
    for channel in channels:
        publish(channel, "model.progress", {"n": 1})
        publish(channel, "model.progress", {"n": 2})
    assert asyncio.run(get_history().alast_ids(channels)) == [2] * len(channels)


def test_connection_limits_take_all_slots_or_none_and_resume_after_failover(
    on_cluster,
):  # type: ignore[no-untyped-def]
    limiter = get_limiter()
    assert isinstance(limiter, RedisLimiter) and limiter.cluster
    who = uuid.uuid4().hex
    user = Slot(f"{KEY_PREFIX}:conn:key:{who}", 3, "API key")
    tenant = Slot(f"{KEY_PREFIX}:conn:tenant:{who}", 4, "tenant")
    other_user = Slot(f"{KEY_PREFIX}:conn:key:{who}-2", 10, "API key")

    async def scenario() -> None:
        for n in range(3):
            assert await limiter.acquire([user, tenant], f"c{n}") is None
        # The user's set is full: refused, and the tenant set is not charged.
        assert await limiter.acquire([user, tenant], "c3") == user
        assert await limiter.acquire([other_user, tenant], "d0") is None
        assert await limiter.acquire([other_user, tenant], "d1") == tenant

    asyncio.run(scenario())
    on_cluster.failover(limiter._keys([user])[0])

    async def after() -> None:
        # The counts survived on the new master and the limits still hold.
        assert await limiter.acquire([user, tenant], "c3") == user
        await limiter.release([user, tenant], "c0")
        assert await limiter.acquire([user, tenant], "c3") is None
        await limiter.refresh([user, tenant], "c3")
        assert await limiter.acquire([other_user, tenant], "d1") == tenant

    asyncio.run(after())


class Recorder:
    """A hub subscriber that keeps what it is offered."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.done = asyncio.Event()
        self.expected = 0

    async def offer(self, message: dict[str, Any]) -> None:
        if not message.get("probe"):
            self.ids.append(message["event"]["id"])
        if len(self.ids) >= self.expected:
            self.done.set()

    async def control(self, message: dict[str, Any]) -> None:
        pass


def test_the_hub_reads_a_burst_from_the_pubsub_layer_in_batches(on_cluster):  # type: ignore[no-untyped-def]
    channel = unique()
    total = 300
    batches: list[int] = []

    async def scenario() -> None:
        hub = hub_module.get_hub()
        assert isinstance(hub.layer, RedisPubSubChannelLayer)
        receive = hub._receive

        async def counted() -> list[dict[str, Any]]:
            messages = await receive()
            batches.append(len(messages))
            return messages

        hub._receive = counted  # type: ignore[method-assign]
        recorder = Recorder()
        recorder.expected = total
        await hub.join(channel, recorder)
        # Another publisher sends the burst while this loop is busy (blocked
        # here), as a hub serving hundreds of sockets would be.
        burst = threading.Thread(
            target=lambda: [
                publish(channel, "model.progress", {"n": n}) for n in range(total)
            ]
        )
        burst.start()
        burst.join()
        await asyncio.wait_for(recorder.done.wait(), 10)
        assert recorder.ids == list(range(1, total + 1))
        for task in hub.tasks:
            task.cancel()
        await get_channel_layer().flush()

    asyncio.run(scenario())
    assert sum(batches) >= total
    # Not one wake-up per event: most of the burst came in a few reads.
    assert len(batches) < total / 10, batches


def test_model_reload_notices_and_readiness_use_the_cluster(on_cluster):  # type: ignore[no-untyped-def]
    from apps.modelreg.runtime import notify_reload, reload_channel
    from cadml.health import configured_checks
    from cadml.lib.redis_client import sync_client

    client = sync_client(on_cluster.url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(reload_channel())  # what each process's listener does
    try:
        notify_reload()
        deadline = time.monotonic() + 5
        message = None
        while message is None and time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.5)
        assert message is not None and message["data"] == b"reload"
    finally:
        pubsub.close()
        client.close()
    assert configured_checks()["redis"]() == (True, "cluster ping ok")
