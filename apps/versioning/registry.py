"""The API version registry: ``settings.CADML_API_VERSIONS`` parsed once.

Each entry is keyed by its URL namespace (``"v1"``) and says its status
(current / supported / deprecated / sunset), its deprecation and sunset dates,
where its documentation and changelog live, its successor and the features it
offers. A version whose deprecation (or sunset) date has passed behaves as
deprecated (or sunset) without a deploy: the dates are the source of truth, the
status is the floor.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

STATUSES = ("current", "supported", "deprecated", "sunset")
_VERSION = re.compile(r"^v?(\d+)$", re.IGNORECASE)


class RegistryError(ValueError):
    pass


@dataclass(frozen=True)
class ApiVersion:
    name: str  # the URL namespace and request.version: "v2"
    status: str
    deprecated_at: datetime | None = None
    sunset_at: datetime | None = None
    docs: str = ""
    changelog: tuple[str, ...] = ()
    successor: str | None = None
    features: frozenset[str] = field(default_factory=frozenset)
    # Precomputed header values: the same for every response of the version.
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def number(self) -> str:
        """What ``API-Version`` and ``meta.api_version`` say: ``"2"``."""
        return self.name[1:]

    def effective_status(self, now: datetime | None = None) -> str:
        now = now or timezone.now()
        if self.status == "sunset" or (self.sunset_at and now >= self.sunset_at):
            return "sunset"
        if self.status == "deprecated" or (
            self.deprecated_at and now >= self.deprecated_at
        ):
            return "deprecated"
        return self.status

    def has(self, feature: str) -> bool:
        return feature in self.features


def _when(raw: object, *, name: str, key: str) -> datetime | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, datetime):
        value = raw
    else:
        text = str(raw)
        parsed = parse_datetime(text)
        if parsed is None and (day := parse_date(text)) is not None:
            parsed = datetime(day.year, day.month, day.day)
        if parsed is None:
            raise RegistryError(
                f"CADML_API_VERSIONS[{name!r}][{key!r}] = {raw!r} is not an ISO "
                "8601 date or date-time"
            )
        value = parsed
    if timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value


def normalize(value: str) -> str | None:
    """``"2"``, ``"v2"``, ``"V2"`` -> ``"v2"``; None when it is not a version."""
    match = _VERSION.match(value.strip())
    return f"v{int(match.group(1))}" if match else None


def _headers(version: ApiVersion) -> tuple[tuple[str, str], ...]:
    from django.utils.http import http_date

    out = [("API-Version", version.number)]
    if version.deprecated_at:
        # RFC 9745: a structured-field date, "@" + Unix seconds.
        out.append(("Deprecation", f"@{int(version.deprecated_at.timestamp())}"))
    if version.sunset_at:
        out.append(("Sunset", http_date(version.sunset_at.timestamp())))  # RFC 8594
    if version.docs and (version.deprecated_at or version.sunset_at):
        out.append(("Link", f'<{version.docs}>; rel="deprecation"'))
    return tuple(out)


def parse(raw: dict[str, dict]) -> dict[str, ApiVersion]:
    """Validate and build the registry; raises RegistryError naming the problem."""
    if not isinstance(raw, dict) or not raw:
        raise RegistryError("CADML_API_VERSIONS must be a non-empty dict")
    out: dict[str, ApiVersion] = {}
    for name, spec in raw.items():
        if normalize(name) != name:
            raise RegistryError(
                f"CADML_API_VERSIONS key {name!r} must look like 'v1', 'v2'"
            )
        status = spec.get("status", "supported")
        if status not in STATUSES:
            raise RegistryError(
                f"CADML_API_VERSIONS[{name!r}]['status'] = {status!r}; "
                f"use one of {', '.join(STATUSES)}"
            )
        version = ApiVersion(
            name=name,
            status=status,
            deprecated_at=_when(
                spec.get("deprecated_at"), name=name, key="deprecated_at"
            ),
            sunset_at=_when(spec.get("sunset_at"), name=name, key="sunset_at"),
            docs=spec.get("docs", ""),
            changelog=tuple(spec.get("changelog", ())),
            successor=spec.get("successor"),
            features=frozenset(spec.get("features", ())),
        )
        out[name] = dataclasses.replace(version, headers=_headers(version))
    return out


@functools.cache
def versions() -> dict[str, ApiVersion]:
    return parse(settings.CADML_API_VERSIONS)


def clear_cache() -> None:
    versions.cache_clear()


def get(name: str) -> ApiVersion | None:
    return versions().get(name)


def current() -> ApiVersion:
    for version in versions().values():
        if version.status == "current":
            return version
    # The system check refuses a registry without one; be forgiving at runtime.
    return list(versions().values())[-1]


def supported_names() -> list[str]:
    return sorted((v.name for v in versions().values()), key=lambda n: int(n[1:]))
