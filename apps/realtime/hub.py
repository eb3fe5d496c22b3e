"""Process-level fan-out: one channel-layer membership per process, not per socket.

With a group membership per WebSocket, an event for 100 local subscribers costs
100 channel-layer messages (100 Redis pops, 100 decodes) in the same process. The
hub joins a channel's group once per process (per event loop), receives each
event once, and hands it to every local subscriber's inbox in memory. Ordering
and catch-up stay each consumer's business (see ``consumers.py``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
import weakref
from typing import Any, Protocol

from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer

from apps.realtime.channels import group_name
from apps.realtime.history import get_history
from cadml import metrics

logger = logging.getLogger(__name__)

# Channel-layer groups expire (channels-redis: after a day); a long-lived hub
# renews its memberships well before that.
RENEW_GROUPS_S = 3600.0


# How often the hub compares each quiet channel's newest id with the newest it
# received: the channel layer drops messages for a full channel (and on a Redis
# blip), and a dropped *last* event would otherwise wait for the next one. A
# channel that is still streaming needs no check (the next event reveals a gap),
# and checking it would send every subscriber to the history for events that
# are merely in flight.
TAIL_CHECK_S = 1.0

# At most this many channel-layer messages per Redis call (see ``_receive``).
RECEIVE_BATCH = 500


class Subscriber(Protocol):
    async def offer(self, message: dict[str, Any]) -> None: ...

    async def control(self, message: dict[str, Any]) -> None: ...


class Hub:
    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.channel_name: str | None = None
        self.local: dict[str, set[Subscriber]] = {}
        self.lock = asyncio.Lock()
        self.tasks: list[asyncio.Task[None]] = []
        self.newest: dict[str, int] = {}  # channel -> newest id received
        self.received_at: dict[str, float] = {}  # channel -> loop time

    async def _start(self) -> str:
        if self.channel_name is None:
            if isinstance(self.layer, RedisChannelLayer):
                # A general channel of our own, read in batches by ``_receive``
                # (a process-specific "x!y" channel shares its Redis key with
                # every other channel of the process).
                self.channel_name = f"realtime-hub.{uuid.uuid4().hex}"
            else:
                self.channel_name = await self.layer.new_channel()
            self.tasks = [
                asyncio.ensure_future(self._read()),
                asyncio.ensure_future(self._renew()),
                asyncio.ensure_future(self._check_tails()),
            ]
        return self.channel_name

    async def join(self, channel: str, subscriber: Subscriber) -> None:
        """Returns once events of ``channel`` published from now on will reach
        ``subscriber.inbox``."""
        async with self.lock:
            hub_channel = await self._start()
            members = self.local.setdefault(channel, set())
            if not members:
                await self.layer.group_add(group_name(channel), hub_channel)
                self.newest.pop(channel, None)
                self.received_at.pop(channel, None)
            members.add(subscriber)

    async def leave(self, channel: str, subscriber: Subscriber) -> None:
        async with self.lock:
            members = self.local.get(channel)
            if members is None:
                return
            members.discard(subscriber)
            if not members and self.channel_name is not None:
                del self.local[channel]
                self.newest.pop(channel, None)
                self.received_at.pop(channel, None)
                await self.layer.group_discard(group_name(channel), self.channel_name)

    async def _receive(self) -> list[dict[str, Any]]:
        """The next messages of the hub's channel, oldest first.

        channels-redis ``receive()`` costs four Redis round trips per message, one
        after the other (a clean-up script, BZPOPMIN, a backup ZADD, and a ZPOPMIN
        that the next receive waits for). One event loop that also writes to
        hundreds of sockets then falls behind at a few hundred events per second,
        and once behind it stays behind: the queue grows up to the layer's
        capacity and events are dropped. So on channels-redis the hub pops
        everything queued (up to ``RECEIVE_BATCH``) in one ZPOPMIN, and blocks in
        BZPOPMIN only when nothing is. It reads the channel's sorted set the way
        ``receive_single`` does, without the backup queue: a message lost by a
        cancelled hub is recovered from history like any dropped one.
        """
        layer = self.layer
        assert self.channel_name is not None
        if isinstance(layer, RedisPubSubChannelLayer):
            return await self._receive_pubsub(layer)
        if not isinstance(layer, RedisChannelLayer):
            return [await layer.receive(self.channel_name)]
        connection = layer.connection(layer.consistent_hash(self.channel_name))
        key = layer.prefix + self.channel_name
        popped = await connection.zpopmin(key, RECEIVE_BATCH)
        if popped:
            return [layer.deserialize(member) for member, _score in popped]
        blocked = await connection.bzpopmin(key, timeout=layer.brpop_timeout)
        return [] if blocked is None else [layer.deserialize(blocked[1])]

    async def _receive_pubsub(
        self, layer: RedisPubSubChannelLayer
    ) -> list[dict[str, Any]]:
        """On the pub/sub layer (Redis Cluster) messages are pushed to a queue in
        this process: no Redis call per message, but one wake-up per message if
        read one by one. So the hub waits for the first, then takes whatever
        else is queued (up to ``RECEIVE_BATCH``) in the same turn."""
        assert self.channel_name is not None
        first = await layer.receive(self.channel_name)
        messages = [first]
        queue = layer._get_layer().channels.get(self.channel_name)
        while queue is not None and len(messages) < RECEIVE_BATCH:
            try:
                raw = queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            messages.append(layer.deserialize(raw))
        return messages

    async def _read(self) -> None:
        assert self.channel_name is not None
        while True:
            try:
                for message in await self._receive():
                    await self._fan_out(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Keep serving: a lost event is recovered from history by the
                # next one (consumers fill gaps).
                logger.exception("realtime hub: receive failed")
                await asyncio.sleep(0.5)

    async def _fan_out(self, message: dict[str, Any]) -> None:
        event = message.get("event") or {}
        channel: str = event.get("channel") or ""
        if not self.local.get(channel):
            return
        if message.get("control"):
            for subscriber in tuple(self.local.get(channel, ())):
                await subscriber.control(message)
            return
        newest = self.newest.get(channel)
        if newest is not None and event["id"] > newest + 1:
            # Messages lost on the way (a full channel-layer queue drops them):
            # fetch them once for the whole process, not once per subscriber.
            metrics.ws_events.labels("unknown", "dropped").inc(event["id"] - newest - 1)
            await self._fill(channel, after=newest, before=event["id"])
        self.newest[channel] = max(self.newest.get(channel, 0), event["id"])
        self.received_at[channel] = asyncio.get_running_loop().time()
        await self._offer(channel, message)

    async def _offer(self, channel: str, message: dict[str, Any]) -> None:
        subscribers = tuple(self.local.get(channel, ()))
        for subscriber in subscribers:
            await subscriber.offer(message)
        if subscribers and not message.get("probe"):
            # Once per event and process, not per socket (the hot path).
            kind = message["event"].get("type") or "unknown"
            metrics.ws_events.labels(kind, "delivered").inc(len(subscribers))

    async def _fill(self, channel: str, *, after: int, before: int) -> None:
        """Hand subscribers the events ``after < id < before`` from history. If
        history no longer has them, do nothing: each subscriber sees the gap
        and sends its client a ``reset``."""
        replay = await get_history().aread(channel, after)
        if not replay.complete:
            return
        for event in replay.events:
            if event["id"] >= before:
                break
            text = json.dumps({"type": "event", "event": event}, separators=(",", ":"))
            await self._offer(channel, {"event": event, "text": text})

    async def _check_tails(self) -> None:
        while True:
            await asyncio.sleep(TAIL_CHECK_S)
            quiet_since = asyncio.get_running_loop().time() - TAIL_CHECK_S
            channels = [
                channel
                for channel in self.local
                if self.received_at.get(channel, 0.0) <= quiet_since
            ]
            if not channels:
                continue
            try:
                newest_ids = await get_history().alast_ids(channels)
                for channel, last_id in zip(channels, newest_ids, strict=True):
                    newest = self.newest.get(channel)
                    if newest is not None and last_id > newest:
                        self.newest[channel] = last_id
                        await self._fill(channel, after=newest, before=last_id + 1)
                    elif newest is None and last_id:
                        # Nothing received since the hub joined: only each
                        # subscriber knows where it stands; let it check.
                        self.newest[channel] = last_id
                        probe = {"event": {"channel": channel, "id": last_id}}
                        await self._offer(channel, {**probe, "probe": True})
            except Exception:
                logger.warning("realtime hub: tail check failed", exc_info=True)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW_GROUPS_S)
            async with self.lock:
                for channel in list(self.local):
                    await self.layer.group_add(group_name(channel), self.channel_name)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = (
    weakref.WeakKeyDictionary()
)


def get_hub() -> Hub:
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = Hub()
        _hubs[loop] = hub
    return hub
