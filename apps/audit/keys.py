"""Services for the audit trail's data keys: the encryption of new events, the
reading of encrypted ones, KEK rotation, data-key rotation and crypto-shredding.

Unwrapped keys are kept in process memory for ``CADML_AUDIT_KEY_CACHE_S``
seconds (never in a shared cache, never logged); decrypted values are never
cached at all.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apps.audit import crypto
from apps.audit.models import Action, AuditDataKey, AuditEvent

# The trail's own bookkeeping: written by commands and the retention job, read
# by ``audit_verify`` (which holds no keys), and carrying no tenant's personal
# data. These stay clear.
CLEAR_ACTIONS = frozenset(
    {Action.AUDIT_PURGED, Action.AUDIT_KEYS_ROTATED, Action.AUDIT_SHREDDED}
)
SHREDDED = "shredded"
UNREADABLE = "unreadable"
DECRYPTED = "decrypted"
CLEAR = "clear"


class KeyUnavailable(Exception):
    """A data key cannot be unwrapped by any configured KEK."""


class LegalHold(Exception):
    """The tenant is on legal hold: its audit trail must stay readable."""


@dataclass(frozen=True)
class LoadedKey:
    key_id: str
    tenant_id: int | None
    aead: AESGCM | None  # None: shredded
    index_key: bytes | None


@dataclass
class Personal:
    """An event's personal fields as an authorised reader sees them."""

    state: str  # clear | decrypted | shredded | unreadable
    actor_label: str = ""
    ip: str = ""
    user_agent: str = ""
    details: dict[str, Any] = field(default_factory=dict)


_lock = threading.Lock()
_keys: dict[str, tuple[float, LoadedKey]] = {}
_active: dict[int | None, tuple[float, str]] = {}


def forget_keys() -> None:
    """Drop every unwrapped key this process holds."""
    with _lock:
        _keys.clear()
        _active.clear()


def _ttl() -> float:
    return time.monotonic() + float(settings.CADML_AUDIT_KEY_CACHE_S)


def _unwrap_row(row: AuditDataKey) -> LoadedKey:
    if row.shredded is not None or not row.wrapped_key:
        return LoadedKey(row.key_id, row.tenant_id, None, None)
    keks = {k.kek_id: k for k in crypto.keks()}
    kek = keks.get(row.kek_id)
    if kek is None:
        raise KeyUnavailable(
            f"audit data key {row.key_id} is wrapped by KEK {row.kek_id}, which is "
            "not in CADML_AUDIT_KEK"
        )
    try:
        data = crypto.unwrap(bytes(row.wrapped_key), key_id=row.key_id, kek=kek)
        index = crypto.unwrap(
            bytes(row.wrapped_index_key), key_id=row.key_id + ".index", kek=kek
        )
    except InvalidTag as exc:
        raise KeyUnavailable(
            f"audit data key {row.key_id} does not unwrap with the CADML_AUDIT_KEK "
            f"key {row.kek_id}"
        ) from exc
    return LoadedKey(row.key_id, row.tenant_id, AESGCM(data), index)


def load_key(key_id: str) -> LoadedKey | None:
    """The key ``key_id`` (``aead`` None when shredded), None if it does not
    exist. Raises ``KeyUnavailable`` when no configured KEK unwraps it."""
    now = time.monotonic()
    cached = _keys.get(key_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    row = AuditDataKey.objects.filter(key_id=key_id).first()
    if row is None:
        return None
    loaded = _unwrap_row(row)
    with _lock:
        _keys[key_id] = (_ttl(), loaded)
    return loaded


def _create_key(*, tenant_id: int | None, index_key: bytes | None) -> AuditDataKey:
    kek = crypto.keks()[0]
    key_id = secrets.token_hex(8)
    return AuditDataKey.objects.create(
        key_id=key_id,
        tenant_id=tenant_id,
        wrapped_key=crypto.wrap(crypto.new_key(), key_id=key_id, kek=kek),
        wrapped_index_key=crypto.wrap(
            index_key or crypto.new_key(), key_id=key_id + ".index", kek=kek
        ),
        kek_id=kek.kek_id,
    )


def _of_tenant(tenant_id: int | None) -> Q:
    """The tenant's rows; None (platform events) matches the rows without one."""
    return Q(tenant_id=tenant_id)


def _live_index_key(tenant_id: int | None) -> bytes | None:
    """The tenant's blind-index key, shared by all its live data keys."""
    row = (
        AuditDataKey.objects.filter(_of_tenant(tenant_id), shredded__isnull=True)
        .order_by("-id")
        .first()
    )
    return _unwrap_row(row).index_key if row is not None else None


def active_key(*, tenant_id: int | None) -> LoadedKey:
    """The key new events of the tenant are encrypted with, created on first use.

    The tenant -> key mapping is remembered only once the creating transaction
    commits: a key created in a transaction that rolls back is never used by
    anything that outlives it."""
    now = time.monotonic()
    cached = _active.get(tenant_id)
    if cached is not None and cached[0] > now:
        loaded = load_key(cached[1])
        if loaded is not None and loaded.aead is not None:
            return loaded
    row = AuditDataKey.objects.filter(
        _of_tenant(tenant_id), retired__isnull=True, shredded__isnull=True
    ).first()
    if row is None:
        try:
            with transaction.atomic():
                row = _create_key(
                    tenant_id=tenant_id, index_key=_live_index_key(tenant_id)
                )
        except IntegrityError:  # another writer created it first
            row = AuditDataKey.objects.get(
                _of_tenant(tenant_id), retired__isnull=True, shredded__isnull=True
            )
    loaded = _unwrap_row(row)
    key_id = row.key_id

    def remember() -> None:
        with _lock:
            _keys[key_id] = (_ttl(), loaded)
            _active[tenant_id] = (_ttl(), key_id)

    transaction.on_commit(remember)
    return loaded


def event_encrypt(event: AuditEvent) -> AuditEvent:
    """Move an unsaved event's personal fields into its ciphertext (when
    ``CADML_AUDIT_ENCRYPT`` is on), with blind indexes of ip and actor."""
    if (
        not settings.CADML_AUDIT_ENCRYPT
        or event.personal_key
        or event.action in CLEAR_ACTIONS
    ):
        return event
    key = active_key(tenant_id=event.tenant_id)
    assert key.aead is not None and key.index_key is not None
    values = {
        "actor_label": event.actor_label,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "details": event.details,
    }
    event.personal = crypto.seal_personal(
        values, data_key=key.aead, tenant_id=event.tenant_id, key_id=key.key_id
    )
    event.personal_key = key.key_id
    event.ip_index = crypto.blind_index(key.index_key, event.ip)
    event.actor_index = crypto.blind_index(key.index_key, event.actor_label)
    event.actor_label = event.ip = event.user_agent = ""
    event.details = {}
    return event


def event_personal(event: AuditEvent) -> Personal:
    """Decrypt an event's personal fields for a reader already authorised to see
    the event. A shredded key or a damaged ciphertext is reported, not raised."""
    if not event.personal_key:
        return Personal(
            CLEAR, event.actor_label, event.ip, event.user_agent, event.details
        )
    try:
        key = load_key(event.personal_key)
    except (KeyUnavailable, crypto.KekError):
        return Personal(UNREADABLE)
    if key is None:
        return Personal(UNREADABLE)
    if key.aead is None:
        return Personal(SHREDDED)
    try:
        values = crypto.open_personal(
            event.personal,
            data_key=key.aead,
            tenant_id=event.tenant_id,
            key_id=event.personal_key,
        )
    except ValueError:
        return Personal(UNREADABLE)
    details = values.get("details")
    return Personal(
        DECRYPTED,
        str(values.get("actor_label", "")),
        str(values.get("ip", "")),
        str(values.get("user_agent", "")),
        details if isinstance(details, dict) else {},
    )


def search_indexes(
    *, tenant_id: int | None, value: str, all_tenants: bool
) -> list[str]:
    """Blind indexes ``value`` would have: under the tenant's index key, or under
    every live tenant's when ``all_tenants`` (staff)."""
    if not value:
        return []
    rows = AuditDataKey.objects.filter(shredded__isnull=True)
    if not all_tenants:
        rows = rows.filter(_of_tenant(tenant_id))
    found: set[str] = set()
    seen_tenants: set[int | None] = set()
    for row in rows.order_by("-id"):
        if row.tenant_id in seen_tenants:
            continue  # one index key per tenant
        seen_tenants.add(row.tenant_id)
        try:
            loaded = load_key(row.key_id)
        except (KeyUnavailable, crypto.KekError):
            continue
        if loaded is not None and loaded.index_key is not None:
            found.add(crypto.blind_index(loaded.index_key, value))
    return sorted(found)


@dataclass(frozen=True)
class RotateResult:
    rewrapped: int
    new_data_keys: int
    kek_id: str


@transaction.atomic
def audit_keys_rotate(
    *, data_keys: bool = False, tenant_id: int | None = None
) -> RotateResult:
    """Re-wrap every live data key under the newest KEK (no event is rewritten);
    with ``data_keys``, also retire the active data key of every tenant (or of
    ``tenant_id``) so new events get a new one. Records ``audit.keys_rotated``."""
    from apps.audit.services import audit_record

    newest = crypto.keks()[0]
    rewrapped = 0
    rows = AuditDataKey.objects.select_for_update().filter(shredded__isnull=True)
    for row in rows:
        if row.kek_id == newest.kek_id:
            continue
        loaded = _unwrap_row(row)
        assert loaded.aead is not None and loaded.index_key is not None
        # AESGCM does not expose its key: unwrap the raw bytes again to re-wrap.
        kek = {k.kek_id: k for k in crypto.keks()}[row.kek_id]
        data = crypto.unwrap(bytes(row.wrapped_key), key_id=row.key_id, kek=kek)
        row.wrapped_key = crypto.wrap(data, key_id=row.key_id, kek=newest)
        row.wrapped_index_key = crypto.wrap(
            loaded.index_key, key_id=row.key_id + ".index", kek=newest
        )
        row.kek_id = newest.kek_id
        row.save(update_fields=["wrapped_key", "wrapped_index_key", "kek_id"])
        rewrapped += 1
    new_keys = 0
    if data_keys:
        active = AuditDataKey.objects.filter(
            retired__isnull=True, shredded__isnull=True
        )
        if tenant_id is not None:
            active = active.filter(tenant_id=tenant_id)
        now = timezone.now()
        for row in list(active.select_for_update()):
            index_key = _unwrap_row(row).index_key
            row.retired = now
            row.save(update_fields=["retired"])
            _create_key(tenant_id=row.tenant_id, index_key=index_key)
            new_keys += 1
    forget_keys()
    audit_record(
        action=Action.AUDIT_KEYS_ROTATED,
        actor_system="audit_rotate_keys",
        resource_type="audit_key",
        details={
            "kek_id": newest.kek_id,
            "rewrapped": rewrapped,
            "new_data_keys": new_keys,
            "tenant_id": tenant_id,
        },
    )
    return RotateResult(rewrapped, new_keys, newest.kek_id)


@transaction.atomic
def audit_tenant_shred(*, tenant_id: int, legal_hold: bool) -> int:
    """Destroy every data key of the tenant: its events stay in the chain and
    verify, but their personal fields can never be read again. Refused while the
    tenant is on legal hold. Records ``audit.shredded``; returns the number of
    keys destroyed."""
    from apps.audit.services import audit_record

    if legal_hold:
        raise LegalHold(
            f"tenant {tenant_id} is on legal hold: its audit trail cannot be shredded"
        )
    rows = list(
        AuditDataKey.objects.select_for_update().filter(
            tenant_id=tenant_id, shredded__isnull=True
        )
    )
    now = timezone.now()
    for row in rows:
        row.wrapped_key = b""
        row.wrapped_index_key = b""
        row.shredded = now
        row.save(update_fields=["wrapped_key", "wrapped_index_key", "shredded"])
    forget_keys()
    audit_record(
        action=Action.AUDIT_SHREDDED,
        actor_system="audit_shred",
        resource_type="tenant",
        resource_id=tenant_id,
        details={"tenant_id": tenant_id, "keys_destroyed": len(rows)},
    )
    return len(rows)
