from __future__ import annotations

from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "apps.realtime"
    label = "realtime"
    verbose_name = "Realtime notifications"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save

        from apps.accounts.models import ApiKey, Membership
        from apps.realtime import (
            checks,  # noqa: F401  (registers the system checks)
            signals,
        )
        from cadml.lib import events

        events.announced.connect(
            signals.notice_announced, dispatch_uid="realtime.notice_announced"
        )
        # accounts does not know realtime: a removed membership, a deactivated
        # user or a revoked key closes the sockets it opened.
        post_delete.connect(
            signals.membership_deleted,
            sender=Membership,
            dispatch_uid="realtime.membership_deleted",
        )
        post_save.connect(
            signals.api_key_saved,
            sender=ApiKey,
            dispatch_uid="realtime.api_key_saved",
        )
        post_save.connect(
            signals.user_saved,
            sender=get_user_model(),
            dispatch_uid="realtime.user_saved",
        )
