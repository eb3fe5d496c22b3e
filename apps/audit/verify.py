"""Recompute every digest and every sealed event; report what does not match.

Problems reported (each with the seq or digest id):

- ``modified``: a sealed event whose canonical hash differs from its digest entry;
- ``deleted``: a sealed event that is gone and no retention purge accounts for;
- ``inserted``: an event inside a sealed range that no digest lists;
- ``bad_signature``: a digest whose HMAC does not match its fields;
- ``bad_entries``: a digest whose entries do not hash to what it signed;
- ``broken_link``: a digest not chained to its predecessor (a digest removed,
  reordered or forged);
- ``bad_purge``: a purge record that does not match its sealed ``audit.purged``
  event or the hashes it claims to have removed.

Events after the last digest are ``unsealed`` (a count, not a problem: the next
seal covers them).
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import struct
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from apps.audit import integrity
from apps.audit.models import Action, AuditDigest, AuditEvent, AuditPurge
from apps.audit.services import (
    digest_payload,
    fetch_tenant_hashed,
    hashed_chunks,
)

MAX_LISTED = 1000


@dataclass
class Problem:
    kind: str
    seq: int | None = None
    digest: int | None = None
    detail: str = ""


@dataclass
class VerifyReport:
    ok: bool = True
    digests_checked: int = 0
    events_checked: int = 0
    purged_accounted: int = 0
    sealed_through_seq: int = 0
    sealed_through_ts: str | None = None
    unsealed: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def add(self, kind: str, **kwargs: Any) -> None:
        self.ok = False
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if len(self.problems) < MAX_LISTED:
            self.problems.append(Problem(kind, **kwargs))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _PurgedSeqs:
    """The seqs removed by verified retention purges, as sorted runs."""

    def __init__(self, runs: list[tuple[int, int, int]]) -> None:
        runs.sort()
        self.runs = runs
        self.starts = [r[0] for r in runs]
        self.hashes: dict[int, Any] = {}

    def purge_of(self, seq: int) -> int | None:
        i = bisect.bisect_right(self.starts, seq) - 1
        if i >= 0 and self.runs[i][0] <= seq <= self.runs[i][1]:
            return self.runs[i][2]
        return None


def _load_purges(report: VerifyReport) -> tuple[_PurgedSeqs, dict[int, dict]]:
    records = {
        e.details.get("purge_id"): e.details
        for e in AuditEvent.objects.filter(action=Action.AUDIT_PURGED).only("details")
    }
    runs: list[tuple[int, int, int]] = []
    claims: dict[int, dict] = {}
    for purge in AuditPurge.objects.all():
        record = records.get(purge.pk)
        if record is None:
            report.add(
                "bad_purge", detail=f"purge {purge.pk} has no audit.purged event"
            )
            continue
        if integrity.runs_sha256(purge.runs) != record.get("runs_sha256"):
            report.add(
                "bad_purge", detail=f"purge {purge.pk}: runs differ from its record"
            )
            continue
        claims[purge.pk] = record
        runs.extend((int(a), int(b), purge.pk) for a, b in purge.runs)
    return _PurgedSeqs(runs), claims


def _check_digest_header(
    digest: AuditDigest, previous: AuditDigest | None, report: VerifyReport, key: bytes
) -> None:
    expected = integrity.sign(digest_payload(digest), key)
    if not hmac.compare_digest(expected, digest.signature):
        report.add("bad_signature", digest=digest.pk, detail="HMAC does not match")
    prev_chain = previous.chain_hash if previous else integrity.GENESIS
    prev_last = previous.last_seq if previous else 0
    if digest.prev_chain_hash != prev_chain or digest.after_seq != prev_last:
        report.add(
            "broken_link",
            digest=digest.pk,
            detail=f"not chained to the digest before it "
            f"({previous.pk if previous else 'genesis'})",
        )


def audit_verify(*, since: datetime | None = None) -> VerifyReport:
    """Check the digest chain and every sealed event (those sealed in digests that
    end on or after ``since``, when given)."""
    report = VerifyReport()
    key = integrity.signing_key()
    purged, claims = _load_purges(report)
    purged_hashes: dict[int, Any] = {pk: hashlib.sha256() for pk in claims}
    complete: set[int] = set(claims)
    headers = list(AuditDigest.objects.defer("entries").order_by("id"))
    previous: AuditDigest | None = None
    checked: list[AuditDigest] = []
    gaps: list[tuple[int, int]] = []
    for digest in headers:
        _check_digest_header(digest, previous, report, key)
        prev_last = previous.last_seq if previous else 0
        previous = digest
        if since is None or digest.last_ts is None or digest.last_ts >= since:
            checked.append(digest)
            if digest.after_seq > prev_last:
                # A removed digest leaves seqs that nothing vouches for.
                gaps.append((prev_last, digest.after_seq))
        else:
            # Purges reaching into unchecked digests cannot be fully re-hashed.
            complete -= {
                p for p in claims if claims[p].get("first_seq", 0) <= digest.last_seq
            }
    if headers:
        report.sealed_through_seq = headers[-1].last_seq
        last_ts = headers[-1].last_ts
        report.sealed_through_ts = last_ts.isoformat() if last_ts else None

    unpack = struct.Struct(">Q32s").iter_unpack
    for digest in checked:
        entries = bytes(
            AuditDigest.objects.filter(pk=digest.pk).values_list("entries", flat=True)[
                0
            ]
        )
        report.digests_checked += 1
        if hashlib.sha256(entries).hexdigest() != digest.entries_sha256:
            report.add("bad_entries", digest=digest.pk, detail="entries were altered")
            continue
        sealed = list(unpack(entries))
        if integrity.chain(digest.prev_chain_hash, [h for _, h in sealed]) != (
            digest.chain_hash
        ):
            report.add("bad_entries", digest=digest.pk, detail="chain hash differs")
        _compare_range(digest, sealed, report, purged, purged_hashes)

    for after, upto in gaps:
        for rows in hashed_chunks(after, upto):
            for row in rows:
                report.add("inserted", seq=row[0], detail="no digest lists it")
                report.events_checked += 1

    for pk, record in claims.items():
        if pk in complete and purged_hashes[pk].hexdigest() != record.get(
            "purged_sha256"
        ):
            report.add(
                "bad_purge",
                detail=f"purge {pk}: removed events do not match their sealed hashes",
            )
        anchor = next(
            (d for d in headers if d.pk == record.get("anchor_digest_id")), None
        )
        if anchor is None or anchor.chain_hash != record.get("anchor_hash"):
            report.add("bad_purge", detail=f"purge {pk}: anchor digest does not match")

    report.unsealed = AuditEvent.objects.filter(
        seq__gt=report.sealed_through_seq
    ).count()
    return report


def _compare_range(
    digest: AuditDigest,
    sealed: list[tuple[int, bytes]],
    report: VerifyReport,
    purged: _PurgedSeqs,
    purged_hashes: dict[int, Any],
) -> None:
    """Merge the digest's entries with the rows in its range, both in seq order."""
    i = 0
    n = len(sealed)
    after = digest.after_seq

    def entry_missing(seq: int, entry_hash: bytes) -> None:
        purge_pk = purged.purge_of(seq)
        if purge_pk is None:
            report.add("deleted", seq=seq, digest=digest.pk)
        else:
            report.purged_accounted += 1
            if purge_pk in purged_hashes:
                purged_hashes[purge_pk].update(entry_hash)

    for rows in hashed_chunks(after, digest.last_seq):
        for row in rows:
            seq = row[0]
            while i < n and sealed[i][0] < seq:
                entry_missing(*sealed[i])
                i += 1
            if i < n and sealed[i][0] == seq:
                if row[2] != sealed[i][1]:
                    report.add("modified", seq=seq, digest=digest.pk)
                i += 1
            else:
                report.add("inserted", seq=seq, digest=digest.pk)
            report.events_checked += 1
    while i < n:
        entry_missing(*sealed[i])
        i += 1


def audit_verify_tenant(
    *, tenant_id: int, since: datetime | None = None
) -> VerifyReport:
    """What one tenant may see: whether the digest chain holds (signatures and
    links, no detail of other tenants' events) and whether each of *its* events
    in the digests ending on or after ``since`` is sealed unchanged.

    Its events are read through the (tenant, seq) index and compared with the
    digest entries by seq: ``modified`` (hash differs) and ``inserted`` (no entry)
    are reported. A sealed event that is gone cannot be attributed to a tenant
    (entries carry no tenant): deletions show in the platform-wide
    ``audit_verify`` that staff run (``manage.py audit_verify``, the admin)."""
    report = VerifyReport()
    key = integrity.signing_key()
    headers = list(AuditDigest.objects.defer("entries").order_by("id"))
    previous: AuditDigest | None = None
    checked: list[AuditDigest] = []
    for digest in headers:
        _check_digest_header(digest, previous, report, key)
        previous = digest
        if since is None or digest.last_ts is None or digest.last_ts >= since:
            checked.append(digest)
    # Chain problems name digests only, never events: keep the counts, drop
    # the list so nothing about other tenants' rows is shown.
    report.problems = []
    if headers:
        report.sealed_through_seq = headers[-1].last_seq
        last_ts = headers[-1].last_ts
        report.sealed_through_ts = last_ts.isoformat() if last_ts else None

    for digest in checked:
        report.digests_checked += 1
        rows = fetch_tenant_hashed(
            tenant_id=tenant_id, after_seq=digest.after_seq, upto_seq=digest.last_seq
        )
        if not rows:
            continue
        entries = bytes(
            AuditDigest.objects.filter(pk=digest.pk).values_list("entries", flat=True)[
                0
            ]
        )
        if hashlib.sha256(entries).hexdigest() != digest.entries_sha256:
            report.add("bad_entries", digest=digest.pk, detail="entries were altered")
            continue
        for seq, _, row_hash in rows:
            report.events_checked += 1
            entry = _sealed_hash(entries, seq)
            if entry is None:
                report.add("inserted", seq=seq, digest=digest.pk)
            elif entry != row_hash:
                report.add("modified", seq=seq, digest=digest.pk)

    report.unsealed = AuditEvent.objects.filter(
        tenant_id=tenant_id, seq__gt=report.sealed_through_seq
    ).count()
    return report


def _sealed_hash(entries: bytes, seq: int) -> bytes | None:
    """The hash sealed for ``seq``: entries are sorted by seq, so a binary search
    touches log(n) of them (a tenant's few events in a large digest)."""
    size = integrity.ENTRY_SIZE
    lo, hi = 0, len(entries) // size
    while lo < hi:
        mid = (lo + hi) // 2
        found = int.from_bytes(entries[mid * size : mid * size + 8], "big")
        if found == seq:
            return entries[mid * size + 8 : (mid + 1) * size]
        if found < seq:
            lo = mid + 1
        else:
            hi = mid
    return None
