"""The JSON protocol: pings, bad frames, limits, heartbeats."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from tests.realtime.conftest import (
    async_test,
    connected_with_key,
    receive,
    send,
    subscribe,
)

pytestmark = pytest.mark.django_db


async def assert_still_open(comm) -> None:  # type: ignore[no-untyped-def]
    await send(comm, {"type": "ping"})
    assert (await receive(comm))["type"] == "pong"


@async_test
async def test_a_ping_gets_a_pong(api_client_a):
    comm = await connected_with_key(api_client_a)
    await send(comm, {"type": "ping"})
    pong = await receive(comm)
    assert pong["type"] == "pong" and pong["server_time"].endswith("Z")
    await comm.disconnect()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"text_data": "not json"}, "invalid_json"),
        ({"text_data": "[1, 2]"}, "invalid_json"),
        ({"text_data": '{"type": "launch"}'}, "unknown_type"),
        ({"text_data": '{"no": "type"}'}, "unknown_type"),
        ({"bytes_data": b"\x00\x01"}, "binary_not_supported"),
        ({"text_data": json.dumps({"type": "ping", "pad": "x" * 70000})}, "too_large"),
        (
            {"text_data": '{"type": "subscribe", "channel": "job:../1"}'},
            "invalid_channel",
        ),
        (
            {
                "text_data": json.dumps(
                    {"type": "subscribe", "channel": "model:" + "a" * 500}
                )
            },
            "invalid_channel",
        ),
        ({"text_data": '{"type": "subscribe", "channel": 42}'}, "invalid_channel"),
        (
            {
                "text_data": json.dumps(
                    {"type": "subscribe", "channel": "model:m", "last_event_id": -1}
                )
            },
            "invalid",
        ),
        (
            {
                "text_data": json.dumps(
                    {"type": "subscribe", "channel": "model:m", "last_event_id": "7"}
                )
            },
            "invalid",
        ),
        (
            {"text_data": '{"type": "unsubscribe", "channel": "model:m"}'},
            "not_subscribed",
        ),
    ],
)
@async_test
async def test_a_bad_frame_gets_an_error_and_the_connection_stays_open(
    api_client_a, frame, code
):
    comm = await connected_with_key(api_client_a)
    await comm.send_to(**frame)
    error = await receive(comm)
    assert error["type"] == "error" and error["code"] == code, error
    assert error["message"]
    await assert_still_open(comm)
    await comm.disconnect()


@async_test
async def test_more_than_ten_bad_frames_in_a_minute_close_with_4400(api_client_a):
    comm = await connected_with_key(api_client_a)
    for _ in range(10):
        await comm.send_to(text_data="nope")
        assert (await receive(comm))["code"] == "invalid_json"
    await comm.send_to(text_data="nope")
    assert (await receive(comm))["code"] == "invalid_json"
    closed = await comm.receive_output(timeout=3)
    assert closed == {
        "type": "websocket.close",
        "code": 4400,
        "reason": "too many bad messages in a minute",
    }


@async_test
async def test_a_bad_client_does_not_disturb_another(api_client_a):
    good = await connected_with_key(api_client_a)
    assert (await subscribe(good, "model:m"))["type"] == "subscribed"
    bad = await connected_with_key(api_client_a)
    for _ in range(11):
        await bad.send_to(bytes_data=b"\xff")
        await receive(bad)
    from apps.realtime.services import apublish

    await apublish("model:m", "model.activated", {"version": 3})
    event = await receive(good)
    assert event["type"] == "event" and event["event"]["data"] == {"version": 3}
    await good.disconnect()


@async_test
async def test_subscriptions_per_connection_are_limited(api_client_a):
    with override_settings(CADML_WS_MAX_SUBSCRIPTIONS=2):
        comm = await connected_with_key(api_client_a)
        assert (await subscribe(comm, "model:a"))["type"] == "subscribed"
        assert (await subscribe(comm, "model:b"))["type"] == "subscribed"
        error = await subscribe(comm, "model:c")
        assert error["code"] == "too_many_subscriptions"
        await send(comm, {"type": "unsubscribe", "channel": "model:a"})
        assert await receive(comm) == {"type": "unsubscribed", "channel": "model:a"}
        assert (await subscribe(comm, "model:c"))["type"] == "subscribed"
        await comm.disconnect()


@async_test
async def test_subscribing_twice_is_an_error(api_client_a):
    comm = await connected_with_key(api_client_a)
    await subscribe(comm, "model:a")
    assert (await subscribe(comm, "model:a"))["code"] == "already_subscribed"
    await comm.disconnect()


@async_test
async def test_the_server_pings_and_closes_a_silent_connection(api_client_a):
    with override_settings(CADML_WS_HEARTBEAT_S=0.2):
        comm = await connected_with_key(api_client_a)
        assert (await receive(comm))["type"] == "ping"
        await send(comm, {"type": "pong"})
        assert (await receive(comm))["type"] == "ping"
        # Now stay silent: after two intervals without a word the server closes.
        while True:
            output = await comm.receive_output(timeout=3)
            if output["type"] == "websocket.close":
                break
        assert output["code"] == 4408


@async_test
async def test_connections_per_user_are_limited_with_4429(api_client_b):
    # tenant B is on the free plan; make its per-key limit small.
    with override_settings(
        CADML_WS_LIMITS={
            "free": {"per_user": 2, "per_tenant": 10},
            "internal": {"per_user": 9, "per_tenant": 9},
        }
    ):
        first = await connected_with_key(api_client_b)
        second = await connected_with_key(api_client_b)
        from asgiref.sync import sync_to_async

        from tests.realtime.conftest import communicator, issue_ticket

        third = communicator(ticket=await sync_to_async(issue_ticket)(api_client_b))
        assert (await third.connect())[0]
        error = await receive(third)
        assert error["code"] == "too_many_connections"
        closed = await third.receive_output(timeout=3)
        assert closed["type"] == "websocket.close" and closed["code"] == 4429
        assert "limit 2" in closed["reason"]
        # A slot freed is a slot available.
        await first.disconnect()
        fourth = await connected_with_key(api_client_b)
        await second.disconnect()
        await fourth.disconnect()


@async_test
async def test_connections_per_tenant_are_limited(tenant_b, owner_b):
    from asgiref.sync import sync_to_async

    from tests.conftest import key_client

    with override_settings(CADML_WS_LIMITS={"free": {"per_user": 5, "per_tenant": 2}}):
        clients = [
            await sync_to_async(key_client)(tenant_b, owner_b, ["read"])
            for _ in range(3)
        ]
        open_ = [await connected_with_key(c) for c in clients[:2]]
        from tests.realtime.conftest import communicator, issue_ticket

        third = communicator(ticket=await sync_to_async(issue_ticket)(clients[2]))
        assert (await third.connect())[0]
        assert (await receive(third))["code"] == "too_many_connections"
        closed = await third.receive_output(timeout=3)
        assert closed["code"] == 4429 and "tenant tenant-b" in closed["reason"]
        for comm in open_:
            await comm.disconnect()
