"""Signed webhook delivery with SSRF protection, and a job's deliveries.

Signature (ARCHITECTURE.md): ``X-Cadml-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
"<t>.<body>">`` keyed with the tenant's ``webhook_secret``; after a rotation a
second ``v1=`` made with the previous secret follows, until its grace period ends.

A URL is checked when the job is submitted (a 400 the caller can fix) and again,
with a fresh DNS lookup, right before every delivery (DNS can change in between).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from apps.batch import completion, events
from apps.batch.models import BatchJob, WebhookDelivery
from cadml.lib.errors import InvalidInput


def sign(secret: str | Sequence[str], body: bytes, timestamp: int | None = None) -> str:
    """``t=<unix>,v1=<hex>``, with one ``v1`` per secret (two while a rotated
    secret's grace period lasts: a receiver accepts the request if any matches)."""
    t = int(time.time()) if timestamp is None else timestamp
    keys = [secret] if isinstance(secret, str) else list(secret)
    signed = f"{t}.".encode() + body
    macs = [hmac.new(k.encode(), signed, hashlib.sha256).hexdigest() for k in keys]
    return ",".join([f"t={t}", *(f"v1={mac}" for mac in macs)])


def verify(secret: str, body: bytes, header: str, tolerance_s: int = 300) -> bool:
    """What a receiver does (docs/webhooks.md); used by our tests."""
    pairs = [p.strip().split("=", 1) for p in header.split(",") if "=" in p]
    stamps = [v for k, v in pairs if k == "t"]
    try:
        t = int(stamps[0])
    except (IndexError, ValueError):
        return False
    if abs(time.time() - t) > tolerance_s:
        return False
    expected = sign(secret, body, t).split("v1=", 1)[1]
    return any(hmac.compare_digest(expected, v) for k, v in pairs if k == "v1")


def _allowlist() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    raw = settings.CADML_WEBHOOK_ALLOWLIST or []
    return [ipaddress.ip_network(entry, strict=False) for entry in raw]


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 forms that carry an IPv4 address: judged by the address they lead to.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Never public, whatever this Python's ``is_global`` says of them: site-local
# (deprecated, still routed inside some networks), local-use NAT64, Teredo (a
# tunnel to an address the server cannot see).
_NEVER = (
    ipaddress.ip_network("fec0::/10"),
    ipaddress.ip_network("64:ff9b:1::/48"),
    ipaddress.ip_network("2001::/32"),
)


def is_public(ip: IPAddress) -> bool:
    """Only globally routable unicast addresses are webhook targets."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_public(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            return is_public(ip.sixtofour)
        if ip in _NAT64:
            return is_public(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if any(ip in net for net in _NEVER):
            return False
    return ip.is_global and not ip.is_multicast


def _refused(ip: IPAddress) -> bool:
    if any(ip in net for net in _allowlist()):
        return False
    return not is_public(ip)


def url_check(url: str) -> None:
    """Raise ``InvalidInput`` unless ``url`` is a deliverable public address."""
    parts = urlsplit(url)
    allowed = {"https"} if not settings.DEBUG else {"https", "http"}
    if parts.scheme not in allowed:
        raise InvalidInput(
            f"callback_url must use {' or '.join(sorted(allowed))}",
            code="callback_url_scheme",
        )
    if not parts.hostname:
        raise InvalidInput("callback_url has no host", code="callback_url_invalid")
    if parts.username or parts.password:
        raise InvalidInput(
            "callback_url may not carry credentials", code="callback_url_invalid"
        )
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, ValueError, UnicodeError):
        raise InvalidInput(
            f"callback_url host {parts.hostname!r} does not resolve",
            code="callback_url_unresolvable",
        ) from None
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if _refused(ip):
            raise InvalidInput(
                f"callback_url resolves to {ip}, which is not a public address "
                "(private, shared, loopback, link-local, multicast, reserved or a "
                "tunnel to one); webhooks only go to public hosts",
                code="callback_url_forbidden",
            )


@dataclass
class Attempt:
    ok: bool
    status_code: int | None
    error: str
    duration_ms: float


def deliver(
    *, url: str, secret: str | Sequence[str], event: str, payload: dict[str, Any]
) -> Attempt:
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    t0 = time.perf_counter()
    try:
        url_check(url)
        response = httpx.post(
            url,
            content=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "cadml-webhooks/1",
                "X-Cadml-Event": event,
                "X-Cadml-Signature": sign(secret, body),
            },
            timeout=float(settings.CADML_WEBHOOK_TIMEOUT_S),
            follow_redirects=False,
        )
    except InvalidInput as exc:
        return Attempt(False, None, exc.message, _ms(t0))
    except httpx.HTTPError as exc:
        return Attempt(False, None, f"{type(exc).__name__}: {exc}", _ms(t0))
    ok = 200 <= response.status_code < 300
    error = "" if ok else f"receiver answered {response.status_code}"
    return Attempt(ok, response.status_code, error, _ms(t0))


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 3)


def webhook_attempt(*, job_id: int, attempt: int) -> float | None:
    """Deliver the job's webhook once and record it; the delay before the next
    try (``CADML_WEBHOOK_BACKOFF_S``, doubling), or None when done."""
    job = BatchJob.objects.select_related("tenant").get(pk=job_id)
    if not job.callback_url:
        return None
    event = completion.FINAL_EVENT.get(job.status, "batch.completed")
    result = deliver(
        url=job.callback_url,
        secret=job.tenant.webhook_signing_secrets(),
        event=event,
        payload={
            "event": event,
            "attempt": attempt,
            "job": completion.job_payload(job),
        },
    )
    WebhookDelivery.objects.create(
        job=job,
        attempt=attempt,
        url=job.callback_url,
        event=event,
        status_code=result.status_code,
        ok=result.ok,
        error=result.error[:2000],
        duration_ms=result.duration_ms,
    )
    if result.ok:
        events.audit(
            "webhook.delivered",
            tenant=job.tenant,
            job_id=job.pk,
            details={"attempt": attempt, "status_code": result.status_code},
        )
        return None
    if attempt >= int(settings.CADML_WEBHOOK_MAX_ATTEMPTS):
        events.audit(
            "webhook.failed",
            tenant=job.tenant,
            job_id=job.pk,
            details={"attempts": attempt, "error": result.error[:500]},
        )
        return None
    return float(settings.CADML_WEBHOOK_BACKOFF_S) * 2 ** (attempt - 1)
