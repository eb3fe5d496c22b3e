"""Channel names, the Channels group each maps to, and who may subscribe.

Built-in kinds:

- ``user:<id>``      that user
- ``tenant:<slug>``  the tenant's members (and its API keys)
- ``model:<name>``   any authenticated principal
- ``topic:alerts``   staff and tenant admins
- ``job:<id>``       decided by the batch app's resolver

Other apps plug in a kind through ``CADML_REALTIME_CHANNEL_RESOLVERS``, a mapping
of kind to the dotted path of a function ``(principal, ident) -> bool``, called in
a worker thread (it may use the ORM). A forbidden and a non-existent channel get
the same answer, so a subscriber learns nothing about what exists.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string

from apps.realtime.principal import Principal

# The names live in cadml.lib (any app may build one); re-exported here.
from cadml.lib.channels import ALERTS_CHANNEL as ALERTS_CHANNEL
from cadml.lib.channels import job_channel as job_channel
from cadml.lib.channels import model_channel as model_channel
from cadml.lib.channels import tenant_channel as tenant_channel
from cadml.lib.channels import user_channel as user_channel
from cadml.lib.errors import InvalidInput

MAX_CHANNEL_LENGTH = 90
TOPICS = frozenset({"alerts"})

Resolver = Callable[[Principal, str], bool]

_IDENT = {
    "user": re.compile(r"[1-9][0-9]{0,18}"),
    "tenant": re.compile(r"[-a-zA-Z0-9_]{1,50}"),
    "job": re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"),
    "model": re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}"),
    "topic": re.compile(r"[a-z][a-z0-9_-]{0,31}"),
}
# Kinds added by resolvers share one conservative shape.
_PLUGIN_IDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_KIND = re.compile(r"[a-z][a-z0-9_]{0,15}")


def channel_parse(channel: object) -> tuple[str, str]:
    """``(kind, ident)`` of a well-formed channel name, else ``InvalidInput``."""
    if not isinstance(channel, str) or not channel:
        raise InvalidInput("channel must be a non-empty string like 'job:42'")
    if len(channel) > MAX_CHANNEL_LENGTH:
        raise InvalidInput(f"channel names are at most {MAX_CHANNEL_LENGTH} characters")
    kind, sep, ident = channel.partition(":")
    pattern = _IDENT.get(kind)
    if pattern is None and _KIND.fullmatch(kind) and kind in _resolvers():
        pattern = _PLUGIN_IDENT
    if not sep or pattern is None or not pattern.fullmatch(ident):
        raise InvalidInput(
            "channel must be one of user:<id>, tenant:<slug>, job:<id>, "
            "model:<name>, topic:<name>"
        )
    return kind, ident


def group_name(channel: str) -> str:
    """The Channels group of a (parsed, valid) channel. Group names allow only
    ``[A-Za-z0-9._-]``; idents never contain ':', so the mapping is one to one."""
    return "rt." + channel.replace(":", ".", 1)


@lru_cache(maxsize=1)
def _resolvers_cached(items: tuple[tuple[str, str], ...]) -> dict[str, Resolver]:
    return {kind: import_string(path) for kind, path in items}


def _resolvers() -> dict[str, Resolver]:
    configured = settings.CADML_REALTIME_CHANNEL_RESOLVERS or {}
    return _resolvers_cached(tuple(sorted(configured.items())))


def can_subscribe(principal: Principal, channel: str) -> bool:
    """Whether ``principal`` may subscribe to ``channel``. Synchronous: resolvers
    may query the database, so async callers wrap it in ``database_sync_to_async``.
    """
    try:
        kind, ident = channel_parse(channel)
    except InvalidInput:
        return False
    resolver = _resolvers().get(kind)
    if resolver is not None:
        return bool(resolver(principal, ident))
    if kind == "user":
        return principal.user_id is not None and str(principal.user_id) == ident
    if kind == "tenant":
        return principal.grant_for_slug(ident) is not None
    if kind == "model":
        return True
    if kind == "topic":
        return ident in TOPICS and (principal.is_staff or principal.is_tenant_admin())
    # job: without the batch app's resolver nobody may subscribe.
    return False
