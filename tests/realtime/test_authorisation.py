"""Who may subscribe to what. A forbidden and a non-existent channel look the
same to the subscriber."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.test import override_settings

from tests.conftest import key_client
from tests.realtime.conftest import (
    async_test,
    connected_as,
    connected_with_key,
    subscribe,
)

pytestmark = pytest.mark.django_db

FORBIDDEN = {
    "type": "error",
    "code": "forbidden",
    "message": "no such channel, or you may not subscribe to it",
}


async def outcome(comm, channel: str) -> str:  # type: ignore[no-untyped-def]
    answer = await subscribe(comm, channel)
    if answer["type"] == "subscribed":
        assert answer["channel"] == channel
        return "ok"
    assert answer == {**FORBIDDEN, "channel": channel}
    return "forbidden"


@async_test
async def test_a_user_channel_is_for_that_user_only(owner_a, member_a):
    comm = await connected_as(owner_a)
    assert await outcome(comm, f"user:{owner_a.pk}") == "ok"
    assert await outcome(comm, f"user:{member_a.pk}") == "forbidden"
    assert await outcome(comm, "user:999999") == "forbidden"
    await comm.disconnect()


@async_test
async def test_an_api_key_has_no_user_channel(api_client_a, owner_a):
    comm = await connected_with_key(api_client_a)
    assert await outcome(comm, f"user:{owner_a.pk}") == "forbidden"
    await comm.disconnect()


@async_test
async def test_a_tenant_channel_is_for_its_members(
    member_a, viewer_a, api_client_a, owner_b
):
    for connect in (
        lambda: connected_as(member_a),
        lambda: connected_as(viewer_a),
        lambda: connected_with_key(api_client_a),
    ):
        comm = await connect()
        assert await outcome(comm, "tenant:tenant-a") == "ok"
        assert await outcome(comm, "tenant:tenant-b") == "forbidden"
        assert await outcome(comm, "tenant:no-such-tenant") == "forbidden"
        await comm.disconnect()
    comm = await connected_as(owner_b)
    assert await outcome(comm, "tenant:tenant-a") == "forbidden"
    await comm.disconnect()


@async_test
async def test_a_model_channel_is_for_any_authenticated_principal(
    viewer_a, api_client_b, staff
):
    for connect in (
        lambda: connected_as(viewer_a),
        lambda: connected_with_key(api_client_b),
        lambda: connected_as(staff),
    ):
        comm = await connect()
        assert await outcome(comm, "model:part-classifier") == "ok"
        await comm.disconnect()


@async_test
async def test_alerts_are_for_staff_and_tenant_admins(
    staff, owner_a, member_a, viewer_a, admin_client_a, api_client_a
):
    allowed = [staff, owner_a]
    for user in allowed:
        comm = await connected_as(user)
        assert await outcome(comm, "topic:alerts") == "ok"
        await comm.disconnect()
    for user in (member_a, viewer_a):
        comm = await connected_as(user)
        assert await outcome(comm, "topic:alerts") == "forbidden"
        await comm.disconnect()
    comm = await connected_with_key(admin_client_a)
    assert await outcome(comm, "topic:alerts") == "ok"
    await comm.disconnect()
    comm = await connected_with_key(api_client_a)  # read+write, no admin
    assert await outcome(comm, "topic:alerts") == "forbidden"
    assert await outcome(comm, "topic:secret-ops") == "forbidden"
    await comm.disconnect()


@async_test
async def test_job_channels_are_forbidden_until_the_batch_app_plugs_in(
    api_client_a, tenant_a
):
    comm = await connected_with_key(api_client_a)
    assert await outcome(comm, f"job:{tenant_a.pk}-1") == "forbidden"
    await comm.disconnect()


@async_test
async def test_a_plugged_in_resolver_decides_job_channels(
    api_client_a, tenant_a, tenant_b
):
    resolvers = {"job": "tests.realtime.resolvers.job_of_own_tenant"}
    with override_settings(CADML_REALTIME_CHANNEL_RESOLVERS=resolvers):
        comm = await connected_with_key(api_client_a)
        assert await outcome(comm, f"job:{tenant_a.pk}-7") == "ok"
        assert await outcome(comm, f"job:{tenant_b.pk}-7") == "forbidden"
        await comm.disconnect()


@async_test
async def test_a_multi_tenant_users_ticket_covers_the_tenant_it_was_issued_for(
    owner_a, tenant_b, session_client
):
    from apps.accounts.services import membership_create
    from tests.realtime.conftest import connected, issue_ticket

    await sync_to_async(membership_create)(tenant=tenant_b, user=owner_a, role="viewer")
    client = await sync_to_async(session_client)(owner_a)
    client.credentials(HTTP_X_TENANT="tenant-b")
    comm = await connected(ticket=await sync_to_async(issue_ticket)(client))
    assert await outcome(comm, "tenant:tenant-b") == "ok"
    assert await outcome(comm, "tenant:tenant-a") == "forbidden"
    await comm.disconnect()
    # Its session cookie, which a browser cannot scope, covers every membership.
    comm = await connected_as(owner_a)
    assert await outcome(comm, "tenant:tenant-a") == "ok"
    assert await outcome(comm, "tenant:tenant-b") == "ok"
    await comm.disconnect()


@async_test
async def test_a_revoked_keys_ticket_cannot_be_used(tenant_a, owner_a):
    client = await sync_to_async(key_client)(tenant_a, owner_a, ["read"])
    from apps.accounts.services import api_key_revoke
    from tests.realtime.conftest import communicator, issue_ticket

    ticket = await sync_to_async(issue_ticket)(client)
    await sync_to_async(api_key_revoke)(api_key=client.api_key)
    ok, _ = await communicator(ticket=ticket).connect()
    assert not ok
