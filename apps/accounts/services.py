"""Writes for tenants, memberships and API keys."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts import keys
from apps.accounts.models import (
    ApiKey,
    Membership,
    Scope,
    Tenant,
    new_webhook_secret,
)
from cadml.lib import events
from cadml.lib.cache import CACHE_ERRORS
from cadml.lib.channels import tenant_channel
from cadml.lib.errors import AuthenticationError, Conflict, InvalidInput

logger = logging.getLogger(__name__)
LAST_USED_RESOLUTION = timedelta(minutes=1)
VALID_SCOPES = frozenset(Scope.values)


@dataclass(frozen=True)
class IssuedKey:
    """A key as created: the only moment its plaintext exists."""

    api_key: ApiKey
    plaintext: str


@dataclass(frozen=True)
class AddedMember:
    """A membership as created; ``password`` is set only for a new user whose
    password was generated (shown once, stored hashed)."""

    membership: Membership
    created_user: bool
    password: str | None


@dataclass(frozen=True)
class Onboarded:
    tenant: Tenant
    owner: User
    password: str | None
    key: IssuedKey


def _key_cache_key(prefix: str) -> str:
    return f"apikey:{prefix}"


# The key cache only saves a query: when Redis is gone the database answers, so
# losing the cache slows authentication down instead of failing every request.
def _cache_get(cache_key: str) -> ApiKey | None:
    try:
        return cache.get(cache_key)
    except CACHE_ERRORS:
        logger.warning("API key cache unavailable; reading the key from the database")
        return None


def _cache_set(cache_key: str, api_key: ApiKey) -> None:
    try:
        cache.set(cache_key, api_key, settings.CADML_AUTH_CACHE_S)
    except CACHE_ERRORS:
        logger.warning("API key cache unavailable; not caching the key")


def _cache_forget(prefix: str) -> None:
    # A failed delete leaves at most CADML_AUTH_CACHE_S of a stale entry, and
    # only if the same Redis comes back with its data (a restart empties it).
    try:
        cache.delete(_key_cache_key(prefix))
    except CACHE_ERRORS:
        logger.warning("API key cache unavailable; could not drop key %s", prefix)


def tenant_create(*, slug: str, name: str = "", plan: str = Tenant.Plan.FREE) -> Tenant:
    if Tenant.objects.filter(slug=slug).exists():
        raise Conflict(f"a tenant with slug {slug!r} already exists")
    tenant = Tenant(slug=slug, name=name or slug, plan=plan)
    tenant.full_clean()
    tenant.save()
    return tenant


def membership_create(*, tenant: Tenant, user: User, role: str) -> Membership:
    membership = Membership(tenant=tenant, user=user, role=role)
    membership.full_clean()
    membership.save()
    return membership


def _checked_password(password: str, user: User | None) -> str:
    from django.contrib.auth.password_validation import validate_password

    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), code="weak_password") from None
    return password


@transaction.atomic
def member_add(
    *, tenant: Tenant, username: str, role: str, password: str | None = None
) -> AddedMember:
    """Give ``username`` a ``role`` in ``tenant``, creating the user if needed.

    A new user gets ``password`` or, without one, a generated password that is
    returned once. An existing user keeps theirs unless ``password`` is given.
    Already a member of the tenant: 409.
    """
    if role not in Membership.Role.values:
        raise InvalidInput(
            f"role must be one of {', '.join(Membership.Role.values)}",
            code="bad_role",
        )
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    created = user is None
    shown = None
    if user is None:
        user = user_model(username=username)
        try:
            user.full_clean(exclude=["password"])
        except ValidationError as exc:
            messages = exc.message_dict.get("username") or exc.messages
            raise InvalidInput(
                f"username: {' '.join(messages)}", code="bad_username"
            ) from None
        if password is None:
            shown = password = secrets.token_urlsafe(12)
        user.set_password(_checked_password(password, user))
        user.save()
    else:
        existing = Membership.objects.filter(tenant=tenant, user=user).first()
        if existing is not None:
            raise Conflict(
                f"{username} is already a member of {tenant.slug} "
                f"(role {existing.role})"
            )
        if password is not None:
            user.set_password(_checked_password(password, user))
            user.save(update_fields=["password"])
    membership = membership_create(tenant=tenant, user=user, role=role)
    return AddedMember(membership=membership, created_user=created, password=shown)


def user_password_reset(*, user: User, password: str | None = None) -> str:
    """Set ``password`` (checked by the password validators) or a generated
    one, and return it. Sessions signed with the old password end."""
    new = password if password is not None else secrets.token_urlsafe(12)
    user.set_password(_checked_password(new, user) if password is not None else new)
    user.save(update_fields=["password"])
    return new


@transaction.atomic
def tenant_onboard(
    *, slug: str, plan: str, owner_username: str, password: str | None = None
) -> Onboarded:
    """Create a tenant, its owner (a new user unless one exists) and a first key."""
    user_model = get_user_model()
    tenant = tenant_create(slug=slug, plan=plan)
    owner = user_model.objects.filter(username=owner_username).first()
    new_password = None
    if owner is None:
        new_password = password or secrets.token_urlsafe(12)
        owner = user_model.objects.create_user(
            username=owner_username, password=new_password
        )
    elif password:
        owner.set_password(password)
        owner.save(update_fields=["password"])
    membership_create(tenant=tenant, user=owner, role=Membership.Role.OWNER)
    issued = api_key_create(
        tenant=tenant,
        name="default",
        scopes=["read", "write", "admin"],
        created_by=owner,
    )
    return Onboarded(tenant=tenant, owner=owner, password=new_password, key=issued)


@transaction.atomic
def tenant_webhook_secret_rotate(*, tenant: Tenant) -> Tenant:
    """Give the tenant a new webhook secret. The old one keeps signing, beside
    the new one, for ``CADML_WEBHOOK_SECRET_GRACE_S`` seconds."""
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    now = timezone.now()
    grace = timedelta(seconds=settings.CADML_WEBHOOK_SECRET_GRACE_S)
    locked.webhook_secret_previous = locked.webhook_secret if grace else ""
    locked.webhook_secret_previous_until = now + grace if grace else None
    locked.webhook_secret = new_webhook_secret()
    locked.save(
        update_fields=[
            "webhook_secret",
            "webhook_secret_previous",
            "webhook_secret_previous_until",
        ]
    )
    return locked


def _clean_scopes(scopes: Iterable[str]) -> list[str]:
    scope_list = list(dict.fromkeys(scopes))
    unknown = [s for s in scope_list if s not in VALID_SCOPES]
    if unknown or not scope_list:
        raise InvalidInput(
            f"scopes must be a non-empty list drawn from {sorted(VALID_SCOPES)}"
            + (f"; unknown: {unknown}" if unknown else "")
        )
    return scope_list


@transaction.atomic
def api_key_create(
    *,
    tenant: Tenant,
    name: str,
    scopes: Iterable[str],
    created_by: User | None,
    expires_at: datetime | None = None,
) -> IssuedKey:
    new = keys.generate()
    api_key = ApiKey(
        tenant=tenant,
        name=name,
        prefix=new.prefix,
        secret_hash=new.secret_hash,
        scopes=_clean_scopes(scopes),
        created_by=created_by,
        expires_at=expires_at,
    )
    api_key.full_clean()
    api_key.save()
    _key_record("apikey.created", api_key, fallback_user=created_by)
    events.announce(
        "accounts",
        channels=[tenant_channel(tenant.slug)],
        type="api_key.created",
        data={
            "id": api_key.pk,
            "name": api_key.name,
            "prefix": api_key.prefix,
            "scopes": api_key.scopes,
            "created_by": getattr(created_by, "username", None),
        },
        on_commit=True,
    )
    return IssuedKey(api_key=api_key, plaintext=new.plaintext)


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        # Realtime closes the key's open sockets on this save (post_save).
        api_key.save(update_fields=["revoked_at"])
        _key_record("apikey.revoked", api_key)
        events.announce(
            "accounts",
            channels=[tenant_channel(api_key.tenant.slug)],
            type="api_key.revoked",
            data={"id": api_key.pk, "name": api_key.name, "prefix": api_key.prefix},
            on_commit=True,
        )
    _cache_forget(api_key.prefix)
    return api_key


def _key_record(action: str, api_key: ApiKey, *, fallback_user: Any = None) -> None:
    # The actor is whoever the caller's context names (the request's key or
    # user, a command's); the key's creator only where nothing does.
    events.record(
        "accounts",
        action=action,
        tenant=api_key.tenant,
        fallback_user=fallback_user,
        resource_type="api_key",
        resource_id=api_key.pk,
        details={
            "prefix": api_key.prefix,
            "name": api_key.name,
            "scopes": list(api_key.scopes),
        },
    )


@transaction.atomic
def api_key_rotate(
    *, api_key: ApiKey, created_by: User | None, grace_hours: float = 24
) -> IssuedKey:
    """Issue a successor with the same name and scopes; the old key expires after
    the grace period so clients can switch without downtime."""
    if not api_key.is_active():
        raise Conflict("only an active key can be rotated")
    if grace_hours < 0 or grace_hours > 24 * 30:
        raise InvalidInput("grace_hours must be between 0 and 720")
    locked = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if locked.rotated_to_id is not None:
        raise Conflict("this key has already been rotated")
    issued = api_key_create(
        tenant=locked.tenant,
        name=locked.name,
        scopes=locked.scopes,
        created_by=created_by,
        expires_at=locked.expires_at,
    )
    grace_end = timezone.now() + timedelta(hours=grace_hours)
    locked.expires_at = min(grace_end, locked.expires_at or grace_end)
    locked.rotated_to = issued.api_key
    locked.save(update_fields=["expires_at", "rotated_to"])
    _cache_forget(locked.prefix)
    return issued


def api_key_authenticate(*, plaintext: str) -> ApiKey:
    """Resolve a presented key: one indexed query by prefix, then a constant-time
    hash comparison. The row is cached briefly so steady traffic costs no query."""
    prefix = keys.parse_prefix(plaintext)
    if prefix is None:
        raise AuthenticationError(
            "malformed API key: expected 'cadml_<12 characters>_<43 characters>'",
            code="malformed_key",
        )
    cache_key = _key_cache_key(prefix)
    api_key = _cache_get(cache_key)
    if api_key is None:
        api_key = (
            ApiKey.objects.select_related("tenant", "created_by")
            .filter(prefix=prefix)
            .first()
        )
        if api_key is not None:
            _cache_set(cache_key, api_key)
    if api_key is None or not keys.matches(plaintext, api_key.secret_hash):
        raise AuthenticationError("invalid API key", code="invalid_key")
    now = timezone.now()
    if api_key.revoked_at is not None:
        raise AuthenticationError("this API key has been revoked", code="revoked_key")
    if api_key.expires_at is not None and api_key.expires_at <= now:
        raise AuthenticationError("this API key has expired", code="expired_key")
    if (
        api_key.last_used_at is None
        or now - api_key.last_used_at >= LAST_USED_RESOLUTION
    ):
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
        _cache_set(cache_key, api_key)
    return api_key
