"""System checks for the realtime settings (run by ``manage.py check``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register
from django.utils.module_loading import import_string


@register()
def realtime_settings(app_configs: Any, **kwargs: Any) -> list[Error]:
    errors = []
    resolvers = settings.CADML_REALTIME_CHANNEL_RESOLVERS or {}
    if not isinstance(resolvers, dict):
        errors.append(
            Error(
                "CADML_REALTIME_CHANNEL_RESOLVERS must map a channel kind to the "
                "dotted path of a function (principal, ident) -> bool",
                id="realtime.E001",
            )
        )
        resolvers = {}
    for kind, path in resolvers.items():
        try:
            func = import_string(path)
        except ImportError as exc:
            errors.append(
                Error(
                    f"CADML_REALTIME_CHANNEL_RESOLVERS[{kind!r}]: cannot import "
                    f"{path!r} ({exc})",
                    id="realtime.E001",
                )
            )
            continue
        if not callable(func):
            errors.append(Error(f"{path!r} is not callable", id="realtime.E001"))
    for name in ("CADML_WS_HEARTBEAT_S", "CADML_WS_SLOT_TTL_S", "CADML_WS_HISTORY"):
        value = getattr(settings, name)
        if not isinstance(value, (int, float)) or value <= 0:
            errors.append(
                Error(f"{name} must be a positive number", id="realtime.E002")
            )
    limits = settings.CADML_WS_LIMITS
    if not (
        isinstance(limits, dict)
        and "free" in limits
        and all(
            isinstance(v, dict)
            and isinstance(v.get("per_user"), int)
            and isinstance(v.get("per_tenant"), int)
            for v in limits.values()
        )
    ):
        errors.append(
            Error(
                "CADML_WS_LIMITS must map plan -> {'per_user': int, "
                "'per_tenant': int}, with a 'free' entry (plans not listed get it)",
                id="realtime.E003",
            )
        )
    return errors
