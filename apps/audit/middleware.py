"""One ``api.call`` event per API request, plus the security events a response
reveals (``apikey.rejected`` for a refused key, ``authz.denied`` for a 403).

Sits right after the principal (and rate-limit) middleware, so it knows who called
and for which tenant. ``api.call`` goes through the in-process buffer (see
``apps.audit.buffer``); security events are written at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from apps.accounts import keys
from apps.accounts.middleware import presented_key
from apps.accounts.models import ApiKey
from apps.audit.buffer import buffer
from apps.audit.context import auditlog_actor, current_actor
from apps.audit.models import Action, Outcome
from apps.audit.services import (
    actor_from_request,
    audit_record,
    build_event,
    client_ip,
)

logger = logging.getLogger(__name__)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _outcome(status: int) -> str:
    if status in (401, 403):
        return Outcome.DENIED
    if status >= 400:
        return Outcome.FAILURE
    return Outcome.SUCCESS


class AuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not settings.CADML_AUDIT_ENABLED or not any(
            request.path.startswith(p) for p in settings.CADML_AUDIT_PATH_PREFIXES
        ):
            return self.get_response(request)
        started = time.perf_counter()
        # Services called by this request (key created, model activated...) write
        # their events with this actor, address and user agent.
        token = current_actor.set(actor_from_request(request))
        try:
            if request.method in SAFE_METHODS:
                response = self.get_response(request)
            else:
                # Model changes (django-auditlog) made by this request carry its
                # actor and address. Only writes change tracked models, and
                # connecting auditlog's receiver costs a little, so reads skip it.
                api_key = getattr(request, "api_key", None)
                user = getattr(request, "user", None)
                if api_key is not None or user is None or not user.is_authenticated:
                    user = None
                with auditlog_actor(
                    user=user,
                    key_prefix=api_key.prefix if api_key is not None else "",
                    ip=client_ip(request),
                ):
                    response = self.get_response(request)
            try:
                self.record(request, response, time.perf_counter() - started)
            except Exception:
                # The response stands: a broken audit write (e.g. inside a
                # transaction the view left unusable) must not become a 500.
                logger.exception("audit: could not record %s", request.path)
        finally:
            current_actor.reset(token)
        return response

    def record(
        self, request: HttpRequest, response: HttpResponse, duration_s: float
    ) -> None:
        match = getattr(request, "resolver_match", None)
        route = "/" + match.route if match is not None and match.route else ""
        status = response.status_code
        call = {
            "method": request.method,
            "route": route or "(unresolved)",
            "status": status,
            "duration_ms": round(duration_s * 1000, 2),
        }
        auth_error = getattr(request, "auth_error", None)
        if auth_error is not None:
            presented = _presented_prefix(request)
            known = (
                ApiKey.objects.filter(prefix=presented).select_related("tenant").first()
                if presented
                else None
            )
            audit_record(
                action=Action.APIKEY_REJECTED,
                outcome=Outcome.DENIED,
                request=request,
                # A revoked or expired key still names its tenant: its admins see it.
                tenant=known.tenant if known is not None else None,
                actor_key_prefix=presented,
                resource_type="api_key",
                details={"reason": auth_error.code, **call},
            )
        elif status == 403:
            audit_record(
                action=Action.AUTHZ_DENIED,
                outcome=Outcome.DENIED,
                request=request,
                details={"reason": _reason(response), **call},
            )
        event = build_event(
            action=Action.API_CALL,
            outcome=_outcome(status),
            request=request,
            resource_type="route",
            resource_id=route[:64],
            details=call,
        )
        interval_ms = settings.CADML_AUDIT_BUFFER_MS
        if interval_ms > 0:
            buffer.add(event, interval_s=interval_ms / 1000)
        else:
            event.save()


def _presented_prefix(request: HttpRequest) -> str:
    plaintext = presented_key(request) or ""
    # Only the public prefix of a well-formed key is kept; never the secret part.
    return keys.parse_prefix(plaintext) or ""


def _reason(response: HttpResponse) -> str:
    data = getattr(response, "data", None)
    if isinstance(data, dict):
        return str(data.get("detail", ""))[:200]
    return ""
