"""Which API version a request asks for: the path, else the headers, else current.

``/api/v1/...`` and ``/api/v2/...`` name their version; the unversioned alias
``/api/...`` takes it from ``API-Version`` (or ``X-API-Version``) or from the
``version`` parameter of ``Accept: application/json; version=2``. A header that
contradicts the path, an unknown version and a malformed ``Accept`` parameter are
400s that say what to send instead.
"""

from __future__ import annotations

import re

from django.http import HttpRequest

from apps.versioning import registry

API_PREFIX = "/api/"
_VERSIONED_PATH = re.compile(r"^/api/(v\d+)(?:/|$)", re.IGNORECASE)
_VERSION_HEADERS = ("API-Version", "X-API-Version")


class VersionError(Exception):
    def __init__(self, detail: str, *, code: str = "invalid_version") -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.status_code = 400


def _supported() -> str:
    return ", ".join(registry.supported_names())


def _known(raw: str, *, source: str) -> str:
    name = registry.normalize(raw)
    if name is None or registry.get(name) is None:
        raise VersionError(
            f"{source} asks for API version {raw!r}, which does not exist; "
            f"supported versions: {_supported()}",
            code="unknown_version",
        )
    return name


def _accept_version(accept: str) -> str | None:
    """The ``version`` parameter of the Accept header, if any."""
    if "version" not in accept.lower():
        return None  # the common case: no parsing at all
    found: set[str] = set()
    for media_range in accept.split(","):
        for param in media_range.split(";")[1:]:
            key, sep, value = param.partition("=")
            if key.strip().lower() != "version":
                continue
            value = value.strip().strip('"')
            if not sep or not value:
                raise VersionError(
                    "malformed Accept header: the version parameter needs a "
                    'value, e.g. "Accept: application/json; version=2"',
                    code="malformed_accept",
                )
            found.add(_known(value, source="the Accept header"))
    if len(found) > 1:
        raise VersionError(
            "the Accept header names several API versions "
            f"({', '.join(sorted(found))}); ask for one",
            code="malformed_accept",
        )
    return found.pop() if found else None


def header_version(request: HttpRequest) -> str | None:
    asked: dict[str, str] = {}
    for header in _VERSION_HEADERS:
        raw = request.headers.get(header)
        if raw is not None:
            asked[header] = _known(raw, source=f"the {header} header")
    accept = _accept_version(request.headers.get("Accept", ""))
    if accept:
        asked["Accept"] = accept
    if len(set(asked.values())) > 1:
        said = "; ".join(f"{h}: {v}" for h, v in asked.items())
        raise VersionError(
            f"the request's headers ask for different API versions ({said}); send one",
            code="version_conflict",
        )
    return next(iter(asked.values()), None)


def path_version(path: str) -> str | None:
    """The version segment of ``/api/vN/...`` (possibly unknown), or None."""
    match = _VERSIONED_PATH.match(path)
    return match.group(1).lower() if match else None


def resolve_version(request: HttpRequest) -> str:
    """The version this API request is served in; raises VersionError."""
    in_path = path_version(request.path)
    if in_path is not None:
        in_path = _known(in_path, source=f"the path {request.path!r}")
    asked = header_version(request)
    if in_path and asked and asked != in_path:
        raise VersionError(
            f"the path says API version {in_path} but the headers ask for "
            f"{asked}; drop the header or use /api/{asked}/",
            code="version_conflict",
        )
    return in_path or asked or registry.current().name
