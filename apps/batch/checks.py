from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.core.checks import Error, register


@register()
def batch_settings_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    for entry in settings.CADML_WEBHOOK_ALLOWLIST or []:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            errors.append(
                Error(
                    f"CADML_WEBHOOK_ALLOWLIST entry {entry!r} is not an IP or network",
                    hint="Use addresses or CIDR networks, e.g. 127.0.0.1 or 10.0.0.0/8",
                    id="batch.E001",
                )
            )
    table = settings.CADML_BATCH_CONCURRENCY
    if not isinstance(table, dict) or any(
        not isinstance(v, int) or v < 1 for v in table.values()
    ):
        errors.append(
            Error(
                "CADML_BATCH_CONCURRENCY must map plan names to positive integers",
                id="batch.E002",
            )
        )
    if int(settings.CADML_BATCH_MAX_ITEMS) < 1:
        errors.append(Error("CADML_BATCH_MAX_ITEMS must be >= 1", id="batch.E003"))
    for name in ("CADML_BATCH_SLICE_MS", "CADML_BATCH_SLICE_ITEMS"):
        if int(getattr(settings, name)) < 1:
            errors.append(
                Error(
                    f"{name} must be >= 1",
                    hint="A slice always runs at least the item it was sent for.",
                    id="batch.E004",
                )
            )
    return errors
