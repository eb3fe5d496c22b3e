"""System checks for ``CADML_API_VERSIONS``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

from apps.versioning.registry import RegistryError, parse


@register()
def check_api_versions(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    try:
        versions = parse(settings.CADML_API_VERSIONS)
    except RegistryError as exc:
        return [Error(str(exc), id="versioning.E001")]
    errors: list[Error] = []
    for version in versions.values():
        if (
            version.deprecated_at
            and version.sunset_at
            and version.sunset_at < version.deprecated_at
        ) or (version.sunset_at and not version.deprecated_at):
            errors.append(
                Error(
                    f"API {version.name} is sunset ({version.sunset_at:%Y-%m-%d}) "
                    "before it is deprecated "
                    + (
                        f"({version.deprecated_at:%Y-%m-%d})"
                        if version.deprecated_at
                        else "(no deprecated_at)"
                    ),
                    hint="set deprecated_at earlier than sunset_at: clients need "
                    "the Deprecation header before the version goes",
                    id="versioning.E002",
                )
            )
        if version.successor and version.successor not in versions:
            errors.append(
                Error(
                    f"API {version.name}'s successor {version.successor!r} is not "
                    "in CADML_API_VERSIONS",
                    id="versioning.E003",
                )
            )
    current = [v.name for v in versions.values() if v.status == "current"]
    if len(current) != 1:
        errors.append(
            Error(
                f"CADML_API_VERSIONS needs exactly one 'current' version, has "
                f"{len(current)} ({', '.join(current) or 'none'})",
                id="versioning.E004",
            )
        )
    return errors
