"""The request a tenant-scoped API view receives, as the type checker sees it.

``PrincipalMiddleware`` sets ``tenant``, ``api_key`` and ``membership`` on every
request, and ``HasTenantScope`` runs a view only when there is a tenant: views
read ``request.tenant`` as a ``Tenant``. At run time this is DRF's ``Request``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rest_framework.request import Request as _DRFRequest

if TYPE_CHECKING:
    from django.http import HttpRequest

    from apps.accounts.models import ApiKey, Membership, Tenant

    class PrincipalHttpRequest(HttpRequest):
        tenant: Tenant | None
        api_key: ApiKey | None
        membership: Membership | None

    class Request(_DRFRequest):
        # JSON bodies are objects (cadml.lib.parsers), forms a QueryDict.
        @property
        def data(self) -> dict[str, Any]: ...

        tenant: Tenant
        api_key: ApiKey | None
        membership: Membership | None
        _request: PrincipalHttpRequest

else:
    Request = _DRFRequest
