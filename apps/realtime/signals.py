"""Receivers that close a user's open sockets when the user loses rights
(connected in ``RealtimeConfig.ready``)."""

from __future__ import annotations

from typing import Any

from apps.realtime.services import user_connections_close_on_commit


def membership_deleted(sender: type, instance: Any, **kwargs: Any) -> None:
    user_connections_close_on_commit(
        user_id=instance.user_id,
        reason=f"a membership of this user was removed (tenant {instance.tenant_id})",
    )


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
