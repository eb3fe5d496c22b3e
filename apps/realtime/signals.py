"""Receivers connected in ``RealtimeConfig.ready``: other apps' live notices
(``cadml.lib.events.announce``) go out on their channels, and a user who loses
rights has their open sockets closed."""

from __future__ import annotations

from typing import Any

from apps.realtime.services import (
    api_key_connections_close_on_commit,
    publish,
    user_connections_close_on_commit,
)
from cadml.lib import events


def notice_announced(sender: Any, notice: events.Notice, **kwargs: Any) -> None:
    # Each channel on its own: one failing publish must not silence the others
    # (events.announce logs what this raises).
    failures: list[Exception] = []
    for channel in notice.channels:
        try:
            publish(channel, notice.type, notice.data)
        except Exception as exc:  # noqa: BLE001 - collected, re-raised below
            failures.append(exc)
    if failures:
        raise failures[0]


def membership_deleted(sender: type, instance: Any, **kwargs: Any) -> None:
    user_connections_close_on_commit(
        user_id=instance.user_id,
        reason=f"a membership of this user was removed (tenant {instance.tenant_id})",
    )


def api_key_saved(
    sender: type,
    instance: Any,
    created: bool,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    # accounts does not know realtime: a revoked key's sockets close on commit.
    if created or instance.revoked_at is None:
        return
    if update_fields is not None and "revoked_at" not in update_fields:
        return
    api_key_connections_close_on_commit(api_key_id=instance.pk)


def user_saved(
    sender: type,
    instance: Any,
    created: bool,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    if created or instance.is_active:
        return
    if update_fields is not None and "is_active" not in update_fields:
        return
    user_connections_close_on_commit(
        user_id=instance.pk, reason="this user was deactivated"
    )
