"""What audit listens to: Django's auth signals (sign-in events), tenant deletion
(crypto-shredding) and every app's ``cadml.lib.events.record`` (the emitting app
does not know audit exists)."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.signals import (
    user_logged_in,
    user_logged_out,
    user_login_failed,
)
from django.db.models.signals import post_delete
from django.http import HttpRequest

from apps.accounts.models import Membership, Tenant
from apps.audit.context import current_actor
from apps.audit.keys import audit_tenant_shred
from apps.audit.models import Action, AuditDataKey, Outcome
from apps.audit.services import audit_record
from cadml.lib import events

logger = logging.getLogger(__name__)


def on_login(
    sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any
) -> None:
    audit_record(
        action=Action.AUTH_LOGIN,
        request=request,
        actor_user=user,
        tenant=getattr(request, "tenant", None) if request is not None else None,
        resource_type="user",
        resource_id=user.pk,
    )


def on_logout(
    sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any
) -> None:
    if user is None:  # logging out an anonymous session
        return
    audit_record(
        action=Action.AUTH_LOGOUT,
        request=request,
        actor_user=user,
        resource_type="user",
        resource_id=user.pk,
    )


def on_login_failed(
    sender: Any,
    credentials: dict[str, Any],
    request: HttpRequest | None = None,
    **kwargs: Any,
) -> None:
    # Django has already masked the password; keep only the username tried.
    username = str(credentials.get("username", ""))[:150]
    audit_record(
        action=Action.AUTH_LOGIN_FAILED,
        outcome=Outcome.FAILURE,
        request=request,
        tenant=_sole_tenant(username),
        resource_type="user",
        details={"username": username},
    )


def _sole_tenant(username: str) -> Tenant | None:
    """The tenant of a user who belongs to exactly one, so its admins see attempts
    on their member's account; otherwise (unknown user, several tenants) none."""
    tenants = list(
        Membership.objects.filter(user__username=username).values_list(
            "tenant", flat=True
        )[:2]
    )
    if len(tenants) != 1:
        return None
    return Tenant.objects.filter(pk=tenants[0]).first()


def on_tenant_deleted(sender: Any, instance: Tenant, **kwargs: Any) -> None:
    """A deleted tenant's audit keys go with it (crypto-shredding), unless it was
    on legal hold: then they stay, and ``audit_shred`` can be run once the hold
    is lifted (it takes the id of a deleted tenant)."""
    if instance.legal_hold:
        logger.warning(
            "tenant %s deleted while on legal hold: its audit keys are kept",
            instance.pk,
        )
        return
    if AuditDataKey.objects.filter(
        tenant_id=instance.pk, shredded__isnull=True
    ).exists():
        audit_tenant_shred(tenant_id=instance.pk, legal_hold=False)


def on_recorded(sender: Any, event: events.Record, **kwargs: Any) -> None:
    """Write the app's fact as an audit event, in the emitter's transaction."""
    extra: dict[str, Any] = {"outcome": event.outcome} if event.outcome else {}
    if event.ip is not None:
        extra["ip"] = event.ip
    actor_user = event.actor_user
    if actor_user is None and event.request is None and current_actor.get() is None:
        actor_user = event.fallback_user
    audit_record(
        action=event.action,
        request=event.request,
        tenant=event.tenant,
        actor_user=actor_user,
        actor_key_prefix=event.actor_key_prefix,
        actor_system=event.actor_system,
        resource_type=event.resource_type,
        resource_id=event.resource_id,
        details=dict(event.details),
        **extra,
    )


def connect() -> None:
    events.recorded.connect(on_recorded, dispatch_uid="audit.events.recorded")
    post_delete.connect(
        on_tenant_deleted, sender=Tenant, dispatch_uid="audit.tenant.shred"
    )
    user_logged_in.connect(on_login, dispatch_uid="audit.auth.login")
    user_logged_out.connect(on_logout, dispatch_uid="audit.auth.logout")
    user_login_failed.connect(on_login_failed, dispatch_uid="audit.auth.login_failed")
