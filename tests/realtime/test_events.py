"""Publishing, delivery and replay after a reconnect."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from django.test import override_settings

from apps.realtime.history import get_history
from apps.realtime.services import apublish, publish
from cadml.lib.errors import InvalidInput
from tests.realtime.conftest import (
    async_test,
    connected_as,
    connected_with_key,
    receive,
    send,
    subscribe,
)

pytestmark = pytest.mark.django_db


async def events(comm, count: int) -> list[dict]:  # type: ignore[no-untyped-def]
    received = []
    while len(received) < count:
        message = await receive(comm)
        assert message["type"] == "event", message
        received.append(message["event"])
    return received


@async_test
async def test_a_published_event_reaches_a_subscriber(api_client_a):
    comm = await connected_with_key(api_client_a)
    assert await subscribe(comm, "model:cls") == {
        "type": "subscribed",
        "channel": "model:cls",
        "last_event_id": 0,
    }
    sent = await sync_to_async(publish)("model:cls", "model.activated", {"version": 2})
    (event,) = await events(comm, 1)
    assert event == sent
    assert event["id"] == 1 and event["channel"] == "model:cls"
    assert event["type"] == "model.activated" and event["data"] == {"version": 2}
    assert event["ts"].endswith("Z")
    await comm.disconnect()


@async_test
async def test_ids_increase_per_channel(api_client_a):
    comm = await connected_with_key(api_client_a)
    await subscribe(comm, "model:a")
    await subscribe(comm, "model:b")
    for channel in ("model:a", "model:b", "model:a", "model:a", "model:b"):
        await apublish(channel, "model.activated", {})
    got = [(e["channel"], e["id"]) for e in await events(comm, 5)]
    assert got == [
        ("model:a", 1),
        ("model:b", 1),
        ("model:a", 2),
        ("model:a", 3),
        ("model:b", 2),
    ]
    await comm.disconnect()


@async_test
async def test_unsubscribing_stops_the_events(api_client_a):
    comm = await connected_with_key(api_client_a)
    await subscribe(comm, "model:a")
    await subscribe(comm, "model:b")
    await send(comm, {"type": "unsubscribe", "channel": "model:a"})
    assert (await receive(comm))["type"] == "unsubscribed"
    await apublish("model:a", "model.activated", {})
    await apublish("model:b", "model.activated", {})
    (event,) = await events(comm, 1)
    assert event["channel"] == "model:b"
    assert await comm.receive_nothing(timeout=0.2)
    await comm.disconnect()


@async_test
async def test_a_reconnecting_client_gets_what_it_missed_then_live_events(api_client_a):
    for n in range(1, 6):
        await apublish("model:m", "model.progress", {"n": n})
    comm = await connected_with_key(api_client_a)
    assert await subscribe(comm, "model:m", last_event_id=2) == {
        "type": "subscribed",
        "channel": "model:m",
        "last_event_id": 2,
    }
    assert [e["data"]["n"] for e in await events(comm, 3)] == [3, 4, 5]
    await apublish("model:m", "model.progress", {"n": 6})
    assert [e["id"] for e in await events(comm, 1)] == [6]
    assert await comm.receive_nothing(timeout=0.1)
    await comm.disconnect()


@async_test
async def test_a_gap_beyond_the_history_is_a_reset(api_client_a):
    with override_settings(CADML_WS_HISTORY=3):
        for n in range(10):
            await apublish("model:m", "model.progress", {"n": n})
        comm = await connected_with_key(api_client_a)
        subscribed = await subscribe(comm, "model:m", last_event_id=2)
        assert subscribed["last_event_id"] == 10
        assert await receive(comm) == {
            "type": "reset",
            "channel": "model:m",
            "last_event_id": 10,
        }
        await apublish("model:m", "model.progress", {"n": 10})
        assert [e["id"] for e in await events(comm, 1)] == [11]
        # Within the history: a replay, no reset.
        other = await connected_with_key(api_client_a)
        await subscribe(other, "model:m", last_event_id=8)
        assert [e["id"] for e in await events(other, 3)] == [9, 10, 11]
        await comm.disconnect()
        await other.disconnect()


@async_test
async def test_a_position_the_channel_never_reached_is_a_reset(api_client_a):
    await apublish("model:m", "model.progress", {})
    comm = await connected_with_key(api_client_a)
    assert (await subscribe(comm, "model:m", last_event_id=40))["last_event_id"] == 1
    assert (await receive(comm))["type"] == "reset"
    await comm.disconnect()


@async_test
async def test_catch_up_during_a_stream_of_events_has_no_gap_and_no_duplicate(
    api_client_a,
):
    for n in range(50):
        await apublish("model:busy", "model.progress", {"n": n})
    done = threading.Event()

    def publisher() -> None:
        for n in range(150):
            publish("model:busy", "model.progress", {"n": 50 + n})
        done.set()

    thread = threading.Thread(target=publisher)
    comm = await connected_with_key(api_client_a)
    thread.start()
    subscribed = await subscribe(comm, "model:busy", last_event_id=10)
    assert subscribed["last_event_id"] == 10
    got = [e["id"] for e in await events(comm, 190)]
    await asyncio.to_thread(thread.join)  # the publisher needs this loop to finish
    assert got == list(range(11, 201))
    assert await comm.receive_nothing(timeout=0.2)
    await comm.disconnect()


@async_test
async def test_an_event_overtaken_by_a_later_one_is_still_delivered_first(
    api_client_a,
):
    comm = await connected_with_key(api_client_a)
    await subscribe(comm, "model:m")
    # Event 1 is recorded but its delivery is still on its way (another
    # publisher, slower); event 2 arrives first.
    await get_history().aappend("model:m", {"type": "model.progress", "data": {}})
    await apublish("model:m", "model.progress", {"n": 2})
    assert [e["id"] for e in await events(comm, 2)] == [1, 2]
    await comm.disconnect()


@async_test
async def test_publish_refuses_bad_input():
    with pytest.raises(InvalidInput, match="channel"):
        await apublish("job:../1", "batch.progress", {})
    with pytest.raises(InvalidInput, match="type"):
        await apublish("model:m", "Batch Progress!", {})
    with pytest.raises(InvalidInput, match="JSON object"):
        await apublish("model:m", "batch.progress", [1, 2])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="serialisable"):
        await apublish("model:m", "batch.progress", {"x": object()})


# The events go out on commit: this test needs real commits.
@pytest.mark.django_db(transaction=True)
@async_test
async def test_api_key_creation_and_revocation_reach_the_tenant(
    member_a, admin_client_a
):
    comm = await connected_as(member_a)
    await subscribe(comm, "tenant:tenant-a")
    response = await sync_to_async(admin_client_a.post)(
        "/api/v1/api-keys", {"name": "ci", "scopes": ["read"]}, format="json"
    )
    assert response.status_code == 201
    key = response.json()
    (created,) = await events(comm, 1)
    assert created["type"] == "api_key.created"
    assert created["data"]["id"] == key["id"] and created["data"]["name"] == "ci"
    assert created["data"]["prefix"] == key["prefix"]
    assert key["key"] not in str(created)  # the secret is never broadcast
    response = await sync_to_async(admin_client_a.delete)(
        f"/api/v1/api-keys/{key['id']}"
    )
    assert response.status_code == 204
    (revoked,) = await events(comm, 1)
    assert revoked["type"] == "api_key.revoked" and revoked["data"]["id"] == key["id"]
    await comm.disconnect()


@async_test
async def test_staff_notifications_reach_a_tenant_and_a_topic(
    member_a, owner_a, staff, session_client
):
    member = await connected_as(member_a)
    await subscribe(member, "tenant:tenant-a")
    owner = await connected_as(owner_a)
    await subscribe(owner, "topic:alerts")
    client = await sync_to_async(session_client)(staff)
    response = await sync_to_async(client.post)(
        "/api/v1/notifications",
        {"tenant": "tenant-a", "type": "ops.maintenance", "data": {"at": "22:00"}},
        format="json",
    )
    assert response.status_code == 202, response.content
    (event,) = await events(member, 1)
    assert event["type"] == "ops.maintenance" and event["data"] == {"at": "22:00"}
    response = await sync_to_async(client.post)(
        "/api/v1/notifications",
        {"topic": "alerts", "data": {"text": "disk full"}},
        format="json",
    )
    assert response.status_code == 202
    (alert,) = await events(owner, 1)
    assert alert["type"] == "notification" and alert["channel"] == "topic:alerts"
    await member.disconnect()
    await owner.disconnect()


@async_test
async def test_a_last_event_lost_on_the_way_is_still_delivered(api_client_a):
    comm = await connected_with_key(api_client_a)
    await subscribe(comm, "model:m")
    await apublish("model:m", "model.progress", {"n": 1})
    # Event 2 is recorded but its message never arrives (a full channel-layer
    # queue drops it), and no later event comes to reveal the gap.
    await get_history().aappend("model:m", {"type": "model.progress", "data": {}})
    assert [e["id"] for e in await events(comm, 2)] == [1, 2]
    await comm.disconnect()


def test_published_events_are_counted_for_metrics():
    from prometheus_client import REGISTRY

    from apps.realtime.services import publish

    labels = {"type": "test.metric", "direction": "published"}
    before = REGISTRY.get_sample_value("cadml_ws_events_total", labels) or 0
    publish("topic:alerts", "test.metric", {"n": 1})
    assert REGISTRY.get_sample_value("cadml_ws_events_total", labels) == before + 1


@async_test
async def test_deliveries_drops_and_the_socket_limit_are_counted_for_metrics(
    api_client_a,
):
    import resource

    from prometheus_client import REGISTRY

    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    delivered = {"type": "test.fanout", "direction": "delivered"}
    dropped = {"type": "unknown", "direction": "dropped"}
    before_delivered = sample("cadml_ws_events_total", **delivered)
    before_dropped = sample("cadml_ws_events_total", **dropped)
    first = await connected_with_key(api_client_a)
    second = await connected_with_key(api_client_a)
    for comm in (first, second):
        await subscribe(comm, "model:fan")
    await apublish("model:fan", "test.fanout", {"n": 1})
    for comm in (first, second):
        assert [e["id"] for e in await events(comm, 1)] == [1]
    # One event handed to two sockets.
    assert sample("cadml_ws_events_total", **delivered) == before_delivered + 2
    # Events 2 and 3 are recorded but never reach this process; event 4 does.
    await get_history().aappend("model:fan", {"type": "test.fanout", "data": {}})
    await get_history().aappend("model:fan", {"type": "test.fanout", "data": {}})
    await apublish("model:fan", "test.fanout", {"n": 4})
    for comm in (first, second):
        assert [e["id"] for e in await events(comm, 3)] == [2, 3, 4]
    assert sample("cadml_ws_events_total", **dropped) == before_dropped + 2
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert sample("cadml_ws_connection_limit") in (soft, 1_048_576)
    for comm in (first, second):
        await comm.disconnect()
