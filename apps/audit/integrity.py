"""Canonical form, hashes and signatures of audit events and digests.

An event's canonical form is the JSON array of its columns in ``COLUMNS`` order
(timestamps as UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ``). On PostgreSQL the database
builds and hashes it (``json_build_array``, jsonb details); elsewhere Python does
(details with sorted keys, no whitespace). Each backend seals and verifies with
the same form, and neither goes through the ORM, so a million events stay within
seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.utils.dateparse import parse_datetime

COLUMNS = (
    "seq",
    "ts",
    "action",
    "outcome",
    "tenant_id",
    "actor_type",
    "actor_user_id",
    "actor_label",
    "actor_key_prefix",
    "ip",
    "user_agent",
    "request_id",
    "trace_id",
    "resource_type",
    "resource_id",
    "details",
)
# Encrypted events also seal their ciphertext, its key id and the blind indexes
# (clear events keep the form they were sealed with before encryption existed).
ENCRYPTED_COLUMNS = ("personal_key", "personal", "ip_index", "actor_index")
SELECT_COLUMNS = ", ".join(COLUMNS + ENCRYPTED_COLUMNS)
# PostgreSQL's own canonical form: json_build_array over the same columns (its
# text output is deterministic; jsonb details print with sorted keys), hashed
# in the database.
_PG_CANONICAL = ", ".join(
    "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    if c == "ts"
    else c
    for c in COLUMNS
)
_PG_ENCRYPTED = ", ".join(ENCRYPTED_COLUMNS)
_PG_ARRAY = (
    f"CASE WHEN personal_key = '' THEN json_build_array({_PG_CANONICAL}) "
    f"ELSE json_build_array({_PG_CANONICAL}, {_PG_ENCRYPTED}) END"
)
PG_HASHED_SQL = (
    f"SELECT seq, ts, sha256(convert_to(({_PG_ARRAY})::text, "  # noqa: S608
    "'UTF8')) FROM audit_auditevent "
    "WHERE seq > %s AND seq <= %s ORDER BY seq LIMIT %s"
)
# The same, for one tenant's events in a range (the (tenant, seq) index).
PG_TENANT_HASHED_SQL = (
    f"SELECT seq, NULL, sha256(convert_to(({_PG_ARRAY})::text, "  # noqa: S608
    "'UTF8')) FROM audit_auditevent "
    "WHERE tenant_id = %s AND seq > %s AND seq <= %s ORDER BY seq"
)
GENESIS = "0" * 64
ENTRY_SIZE = 40  # 8-byte seq + 32-byte SHA-256

_dumps = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False
).encode
_loads = json.loads


def _ts_text(value: Any) -> str:
    if isinstance(value, str):
        value = parse_datetime(value)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds") + "Z"


def canonical(row: tuple[Any, ...] | list[Any]) -> bytes:
    """Canonical bytes of one event given as a row in ``COLUMNS`` order, followed
    by ``ENCRYPTED_COLUMNS`` (left out of the form when the event is clear)."""
    values = list(row)
    values[1] = _ts_text(values[1])
    details = values[15]
    if isinstance(details, str):
        details = {} if details == "{}" else _loads(details)
    values[15] = details if details is not None else {}
    if len(values) > 16 and not values[16]:
        values = values[:16]
    return _dumps(values).encode()


def event_hash(row: tuple[Any, ...] | list[Any]) -> bytes:
    return hashlib.sha256(canonical(row)).digest()


def chain(prev_chain_hash: str, hashes: list[bytes]) -> str:
    state = bytes.fromhex(prev_chain_hash)
    sha256 = hashlib.sha256
    for digest in hashes:
        state = sha256(state + digest).digest()
    return state.hex()


def signing_key() -> bytes:
    """``CADML_AUDIT_SIGNING_KEY``, or one derived from SECRET_KEY (dev only: a
    system check warns when DEBUG is off)."""
    configured = settings.CADML_AUDIT_SIGNING_KEY
    if configured:
        return configured.encode()
    return hmac.new(
        settings.SECRET_KEY.encode(), b"cadml.audit.signing", hashlib.sha256
    ).digest()


def key_id(key: bytes | None = None) -> str:
    return hashlib.sha256(key or signing_key()).hexdigest()[:16]


def digest_payload(
    *,
    after_seq: int,
    last_seq: int,
    event_count: int,
    first_ts: datetime | None,
    last_ts: datetime | None,
    prev_chain_hash: str,
    chain_hash: str,
    entries_sha256: str,
    created: datetime,
) -> bytes:
    return _dumps(
        {
            "after_seq": after_seq,
            "last_seq": last_seq,
            "event_count": event_count,
            "first_ts": _ts_text(first_ts) if first_ts else None,
            "last_ts": _ts_text(last_ts) if last_ts else None,
            "prev_chain_hash": prev_chain_hash,
            "chain_hash": chain_hash,
            "entries_sha256": entries_sha256,
            "created": _ts_text(created),
        }
    ).encode()


def sign(payload: bytes, key: bytes | None = None) -> str:
    return hmac.new(key or signing_key(), payload, hashlib.sha256).hexdigest()


def runs_of(seqs: list[int]) -> list[list[int]]:
    """Sorted seqs as inclusive [start, end] runs of consecutive integers."""
    runs: list[list[int]] = []
    for seq in seqs:
        if runs and runs[-1][1] == seq - 1:
            runs[-1][1] = seq
        else:
            runs.append([seq, seq])
    return runs


def runs_sha256(runs: list[list[int]]) -> str:
    return hashlib.sha256(_dumps(runs).encode()).hexdigest()
