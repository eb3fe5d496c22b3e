"""Approximate nearest-neighbour index of a tenant's drawings (docs/search.md).

One usearch HNSW index per tenant and feature version, keyed by drawing id,
holding the unit-length embeddings of each drawing's newest done analysis in
the space the index was built with (its centre, scale and weights are frozen in
the index's metadata, so later drawings are embedded the same way).

Files live under ``CADML_SEARCH_DIR/<tenant>/``: ``<version>.<stamp>.usearch``
and ``<version>.json`` naming it. Writers save a new file and then atomically
replace the JSON, so a process killed mid-write leaves the previous index
served. Every process memory-maps the file (``view=True``): the page cache is
shared by web, gRPC and worker processes instead of each holding a copy.

Analyses that landed after the index was written (the *delta*) are searched
exactly at query time, so a drawing is findable the moment its analysis is
stored; ``search_index_update`` folds the delta in once it is
``CADML_SEARCH_DELTA_MAX`` long. A missing or damaged index answers ``None``
(callers fall back to exact search) and queues a rebuild; ``/readyz`` says so.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache

from apps.cad import features
from apps.cad.models import PART_NAME, Analysis, Drawing
from apps.cad.part_names import drawing_name
from apps.cad.similarity import FileNames, Space, row_lengths
from cadml.lib.cache import CACHE_ERRORS

logger = logging.getLogger(__name__)

REBUILDING_KEY = "cad:search:rebuilding"


def new_index(ndim: int) -> Any:
    from usearch.index import Index

    return Index(
        ndim=ndim,
        metric="ip",
        dtype=settings.CADML_SEARCH_DTYPE,
        connectivity=settings.CADML_SEARCH_CONNECTIVITY,
        expansion_add=settings.CADML_SEARCH_EXPANSION_ADD,
        expansion_search=settings.CADML_SEARCH_EXPANSION_SEARCH,
    )


@functools.lru_cache(maxsize=64)
def unsupervised_name(feature_version: str) -> str:
    """The name of the space a tenant without a model is indexed in."""
    width = len(features.SLOTS.get(feature_version, ()))
    return Space.without_model(np.zeros((0, width)), [], feature_version).name


def _dir(tenant_id: int) -> Path:
    return Path(settings.CADML_SEARCH_DIR) / str(int(tenant_id))


def _meta_path(tenant_id: int, feature_version: str) -> Path:
    return _dir(tenant_id) / f"{feature_version}.json"


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def latest_vectors(
    *,
    tenant_id: int,
    feature_version: str,
    after: int = 0,
) -> tuple[np.ndarray, np.ndarray, list[str], int]:
    """(drawing ids, raw vectors, the drawings' names (file name and title,
    ``part_names.drawing_name``), highest analysis id) of the newest done
    analysis of each drawing, only analyses with id above ``after``."""
    rows = (
        Analysis.objects.filter(
            tenant_id=tenant_id,
            drawing__tenant_id=tenant_id,  # its name is read too
            feature_version=feature_version,
            status=Analysis.Status.DONE,
            pk__gt=after,
        )
        .order_by("drawing_id", "-created", "-id")
        .values_list("drawing_id", "pk", "features", "drawing__name", PART_NAME)
    )
    seen: set[int] = set()
    ids: list[int] = []
    vecs: list[list[float]] = []
    names: list[str] = []
    top = after
    # A server-side cursor for a whole archive; a delta is a few rows, which a
    # cursor (DECLARE ... WITH HOLD) would only slow down.
    whole = not after
    for drawing_id, pk, vec, name, title in (
        rows.iterator(chunk_size=5000) if whole else rows
    ):
        top = max(top, pk)
        if drawing_id in seen or not vec:
            continue
        seen.add(drawing_id)
        ids.append(drawing_id)
        vecs.append(vec)
        names.append(drawing_name(name, title))
    width = len(vecs[0]) if vecs else len(features.SLOTS.get(feature_version, []))
    raw = np.asarray(vecs, dtype=float).reshape(len(vecs), width)
    return np.asarray(ids, dtype=np.int64), raw, names, top


@dataclass(frozen=True)
class Loaded:
    meta: dict[str, Any]
    space: Space
    index: Any


_loaded: dict[tuple[int, str], tuple[float, Loaded]] = {}
_loaded_lock = threading.Lock()


def _space_from(meta: dict[str, Any]) -> Space:
    s = meta["space"]
    names = s.get("file_names")
    return Space(
        s["name"],
        np.asarray(s["centre"], dtype=float),
        np.asarray(s["scale"], dtype=float),
        np.asarray(s["weight"], dtype=float),
        columns=tuple(s["columns"]) if s.get("columns") is not None else None,
        file_names=(
            None
            if names is None
            else FileNames(np.asarray(names["idf"], dtype=float), names["weight"])
        ),
    )


def has_index(*, tenant_id: int, feature_version: str) -> bool:
    return _meta_path(tenant_id, feature_version).exists()


def _load(tenant_id: int, feature_version: str) -> Loaded | None:
    """The tenant's index as this process sees it; None when missing or damaged."""
    meta_path = _meta_path(tenant_id, feature_version)
    try:
        stamp = meta_path.stat().st_mtime_ns
    except FileNotFoundError:
        return None
    key = (tenant_id, feature_version)
    with _loaded_lock:
        hit = _loaded.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
    try:
        from usearch.index import Index

        meta = json.loads(meta_path.read_bytes())
        index = Index.restore(str(_dir(tenant_id) / meta["file"]), view=True)
        if index is None or len(index) != meta["count"]:
            raise ValueError("index file does not match its metadata")
        loaded = Loaded(meta, _space_from(meta), index)
    except Exception:  # noqa: BLE001 - any damage means: rebuild, search exactly
        logger.warning(
            "search index of tenant %s (%s) is damaged", tenant_id, feature_version
        )
        return None
    with _loaded_lock:
        _loaded[key] = (stamp, loaded)
    return loaded


def _save(
    tenant_id: int,
    feature_version: str,
    index: Any,
    space: Space,
    watermark: int,
) -> None:
    folder = _dir(tenant_id)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{feature_version}.{time.time_ns()}.usearch"
    tmp = folder / f".{name}.tmp"
    index.save(str(tmp))
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, folder / name)
    meta = {
        "file": name,
        "count": len(index),
        "watermark": watermark,
        "space": {
            "name": space.name,
            "centre": space.centre.tolist(),
            "scale": space.scale.tolist(),
            "weight": space.weight.tolist(),
            "columns": None if space.columns is None else list(space.columns),
            "file_names": (
                None
                if space.file_names is None
                else {
                    "idf": space.file_names.idf.tolist(),
                    "weight": space.file_names.weight,
                }
            ),
        },
    }
    _write_atomic(_meta_path(tenant_id, feature_version), json.dumps(meta).encode())
    for old in folder.glob(f"{feature_version}.*.usearch"):
        if old.name != name:
            old.unlink(missing_ok=True)  # mapped elsewhere: freed on unmap


def search_index_build(
    *, tenant_id: int, feature_version: str, space: Space | None
) -> int:
    """Build the tenant's index from the database and swap it in; returns its size.

    ``space`` is the tenant's learned space (with the model's classes when it
    has them), or None for the one without a model fitted on the tenant's
    vectors and names now.
    """
    try:
        ids, raw, names, top = latest_vectors(
            tenant_id=tenant_id, feature_version=feature_version
        )
        if space is None:
            space, kept = Space.fit_without_model(raw, names, feature_version)
        else:
            kept = space.kept(raw, names)
        # The kept rows' width (the model's classes add theirs to the metric).
        width = raw.shape[1]
        ndim = space.kept(np.zeros((1, width))).shape[1] if width else 0
        index = new_index(ndim or len(space.centre))
        if len(ids):
            index.add(ids.astype(np.uint64), kept.astype(np.float32))
        _save(tenant_id, feature_version, index, space, top)
        return len(ids)
    finally:
        _rebuilding(tenant_id, feature_version, False)


def search_index_update(
    *, tenant_id: int, feature_version: str, space: Space | None = None
) -> int:
    """Fold the analyses stored since the index was written into it, and drop
    deleted drawings; returns how many vectors were added. Without a usable
    index in the space searches use (``space``, else unsupervised), rebuild."""
    from usearch.index import Index

    current = _load(tenant_id, feature_version)
    wanted = space.name if space is not None else unsupervised_name(feature_version)
    if current is None or current.space.name != wanted:
        return search_index_build(
            tenant_id=tenant_id, feature_version=feature_version, space=space
        )
    meta = current.meta
    ids, raw, names, top = latest_vectors(
        tenant_id=tenant_id, feature_version=feature_version, after=meta["watermark"]
    )
    index = Index.restore(str(_dir(tenant_id) / meta["file"]), view=False)
    if index is None:  # the file is gone or unreadable
        return search_index_build(
            tenant_id=tenant_id, feature_version=feature_version, space=space
        )
    if len(ids):
        keys = ids.astype(np.uint64)
        present = keys[index.contains(keys)]
        if len(present):
            index.remove(present)
        # The live space: the index's metadata does not hold the model.
        live = space or current.space
        kept = live.kept(raw, names)
        index.add(keys, kept.astype(np.float32))
    alive = set(
        Drawing.objects.filter(tenant_id=tenant_id).values_list("pk", flat=True)
    )
    gone = [k for k in np.asarray(index.keys) if int(k) not in alive]
    if gone:
        index.remove(np.asarray(gone, dtype=np.uint64))
    _save(tenant_id, feature_version, index, current.space, top)
    return len(ids)


def delta_full(*, tenant_id: int, feature_version: str) -> bool:
    """Whether the analyses stored since the index was written should be
    folded in (False without an index: small tenants are searched exactly)."""
    path = _meta_path(tenant_id, feature_version)
    try:
        watermark = json.loads(path.read_bytes())["watermark"]
    except (OSError, ValueError, KeyError):
        return False
    delta = Analysis.objects.filter(
        tenant_id=tenant_id, feature_version=feature_version, pk__gt=watermark
    )
    return delta[: settings.CADML_SEARCH_DELTA_MAX].count() >= (
        settings.CADML_SEARCH_DELTA_MAX
    )


def _rebuilding(tenant_id: int, feature_version: str, on: bool) -> bool:
    """Mark (or clear) a rebuild; True when this call started it."""
    key = f"{REBUILDING_KEY}:{tenant_id}:{feature_version}"
    try:
        if not on:
            cache.delete(key)
            _registry(f"{tenant_id}:{feature_version}", False)
            return False
        started = cache.add(key, 1, timeout=3600)
        if started:
            _registry(f"{tenant_id}:{feature_version}", True)
        return started
    except CACHE_ERRORS:
        return on


def _registry(item: str, on: bool) -> None:
    items = set(cache.get(REBUILDING_KEY, []))
    (items.add if on else items.discard)(item)
    cache.set(REBUILDING_KEY, sorted(items), timeout=None)


def readiness() -> tuple[bool, str]:
    """``/readyz``: search still answers while an index rebuilds (exactly)."""
    try:
        items = cache.get(REBUILDING_KEY, [])
    except CACHE_ERRORS:
        return True, "unknown"
    if not items:
        return True, "ok"
    return True, "rebuilding (exact search meanwhile): " + ", ".join(
        f"tenant {i}" for i in items
    )


def request_rebuild(*, tenant_id: int, feature_version: str) -> None:
    if not settings.CELERY_BROKER_URL:
        # Embedded mode has no worker to build it: searches stay exact.
        return
    if _rebuilding(tenant_id, feature_version, True):
        from apps.cad.tasks import cad_search_index_build

        cad_search_index_build.delay(tenant_id, feature_version)


@dataclass(frozen=True)
class Hit:
    drawing_id: int
    score: float


def index_search(
    *,
    tenant_id: int,
    feature_version: str,
    space: Space | None,
    query: np.ndarray,
    k: int,
    exclude: int | None,
    near_duplicates: bool = False,
    name: str | None = None,
) -> tuple[Space, list[Hit]] | None:
    """The ``k`` best drawings for a raw query vector and the space they were
    scored in: the index plus the delta searched exactly; None when the index
    is missing, damaged or in another space than ``space`` (the tenant's
    learned space; None: the unsupervised one the index was fitted in), and a
    rebuild is queued: the caller searches exactly meanwhile. Scores are the
    space's cosine, or with ``near_duplicates`` its invariant space's
    (``Space.kept``): the index ranks by the kept rows' product with the
    query and the hits are scored exactly. ``name``: the query's file name,
    for a model that weighs names."""
    loaded = _load(tenant_id, feature_version)
    wanted = space.name if space is not None else unsupervised_name(feature_version)
    if loaded is None or loaded.space.name != wanted:
        request_rebuild(tenant_id=tenant_id, feature_version=feature_version)
        return None
    # The index's metadata holds the standardisation, not the model.
    live = space or loaded.space
    q = live.query(query, near_duplicates=near_duplicates, name=name)
    q = q.astype(np.float32)
    ids, raw, names, _ = latest_vectors(
        tenant_id=tenant_id,
        feature_version=feature_version,
        after=loaded.meta["watermark"],
    )
    scores: dict[int, float] = {}
    if len(ids):
        delta = live.scores(
            live.kept(raw, names),
            query,
            near_duplicates=near_duplicates,
            name=name,
        )
        for did, s in zip(ids.tolist(), delta.tolist(), strict=True):
            scores[did] = s
    want = k + 1 + len(ids)  # room for the excluded drawing and superseded rows
    if len(loaded.index):
        found = loaded.index.search(q, min(want, len(loaded.index)), threads=1)
        keys = found.keys.astype(np.uint64)
        products = 1.0 - found.distances.astype(float)
        if live.by_length(near_duplicates=near_duplicates) and len(keys):
            kept = np.asarray(loaded.index.get(keys), dtype=float)
            products = products / row_lengths(kept)
        for key, product in zip(keys.tolist(), products.tolist(), strict=True):
            scores.setdefault(int(key), float(product))
    if exclude is not None:
        scores.pop(exclude, None)
    best = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return live, [Hit(d, s) for d, s in best]
