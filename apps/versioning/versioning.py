"""DRF's NamespaceVersioning, plus the unversioned ``/api/`` alias."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.versioning import NamespaceVersioning

from apps.versioning import registry
from apps.versioning.negotiation import VersionError, header_version

UNVERSIONED_NAMESPACE = "api"


class CadmlNamespaceVersioning(NamespaceVersioning):
    """``request.version`` is the namespace (``v1``, ``v2``); in the unversioned
    namespace it is what the middleware negotiated from the headers."""

    invalid_version_message = "unknown API version"

    def determine_version(self, request: Request, *args: Any, **kwargs: Any) -> str:
        negotiated = getattr(request._request, "api_version", None)
        if negotiated:
            return negotiated
        # Outside the middleware (schema generation, direct view calls).
        match = getattr(request, "resolver_match", None)
        namespaces = match.namespace.split(":") if match and match.namespace else []
        for namespace in namespaces:
            if registry.get(namespace):
                return namespace
        try:
            return header_version(request._request) or registry.current().name
        except VersionError as exc:
            raise exceptions.NotFound(exc.detail) from None

    def is_allowed_version(self, version: str | None) -> bool:
        return version is not None and registry.get(version) is not None
