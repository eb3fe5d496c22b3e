"""The shape of API keys: ``cadml_<prefix>_<secret>``.

The prefix is public (shown in lists and logs) and indexed; the secret part never
leaves the response that created it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

KEY_RE = re.compile(r"^cadml_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$")
_PREFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True)
class NewKey:
    prefix: str
    plaintext: str
    secret_hash: str


def generate() -> NewKey:
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(12))
    plaintext = f"cadml_{prefix}_{secrets.token_urlsafe(32)}"
    return NewKey(prefix=prefix, plaintext=plaintext, secret_hash=hash_key(plaintext))


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def parse_prefix(plaintext: str) -> str | None:
    match = KEY_RE.match(plaintext)
    return match.group(1) if match else None


def matches(plaintext: str, secret_hash: str) -> bool:
    return hmac.compare_digest(hash_key(plaintext), secret_hash)
