"""Writes of the audit trail: record, seal, purge. (Verification is a read and lives
in ``apps.audit.verify``.)"""

from __future__ import annotations

import hashlib
import logging
import re
import struct
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.accounts.models import Tenant
from apps.audit import integrity
from apps.audit.context import Actor, current_actor, current_trace_id
from apps.audit.keys import event_encrypt
from apps.audit.models import (
    ACTIONS,
    CATEGORIES,
    Action,
    ActorType,
    AuditDigest,
    AuditEvent,
    AuditPurge,
    Outcome,
)
from cadml import metrics
from cadml.lib.request_id import current_request_id

logger = logging.getLogger(__name__)

USER_AGENT_MAX = 256
_SECRET_KEY_NAMES = re.compile(
    r"(pass(word)?|secret|token|authorization|api[_-]?key|plaintext|cookie|"
    r"session|signature|credential)",
    re.IGNORECASE,
)
REDACTED = "[redacted]"
HASH_WINDOW = 25_000  # seqs per query when hashing events
HASH_WORKERS = 2


def scrub(value: Any, depth: int = 0) -> Any:
    """Details are JSON and never hold secrets: values under secret-looking keys
    are replaced, whatever the caller passed."""
    if depth > 8:
        return "[truncated]"
    if isinstance(value, dict):
        return {
            str(k): REDACTED
            if _SECRET_KEY_NAMES.search(str(k))
            else scrub(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(v, depth + 1) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def client_ip(request: HttpRequest) -> str:
    # REMOTE_ADDR only: behind a proxy, daphne's --proxy-headers sets it from the
    # proxy's header. A client-supplied X-Forwarded-For is not trusted here.
    return (request.META.get("REMOTE_ADDR") or "")[:45]


def actor_from_request(request: HttpRequest) -> Actor:
    ip = client_ip(request)
    user_agent = request.headers.get("User-Agent", "")[:USER_AGENT_MAX]
    api_key = getattr(request, "api_key", None)
    if api_key is not None:
        return Actor(
            ActorType.API_KEY,
            f"key:{api_key.prefix}",
            key_prefix=api_key.prefix,
            ip=ip,
            user_agent=user_agent,
        )
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Actor(
            ActorType.USER, user.get_username(), user=user, ip=ip, user_agent=user_agent
        )
    return Actor(ActorType.ANONYMOUS, "", ip=ip, user_agent=user_agent)


def build_event(
    *,
    action: str,
    outcome: str = Outcome.SUCCESS,
    request: HttpRequest | None = None,
    tenant: Tenant | None = None,
    actor_user: Any = None,
    actor_key_prefix: str | None = None,
    actor_system: str | None = None,
    resource_type: str = "",
    resource_id: str | int = "",
    details: dict[str, Any] | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    request_id: str | None = None,
    ts: datetime | None = None,
) -> AuditEvent:
    """An unsaved event: explicit arguments first, then the request, then the
    context (``audit_actor``, request id and trace id ContextVars)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to Action first")
    if outcome not in Outcome.values:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    if request is not None:
        actor = actor_from_request(request)
        if tenant is None:
            tenant = getattr(request, "tenant", None)
        request_id = request_id or getattr(request, "request_id", None)
    else:
        actor = current_actor.get() or Actor(ActorType.SYSTEM, "system:unknown")
    ip = ip if ip is not None else actor.ip
    user_agent = user_agent if user_agent is not None else actor.user_agent
    if actor_user is not None:
        actor = Actor(ActorType.USER, actor_user.get_username(), user=actor_user)
    elif actor_key_prefix:
        actor = Actor(
            ActorType.API_KEY, f"key:{actor_key_prefix}", key_prefix=actor_key_prefix
        )
    elif actor_system:
        actor = Actor(ActorType.SYSTEM, f"system:{actor_system}")
    return AuditEvent(
        ts=ts or timezone.now(),
        action=action,
        outcome=outcome,
        tenant=tenant,
        actor_type=actor.type,
        actor_user_id=actor.user.pk if actor.user is not None else None,
        actor_label=actor.label[:160],
        actor_key_prefix=actor.key_prefix,
        ip=(ip or "")[:45],
        user_agent=(user_agent or "")[:USER_AGENT_MAX],
        request_id=(request_id or current_request_id.get() or "")[:128],
        trace_id=current_trace_id(),
        resource_type=resource_type[:50],
        resource_id=str(resource_id)[:64],
        details=scrub(details or {}),
    )


def audit_record(
    *,
    action: str,
    outcome: str = Outcome.SUCCESS,
    request: HttpRequest | None = None,
    tenant: Tenant | None = None,
    actor_user: Any = None,
    actor_key_prefix: str | None = None,
    actor_system: str | None = None,
    resource_type: str = "",
    resource_id: str | int = "",
    details: dict[str, Any] | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    request_id: str | None = None,
) -> AuditEvent:
    """Write one audit event now, in the caller's transaction: if the change it
    records rolls back, so does the event.

    ``action`` must be in the catalogue (``apps.audit.models.Action``). The actor
    is taken from ``actor_user`` / ``actor_key_prefix`` / ``actor_system``, else
    from ``request`` (its API key or session user), else from ``audit_actor(...)``
    (Celery tasks, gRPC, commands). ``details`` is JSON; values under secret-looking
    keys are redacted.
    """
    event = build_event(
        action=action,
        outcome=outcome,
        request=request,
        tenant=tenant,
        actor_user=actor_user,
        actor_key_prefix=actor_key_prefix,
        actor_system=actor_system,
        resource_type=resource_type,
        resource_id=resource_id,
        details=details,
        ip=ip,
        user_agent=user_agent,
        request_id=request_id,
    )
    event_encrypt(event)
    event.save()
    metrics.audit_events.labels(action).inc()
    return event


# --- sealing ------------------------------------------------------------------


def _stable_upper_bound() -> int | None:
    """The highest seq below which no transaction can still commit an event.

    On PostgreSQL a SHARE lock waits for every transaction that has inserted events
    to finish (they hold ROW EXCLUSIVE); any later insert draws a higher seq. It is
    released at once. If a long transaction holds it up, sealing waits for the next
    run rather than stall audit writers (lock_timeout). SQLite serialises writers,
    so its MAX(seq) is already stable."""
    table = AuditEvent._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL lock_timeout = '2s'")
            try:
                cursor.execute(f"LOCK TABLE {table} IN SHARE MODE")  # noqa: S608
            except OperationalError:  # lock_timeout
                logger.warning("audit seal: events table busy; sealing next run")
                return None
        cursor.execute(f"SELECT COALESCE(MAX(seq), 0) FROM {table}")  # noqa: S608
        return int(cursor.fetchone()[0])


def fetch_rows(after_seq: int, upto_seq: int, limit: int) -> list[tuple[Any, ...]]:
    """Raw event rows in ``COLUMNS`` order, ``after_seq < seq <= upto_seq``."""
    table = AuditEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {integrity.SELECT_COLUMNS} FROM {table} "  # noqa: S608
            "WHERE seq > %s AND seq <= %s ORDER BY seq LIMIT %s",
            [after_seq, upto_seq, limit],
        )
        return cursor.fetchall()


def fetch_hashed(
    after_seq: int, upto_seq: int, limit: int, *, with_ts: bool = True
) -> list[tuple[int, Any, bytes]]:
    """(seq, ts, SHA-256 of the canonical JSON) of events in the range, by seq.

    PostgreSQL builds the canonical JSON and hashes it itself (a million events
    in seconds, 40 bytes a row on the wire); elsewhere Python does it from the raw
    row. Sealing and verifying go through here, so each backend agrees with
    itself. ``with_ts=False`` leaves ts out (None): loading a million timestamps
    is a third of a verification's time."""
    if connection.vendor != "postgresql":
        return [
            (row[0], row[1], integrity.event_hash(row))
            for row in fetch_rows(after_seq, upto_seq, limit)
        ]
    with connection.cursor() as cursor:
        sql = integrity.PG_HASHED_SQL
        if not with_ts:
            sql = sql.replace("SELECT seq, ts,", "SELECT seq, NULL,", 1)
        cursor.execute(sql, [after_seq, upto_seq, limit])
        return [(seq, ts, bytes(digest)) for seq, ts, digest in cursor.fetchall()]


def fetch_tenant_hashed(
    *, tenant_id: int, after_seq: int, upto_seq: int
) -> list[tuple[int, Any, bytes]]:
    """(seq, None, hash) of one tenant's events in the range, by seq: the same
    hashes as ``fetch_hashed``, read through the (tenant, seq) index."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                integrity.PG_TENANT_HASHED_SQL, [tenant_id, after_seq, upto_seq]
            )
            return [(seq, None, bytes(h)) for seq, _, h in cursor.fetchall()]
    table = AuditEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {integrity.SELECT_COLUMNS} FROM {table} "  # noqa: S608
            "WHERE tenant_id = %s AND seq > %s AND seq <= %s ORDER BY seq",
            [tenant_id, after_seq, upto_seq],
        )
        return [(row[0], None, integrity.event_hash(row)) for row in cursor.fetchall()]


def _create_digest(
    *,
    previous: AuditDigest | None,
    rows: list[tuple[int, Any, bytes]],
    first_ts: Any,
    last_ts: Any,
) -> AuditDigest:
    pack = struct.Struct(">Q").pack
    hashes = [row[2] for row in rows]
    entries = b"".join(pack(row[0]) + row[2] for row in rows)
    prev_chain_hash = previous.chain_hash if previous else integrity.GENESIS
    digest = AuditDigest(
        created=timezone.now(),
        after_seq=previous.last_seq if previous else 0,
        last_seq=rows[-1][0],
        event_count=len(rows),
        first_ts=_aware(first_ts),
        last_ts=_aware(last_ts),
        prev_chain_hash=prev_chain_hash,
        chain_hash=integrity.chain(prev_chain_hash, hashes),
        entries=entries,
        entries_sha256=hashlib.sha256(entries).hexdigest(),
        key_id=integrity.key_id(),
    )
    digest.signature = integrity.sign(digest_payload(digest))
    digest.save()
    return digest


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = parse_datetime(value)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value


def digest_payload(digest: AuditDigest) -> bytes:
    return integrity.digest_payload(
        after_seq=digest.after_seq,
        last_seq=digest.last_seq,
        event_count=digest.event_count,
        first_ts=digest.first_ts,
        last_ts=digest.last_ts,
        prev_chain_hash=digest.prev_chain_hash,
        chain_hash=digest.chain_hash,
        entries_sha256=digest.entries_sha256,
        created=digest.created,
    )


def _fetch_and_close(after: int, upto: int) -> list[tuple[int, Any, bytes]]:
    try:
        return fetch_hashed(after, upto, HASH_WINDOW, with_ts=False)
    finally:
        connection.close()  # this worker thread's own connection


def hashed_chunks(after: int, upto: int) -> Iterator[list[tuple[int, Any, bytes]]]:
    """(seq, None, hash) rows in (after, upto] as consecutive seq windows, in order.

    Outside a transaction, two worker connections hash the next windows while
    this thread uses the current one, so PostgreSQL works on both cores. Inside
    one (tests, a caller's atomic block) other connections could not see its
    rows: the windows are then fetched here, one by one."""
    windows = [(a, min(a + HASH_WINDOW, upto)) for a in range(after, upto, HASH_WINDOW)]
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        for a, b in windows:
            yield fetch_hashed(a, b, HASH_WINDOW, with_ts=False)
        return
    with ThreadPoolExecutor(max_workers=HASH_WORKERS) as pool:
        pending: deque[Future[list[tuple[int, Any, bytes]]]] = deque()
        for a, b in windows:
            pending.append(pool.submit(_fetch_and_close, a, b))
            if len(pending) > HASH_WORKERS:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _seal_range(after: int, upper: int, max_events: int) -> tuple[int, Any, Any]:
    """(last seq, first ts, last ts) of the next at most ``max_events`` events."""
    table = AuditEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT seq FROM {table} WHERE seq > %s AND seq <= %s "  # noqa: S608
            "ORDER BY seq LIMIT 1 OFFSET %s",
            [after, upper, max_events - 1],
        )
        row = cursor.fetchone()
        last = row[0] if row else upper
        cursor.execute(
            f"SELECT MIN(ts), MAX(ts) FROM {table} "  # noqa: S608
            "WHERE seq > %s AND seq <= %s",
            [after, last],
        )
        first_ts, last_ts = cursor.fetchone()
    return last, first_ts, last_ts


def audit_seal(*, max_events: int | None = None) -> list[AuditDigest]:
    """Seal every committed event not yet sealed into signed digests (at most
    ``max_events`` per digest), each chained to the one before. Returns the new
    digests (none when there was nothing to seal).

    Hashing happens outside any lock; the digest is then written under an
    exclusive lock on the digest table, and only if no other sealer chained onto
    the same predecessor meanwhile (else this one starts over from the new head).
    """
    max_events = max_events or settings.CADML_AUDIT_SEAL_MAX_EVENTS
    upper = _stable_upper_bound()
    if upper is None:
        return []
    created: list[AuditDigest] = []
    while True:
        previous = AuditDigest.objects.defer("entries").order_by("-id").first()
        after = previous.last_seq if previous else 0
        if after >= upper:
            return created
        last, first_ts, last_ts = _seal_range(after, upper, max_events)
        rows = [row for chunk in hashed_chunks(after, last) for row in chunk]
        if not rows:
            return created
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"LOCK TABLE {AuditDigest._meta.db_table} IN EXCLUSIVE MODE"
                    )
            head = AuditDigest.objects.order_by("-id").values_list("pk", flat=True)
            if head.first() != (previous.pk if previous else None):
                continue  # another sealer got there first
            created.append(
                _create_digest(
                    previous=previous, rows=rows, first_ts=first_ts, last_ts=last_ts
                )
            )


# --- retention ----------------------------------------------------------------


def retention_rules() -> tuple[int, dict[str, int]]:
    """(default days, {category or action: days}) from settings."""
    default = int(settings.CADML_AUDIT_RETENTION_DAYS)
    overrides = parse_overrides(settings.CADML_AUDIT_RETENTION_OVERRIDES)
    return default, overrides


def parse_overrides(raw: str | dict[str, int]) -> dict[str, int]:
    """``"api=90,auth.login_failed=730"`` (or a dict) -> {"api": 90, ...}; a key is
    a category (the part before the dot) or a whole action."""
    items: list[tuple[str, Any]]
    if isinstance(raw, dict):
        items = list(raw.items())
    else:
        items = []
        for part in filter(None, (p.strip() for p in raw.split(","))):
            key, sep, days = part.partition("=")
            if not sep:
                raise ValueError(f"retention override {part!r} is not key=days")
            items.append((key.strip(), days.strip()))
    overrides: dict[str, int] = {}
    for key, days in items:
        if key not in CATEGORIES and key not in ACTIONS:
            raise ValueError(f"retention override for unknown category/action {key!r}")
        try:
            value = int(days)
        except (TypeError, ValueError):
            raise ValueError(
                f"retention override {key!r}: days must be an integer"
            ) from None
        if value < 1:
            raise ValueError(f"retention override {key!r}: days must be at least 1")
        overrides[key] = value
    return overrides


def _purge_filter(now: datetime) -> Q:
    default_days, overrides = retention_rules()
    # Actions get their own override, else their category's, else the default.
    by_days: dict[int, list[str]] = {}
    for action in ACTIONS - {Action.AUDIT_PURGED}:
        category = action.split(".", 1)[0]
        days = overrides.get(action, overrides.get(category, default_days))
        by_days.setdefault(days, []).append(action)
    query = Q(pk__in=[])
    for days, actions in by_days.items():
        query |= Q(action__in=sorted(actions), ts__lt=now - timedelta(days=days))
    return query


@dataclass(frozen=True)
class PurgeResult:
    purge: AuditPurge | None
    purged: int


def audit_purge(*, now: datetime | None = None, batch: int = 20_000) -> PurgeResult:
    """Remove events past retention, except those of tenants on legal hold and the
    ``audit.purged`` records themselves. Everything is sealed first; the purge then
    records the runs of seqs it removed, the SHA-256 of their sealed hashes and the
    chain hash of the digest it anchors to, so ``audit_verify`` can tell purged
    from deleted."""
    now = now or timezone.now()
    audit_seal()
    anchor = AuditDigest.objects.defer("entries").order_by("-id").first()
    if anchor is None:
        return PurgeResult(None, 0)
    held = list(Tenant.objects.filter(legal_hold=True).values_list("pk", flat=True))
    candidates = (
        AuditEvent.objects.filter(_purge_filter(now), seq__lte=anchor.last_seq)
        .exclude(tenant_id__in=held)
        .order_by("seq")
        .values_list("seq", flat=True)
    )
    seqs = list(candidates)
    if not seqs:
        return PurgeResult(None, 0)
    purged_hash = hashlib.sha256()
    table = AuditEvent._meta.db_table
    with transaction.atomic():
        for start in range(0, len(seqs), batch):
            chunk = seqs[start : start + batch]
            wanted = set(chunk)
            # The range may also hold events that stay (held tenants, younger).
            for seq, _, digest in fetch_hashed(
                chunk[0] - 1, chunk[-1], chunk[-1] - chunk[0] + 1
            ):
                if seq in wanted:
                    purged_hash.update(digest)
        runs = integrity.runs_of(seqs)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL cadml.audit_purge = 'on'")
            for first, last in runs:
                cursor.execute(
                    f"DELETE FROM {table} WHERE seq >= %s AND seq <= %s",  # noqa: S608
                    [first, last],
                )
        purge = AuditPurge.objects.create(runs=runs, purged_count=len(seqs))
        default_days, overrides = retention_rules()
        audit_record(
            action=Action.AUDIT_PURGED,
            actor_system="retention",
            resource_type="audit_purge",
            resource_id=purge.pk,
            details={
                "purge_id": purge.pk,
                "count": len(seqs),
                "first_seq": seqs[0],
                "last_seq": seqs[-1],
                "runs_sha256": integrity.runs_sha256(runs),
                "purged_sha256": purged_hash.hexdigest(),
                "anchor_digest_id": anchor.pk,
                "anchor_hash": anchor.chain_hash,
                "retention_days": default_days,
                "overrides": overrides,
                "legal_hold_tenants": len(held),
            },
        )
    audit_seal()
    return PurgeResult(purge, len(seqs))
