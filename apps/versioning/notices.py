"""Once a day per tenant, a realtime notice while it calls a deprecated version.

The event goes to ``tenant:<slug>`` through ``apps.realtime.services.publish``
when the realtime app is installed. ``cache.add`` makes "once a day" hold across
processes where the cache is shared (Redis); a per-process set spares the cache
round trip on every later call of the day.
"""

from __future__ import annotations

import logging
from importlib import import_module
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from apps.versioning.registry import ApiVersion
from cadml.lib.channels import tenant_channel

logger = logging.getLogger(__name__)
EVENT_TYPE = "api.deprecation"
_noticed: set[tuple[int, str, str]] = set()


def _publisher() -> Any:
    try:
        return import_module("apps.realtime.services").publish
    except (ImportError, AttributeError):
        return None


def notify_deprecated_use(*, tenant: Any, version: ApiVersion, status: str) -> bool:
    """Publish today's notice for ``tenant`` unless it went out already."""
    day = timezone.now().date().isoformat()
    key = (tenant.pk, version.name, day)
    if key in _noticed:
        return False
    _noticed.add(key)
    if len(_noticed) > 100_000:  # a new day: forget the old ones
        _noticed.intersection_update({k for k in _noticed if k[2] == day})
    publish = _publisher()
    if publish is None:
        return False
    try:
        if not cache.add(
            f"versioning:notice:{tenant.pk}:{version.name}:{day}", 1, 86400
        ):
            return False
        publish(
            tenant_channel(tenant.slug),
            EVENT_TYPE,
            {
                "version": version.name,
                "status": status,
                "deprecated_at": version.deprecated_at.isoformat()
                if version.deprecated_at
                else None,
                "sunset_at": version.sunset_at.isoformat()
                if version.sunset_at
                else None,
                "successor": version.successor,
                "docs": version.docs,
                "message": f"this tenant still calls API {version.name}, which is "
                f"{status}; move to {version.successor or 'the current version'}",
            },
        )
        return True
    except Exception:  # a notice must never fail the request it rides on
        logger.exception("could not publish the deprecation notice")
        return False
