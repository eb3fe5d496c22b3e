"""Envelope encryption of the personal fields of audit events.

Each tenant (and the platform, for events without a tenant) has a data key and a
blind-index key, both random 256-bit keys stored wrapped (AES-GCM) by a
key-encryption key (KEK) from ``CADML_AUDIT_KEK``. The personal fields of an event
are one AES-GCM ciphertext under the data key, bound to the tenant and key id as
associated data, so a ciphertext moved to another tenant's row does not decrypt.
Search uses the blind index: a truncated HMAC of the value under the index key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

# The fields stored encrypted; everything else in an event stays clear.
PERSONAL_FIELDS = ("actor_label", "ip", "user_agent", "details")
NONCE = 12
KEY_BYTES = 32


class KekError(ValueError):
    """CADML_AUDIT_KEK is missing or malformed."""


@dataclass(frozen=True)
class Kek:
    kek_id: str
    aead: AESGCM


def parse_kek(raw: str) -> bytes:
    """One KEK: 32 bytes, base64 (urlsafe or standard) or 64 hex digits."""
    text = raw.strip()
    candidates: list[bytes] = []
    if len(text) == 64:
        try:
            candidates.append(bytes.fromhex(text))
        except ValueError:
            pass
    for decode in (base64.urlsafe_b64decode, base64.b64decode):
        try:
            candidates.append(decode(text + "=" * (-len(text) % 4)))
        except (binascii.Error, ValueError):
            pass
    for key in candidates:
        if len(key) == KEY_BYTES:
            return key
    raise KekError(
        "CADML_AUDIT_KEK: each key must be 32 random bytes, base64 or hex "
        "(python -c 'import secrets,base64; "
        "print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())')"
    )


def kek_id(key: bytes) -> str:
    return hashlib.sha256(b"cadml.audit.kek" + key).hexdigest()[:16]


def keks() -> list[Kek]:
    """The configured KEKs, newest (the one that wraps) first."""
    found = [parse_kek(raw) for raw in settings.CADML_AUDIT_KEK]
    if not found:
        raise KekError("CADML_AUDIT_KEK is not set: audit encryption needs a KEK")
    return [Kek(kek_id(k), AESGCM(k)) for k in found]


def wrap(key: bytes, *, key_id: str, kek: Kek) -> bytes:
    nonce = os.urandom(NONCE)
    return nonce + kek.aead.encrypt(nonce, key, key_id.encode())


def unwrap(wrapped: bytes, *, key_id: str, kek: Kek) -> bytes:
    return kek.aead.decrypt(wrapped[:NONCE], wrapped[NONCE:], key_id.encode())


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _aad(tenant_id: int | None, key_id: str) -> bytes:
    return f"cadml.audit|{tenant_id or 0}|{key_id}".encode()


def seal_personal(
    values: dict[str, Any], *, data_key: AESGCM, tenant_id: int | None, key_id: str
) -> str:
    """The personal fields as one base64 AES-GCM ciphertext."""
    plain = json.dumps(values, sort_keys=True, separators=(",", ":")).encode()
    nonce = os.urandom(NONCE)
    sealed = nonce + data_key.encrypt(nonce, plain, _aad(tenant_id, key_id))
    return base64.b64encode(sealed).decode()


def open_personal(
    sealed: str, *, data_key: AESGCM, tenant_id: int | None, key_id: str
) -> dict[str, Any]:
    """Raises ``ValueError`` when the ciphertext is damaged or not this key's."""
    try:
        raw = base64.b64decode(sealed, validate=True)
        plain = data_key.decrypt(raw[:NONCE], raw[NONCE:], _aad(tenant_id, key_id))
        values = json.loads(plain)
    except (binascii.Error, InvalidTag, ValueError) as exc:
        raise ValueError("unreadable audit ciphertext") from exc
    if not isinstance(values, dict):
        raise ValueError("unreadable audit ciphertext")
    return values


def blind_index(index_key: bytes, value: str) -> str:
    """Equal values give equal indexes under one key; the value cannot be read
    back. Empty values are not indexed."""
    if not value:
        return ""
    return hmac.new(index_key, value.encode(), hashlib.sha256).hexdigest()[:32]
