"""Each tenant's vectors for exact similar-drawing search, kept per process.

A matrix holds the newest done analysis of every drawing of one tenant and
feature version. Processes keep theirs up to date through two counters in
Django's cache (shared by every process when it is Redis):

- the tenant's *generation*, a random token replaced when drawings go away
  (or created afresh when the cache lost it): the next search rebuilds the
  matrix from the database;
- the tenant's *log*, one numbered entry per stored analysis (its id): the
  next search reads only the entries it has not seen and folds those
  analyses in.

A stored analysis thus costs the next search one short query, not a reload
of the tenant's whole archive, and none at all when its writer had already
committed it (a batch item, an upload): such an entry comes with the row
itself (id, drawing, version, time, vector, file name), kept ``ROW_TTL_S``;
a reader later than that reads the row from the database. An entry is written as soon
as its analysis is, which may be before that transaction commits: an
analysis not visible (or not yet done) when its entry is read stays
*pending* and is looked for again at each search, for ``PENDING_S``; a
rebuild looks again at the last ``LOOKBACK`` entries for the same reason.
A log entry that is missing (evicted, expired, or its writer caught between
the two writes) means a rebuild, never a matrix that silently lacks a
drawing. Without the cache, every search rebuilds.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from django.core.cache import cache
from django.db import transaction

from apps.cad import features
from apps.cad.models import PART_NAME, Analysis
from apps.cad.part_names import drawing_name
from apps.cad.similarity import Space, row_lengths
from cadml.lib.cache import CACHE_ERRORS

# A process further behind than this rebuilds rather than read the entries.
MAX_DELTA = 2000
# How long an analysis whose entry was read may take to commit (a rolled-back
# one is dropped after it), and how many entries a rebuild looks at again.
PENDING_S = 300.0
LOOKBACK = 32
# Entries outlive any process that searched in the meantime; older readers rebuild.
LOG_TTL_S = 24 * 3600
# The rows that come with entries are big (the vector): kept for readers that
# search often; a later one reads them from the database.
ROW_TTL_S = 900


def _gen_key(tenant_id: int) -> str:
    return f"cad:similarity:gen:{tenant_id}"


def _count_key(tenant_id: int) -> str:
    return f"cad:similarity:log:{tenant_id}"


def _entry_key(tenant_id: int, position: int) -> str:
    return f"cad:similarity:log:{tenant_id}:{position}"


def _row_key(tenant_id: int, position: int) -> str:
    return f"cad:similarity:row:{tenant_id}:{position}"


# (id, drawing id, feature version, created, vector as float64 bytes, the
# drawing's file name)
Row = tuple[int, int, str, datetime, bytes, str]


@dataclass(frozen=True)
class Matrix:
    generation: str
    position: int  # the tenant's log entries folded in so far
    drawing_ids: np.ndarray
    stamps: list[tuple[datetime, int]]  # (created, id) of each row's analysis
    raw: np.ndarray  # the feature vectors, one row per drawing
    names: list[str]  # the drawings' names (``part_names.drawing_name``)
    # The space of a tenant without a model fitted on these rows and names
    # (``Space.without_model``): ``kept`` serves similar drawings and near
    # duplicates alike (``Space.kept``, in float32); ``lengths``:
    # ``row_lengths(kept)``.
    space: Space
    kept: np.ndarray
    lengths: np.ndarray
    pending: dict[int, float]  # analysis id -> when first looked for


_matrices: dict[tuple[int, str], Matrix] = {}
_lock = threading.Lock()


def _generation(tenant_id: int, known: str | None) -> str:
    if known is not None:
        return known
    cache.add(_gen_key(tenant_id), uuid.uuid4().hex, timeout=None)
    return str(cache.get(_gen_key(tenant_id)))


def _incr(key: str, by: int) -> int:
    try:
        return int(cache.incr(key, by))
    except ValueError:  # first use: the counter does not exist yet
        cache.add(key, 0, timeout=None)
        return int(cache.incr(key, by))


def tenant_changed(tenant_id: int) -> None:
    """Drawings left the tenant: every process rebuilds its matrices."""
    try:
        cache.set(_gen_key(tenant_id), uuid.uuid4().hex, timeout=None)
    except CACHE_ERRORS:
        # Without the cache, matrices are not reused at all (see tenant_matrix).
        pass


def analyses_added(tenant_id: int, analyses: Sequence[Analysis]) -> None:
    """Finished analyses of the tenant were written: every process folds them
    into its matrices at its next search (once they are committed)."""
    if not analyses:
        return
    # Outside a transaction the rows are committed: they can travel with
    # their entries. Inside one they might still roll back.
    committed = not transaction.get_connection().in_atomic_block
    try:
        last = _incr(_count_key(tenant_id), len(analyses))
        first = last - len(analyses) + 1
        cache.set_many(
            {_entry_key(tenant_id, first + n): a.pk for n, a in enumerate(analyses)},
            timeout=LOG_TTL_S,
        )
        rows = {
            _row_key(tenant_id, first + n): _row(a)
            for n, a in enumerate(analyses)
            if committed
            and a.status == Analysis.Status.DONE
            and a.features
            # Without its drawing at hand the reader reads the row itself.
            and Analysis.drawing.is_cached(a)
        }
        if rows:
            cache.set_many(rows, timeout=ROW_TTL_S)
    except CACHE_ERRORS:
        pass  # readers without the cache rebuild on every search


def _row(a: Analysis) -> Row:
    vector = np.asarray(a.features, dtype=np.float64).tobytes()
    name = drawing_name(a.drawing.name, a.part_name)
    return (a.pk, a.drawing_id, a.feature_version, a.created, vector, name)


def tenant_matrix(tenant_id: int, feature_version: str) -> Matrix:
    """The tenant's newest done vectors of one version (module docstring)."""
    try:
        counters = cache.get_many([_gen_key(tenant_id), _count_key(tenant_id)])
        generation: str | None = _generation(
            tenant_id, counters.get(_gen_key(tenant_id))
        )
        position = int(counters.get(_count_key(tenant_id), 0))
    except CACHE_ERRORS:
        generation, position = None, 0  # unknown: rebuild
    key = (tenant_id, feature_version)
    with _lock:
        hit = _matrices.get(key)
    if hit is not None and generation is not None and hit.generation == generation:
        if hit.position == position and not hit.pending:
            return hit
        grown = _fold(hit, tenant_id, feature_version, position)
        if grown is not None:
            with _lock:
                _matrices[key] = grown
            return grown
    built = _build(tenant_id, feature_version, generation or "", position)
    if generation is not None:
        with _lock:
            _matrices[key] = built
    return built


# (tenant, vector width) -> (the matrix's rows, their drawings, space name,
# embedded rows)
_learned: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, str, np.ndarray]] = {}


def learned_unit(m: Matrix, space: Space, tenant_id: int) -> np.ndarray:
    """``m``'s rows as unit rows in a learned space. With the model's classes
    (the model run over every row, with the drawings' file names when it
    reads them) the rows are kept per process and only those new or changed
    since are embedded again; a drawing's row does not depend on the others,
    and its name never changes."""
    if space.classes is None:
        return space.unit(m.raw)
    key = (tenant_id, int(m.raw.shape[1]))
    with _lock:
        hit = _learned.get(key)
    names = m.names if space.reads_names else None
    if hit is None or hit[2] != space.name or not 0 < len(hit[0]) <= len(m.raw):
        rows = space.unit(m.raw, names)
    elif hit[0] is m.raw:
        return hit[3]
    else:
        before, drawings, _, kept = hit
        n = len(before)
        changed = np.flatnonzero(
            np.any(before != m.raw[:n], axis=1) | (drawings != m.drawing_ids[:n])
        )
        redo = np.concatenate([changed, np.arange(n, len(m.raw))]).astype(int)
        rows = np.empty((len(m.raw), kept.shape[1]), dtype=kept.dtype)
        rows[:n] = kept
        if len(redo):
            rows[redo] = space.unit(
                m.raw[redo], None if names is None else [names[i] for i in redo]
            )
    with _lock:
        _learned[key] = (m.raw, m.drawing_ids, space.name, rows)
    return rows


def _build(
    tenant_id: int, feature_version: str, generation: str, position: int
) -> Matrix:
    # The position is read before the rows; the last entries up to it are
    # looked at again at the next search, in case their analyses committed
    # after this query (folding one in twice changes nothing: newest wins).
    rows = (
        Analysis.objects.filter(
            tenant_id=tenant_id,
            drawing__tenant_id=tenant_id,  # its name is read too
            feature_version=feature_version,
            status=Analysis.Status.DONE,
        )
        .order_by("drawing_id", "-created", "-id")
        .values_list(
            "drawing_id", "features", "created", "pk", "drawing__name", PART_NAME
        )
    )
    seen: set[int] = set()
    ids: list[int] = []
    stamps: list[tuple[datetime, int]] = []
    vecs: list[list[float]] = []
    names: list[str] = []
    for drawing_id, vec, created, pk, name, title in rows.iterator(chunk_size=2000):
        if drawing_id in seen or not vec:
            continue  # only the newest analysis of each drawing counts
        seen.add(drawing_id)
        ids.append(drawing_id)
        stamps.append((created, pk))
        vecs.append(vec)
        names.append(drawing_name(name, title))
    width = len(vecs[0]) if vecs else len(features.SLOTS.get(feature_version, []))
    raw = np.asarray(vecs, dtype=float).reshape(len(vecs), width)
    recent = [
        _entry_key(tenant_id, n)
        for n in range(max(position - LOOKBACK, 0) + 1, position + 1)
    ]
    try:
        again = cache.get_many(recent) if recent else {}
    except CACHE_ERRORS:
        again = {}
    now = time.monotonic()
    pending = {int(pk): now for pk in again.values()}
    return _matrix(
        feature_version,
        generation,
        position,
        np.asarray(ids, dtype=np.int64),
        stamps,
        raw,
        names,
        pending,
    )


def _matrix(
    feature_version: str,
    generation: str,
    position: int,
    ids: np.ndarray,
    stamps: list[tuple[datetime, int]],
    raw: np.ndarray,
    names: list[str],
    pending: dict[int, float],
) -> Matrix:
    space, kept64 = Space.fit_without_model(raw, names, feature_version)
    # Half the memory of float64, far finer than the index's half precision.
    kept = kept64.astype(np.float32)
    return Matrix(
        generation, position, ids, stamps, raw, names, space, kept,
        row_lengths(kept), pending,
    )  # fmt: skip


def _fold(
    hit: Matrix, tenant_id: int, feature_version: str, position: int
) -> Matrix | None:
    """``hit`` with the log entries after its position and its pending
    analyses folded in, or None when the entries cannot all be read (the
    caller rebuilds)."""
    if not hit.position <= position <= hit.position + MAX_DELTA:
        return None
    span = range(hit.position + 1, position + 1)
    keys = [_entry_key(tenant_id, n) for n in span]
    row_keys = [_row_key(tenant_id, n) for n in span]
    try:
        found = cache.get_many(keys + row_keys) if keys else {}
    except CACHE_ERRORS:
        return None
    if any(key not in found for key in keys):
        return None
    now = time.monotonic()
    wanted = dict(hit.pending)
    # (id, drawing id, vector, created, status, feature version, name)
    rows: list[tuple[int, int, Any, datetime, str, str, str]] = []
    for key, row_key in zip(keys, row_keys, strict=True):
        came: Row | None = found.get(row_key)
        # A row an earlier release wrote holds no name: read it again.
        if came is not None and len(came) == 6 and came[0] == found[key]:
            pk, drawing_id, version, created, vector, name = came
            vec = np.frombuffer(vector, dtype=np.float64)
            done = Analysis.Status.DONE
            rows.append((pk, drawing_id, vec, created, done, version, name))
            wanted.pop(pk, None)
        else:
            wanted.setdefault(int(found[key]), now)
    if wanted:
        rows += [
            (pk, drawing_id, vec, created, status, version, drawing_name(name, title))
            for pk, drawing_id, vec, created, status, version, name, title in (
                Analysis.objects.filter(
                    pk__in=list(wanted),
                    tenant_id=tenant_id,
                    drawing__tenant_id=tenant_id,
                ).values_list(
                    "pk",
                    "drawing_id",
                    "features",
                    "created",
                    "status",
                    "feature_version",
                    "drawing__name",
                    PART_NAME,
                )
            )
        ]
    rows.sort(key=lambda r: (r[3], r[0]))
    width = hit.raw.shape[1]
    at = {int(d): n for n, d in enumerate(hit.drawing_ids.tolist())}
    ids = hit.drawing_ids.tolist()
    stamps = list(hit.stamps)
    vecs = list(hit.raw)
    names = list(hit.names)
    changed = False
    for pk, drawing_id, vec, created, status, version, name in rows:
        if status in (Analysis.Status.QUEUED, Analysis.Status.RUNNING):
            continue  # its finish is not committed yet: still pending
        wanted.pop(pk, None)
        if status != Analysis.Status.DONE or version != feature_version:
            continue
        if vec is None or len(vec) == 0:
            continue
        if len(vec) != width:
            return None
        row = at.get(drawing_id)
        if row is None:
            at[drawing_id] = len(ids)
            ids.append(drawing_id)
            stamps.append((created, pk))
            vecs.append(np.asarray(vec, dtype=float))
            names.append(name)
        elif (created, pk) > stamps[row]:
            stamps[row] = (created, pk)
            vecs[row] = np.asarray(vec, dtype=float)
            names[row] = name  # a newer reading of its title
        else:
            continue
        changed = True
    # Not visible yet (or rolled back, given up on after PENDING_S).
    pending = {pk: t for pk, t in wanted.items() if now - t < PENDING_S}
    if not changed:
        return Matrix(
            hit.generation, position, hit.drawing_ids, hit.stamps, hit.raw,
            hit.names, hit.space, hit.kept, hit.lengths, pending,
        )  # fmt: skip
    return _matrix(
        feature_version,
        hit.generation,
        position,
        np.asarray(ids, dtype=np.int64),
        stamps,
        np.vstack(vecs),
        names,
        pending,
    )
