"""Who may open /ws/v1/events: session cookie or one-time ticket, same origin."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.test import override_settings

from tests.realtime.conftest import (
    async_test,
    communicator,
    connected,
    connected_as,
    issue_ticket,
    receive,
    session_headers,
)

pytestmark = pytest.mark.django_db


async def refused(comm) -> None:  # type: ignore[no-untyped-def]
    ok, code = await comm.connect()
    assert not ok, "the handshake was accepted"
    # Refused before accept: daphne answers the handshake with 403.


@async_test
async def test_it_refuses_a_handshake_without_credentials():
    await refused(communicator())


@async_test
async def test_it_refuses_an_unknown_ticket():
    await refused(communicator(ticket="not-a-ticket"))


@async_test
async def test_a_ticket_opens_one_connection_only(api_client_a):
    ticket = await sync_to_async(issue_ticket)(api_client_a)
    first = await connected(ticket=ticket)
    await refused(communicator(ticket=ticket))
    await first.disconnect()


@async_test
async def test_it_refuses_an_expired_ticket(api_client_a):
    with override_settings(CADML_WS_TICKET_TTL_S=1):
        ticket = await sync_to_async(issue_ticket)(api_client_a)
    await asyncio.sleep(1.2)
    await refused(communicator(ticket=ticket))


@async_test
async def test_the_session_cookie_authenticates_a_browser(owner_a):
    comm = await connected_as(owner_a)
    await comm.disconnect()


@async_test
async def test_it_refuses_a_cross_origin_browser_handshake(owner_a):
    headers = await sync_to_async(session_headers)(owner_a)
    evil = communicator(headers=[*headers, (b"origin", b"https://evil.example")])
    await refused(evil)
    same = communicator(headers=[*headers, (b"origin", b"http://testserver")])
    ok, _ = await same.connect()
    assert ok
    await same.disconnect()


@async_test
async def test_the_welcome_says_how_often_to_expect_a_heartbeat(owner_a):
    headers = await sync_to_async(session_headers)(owner_a)
    comm = communicator(headers=headers)
    assert (await comm.connect())[0]
    welcome = await receive(comm)
    assert welcome["type"] == "welcome"
    assert len(welcome["connection_id"]) == 32
    assert welcome["heartbeat_s"] == 25
    assert welcome["server_time"].endswith("Z")
    await comm.disconnect()


@async_test
async def test_revoking_a_key_closes_its_open_sockets(
    tenant_a, owner_a, api_client_a, django_capture_on_commit_callbacks
):
    from apps.accounts.services import api_key_revoke
    from tests.conftest import key_client
    from tests.realtime.conftest import connected_with_key, send

    doomed_client = await sync_to_async(key_client)(tenant_a, owner_a, ["read"])
    doomed = await connected_with_key(doomed_client)
    other = await connected_with_key(api_client_a)

    def revoke() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            api_key_revoke(api_key=doomed_client.api_key)

    await sync_to_async(revoke)()
    error = await receive(doomed)
    assert error["code"] == "revoked"
    closed = await doomed.receive_output(timeout=3)
    assert closed["type"] == "websocket.close" and closed["code"] == 4401
    await send(other, {"type": "ping"})
    assert (await receive(other))["type"] == "pong"
    await other.disconnect()


async def closed_as_revoked(comm) -> None:  # type: ignore[no-untyped-def]
    error = await receive(comm)
    assert error["type"] == "error" and error["code"] == "revoked", error
    closed = await comm.receive_output(timeout=3)
    assert closed["type"] == "websocket.close" and closed["code"] == 4401


@async_test
async def test_removing_a_membership_closes_the_users_open_sockets(
    tenant_a, owner_a, member_a, django_capture_on_commit_callbacks
):
    from apps.accounts.models import Membership
    from tests.realtime.conftest import send

    doomed = await connected_as(member_a)
    other = await connected_as(owner_a)

    def remove() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            Membership.objects.get(user=member_a, tenant=tenant_a).delete()

    await sync_to_async(remove)()
    await closed_as_revoked(doomed)
    await send(other, {"type": "ping"})
    assert (await receive(other))["type"] == "pong"
    await other.disconnect()


@async_test
async def test_deactivating_a_user_closes_the_users_open_sockets(
    member_a, django_capture_on_commit_callbacks
):
    doomed = await connected_as(member_a)

    def deactivate() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            member_a.is_active = False
            member_a.save(update_fields=["is_active"])

    await sync_to_async(deactivate)()
    await closed_as_revoked(doomed)
    # And it cannot come back.
    await refused(communicator(headers=await sync_to_async(session_headers)(member_a)))
