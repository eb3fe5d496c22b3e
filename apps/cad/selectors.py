"""Reads for the CAD core; every one is scoped to a tenant."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.conf import settings
from django.db.models import Exists, F, FloatField, OuterRef, QuerySet, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils.module_loading import import_string

from apps.accounts.models import Tenant
from apps.cad import index, matrices
from apps.cad.features import served_by
from apps.cad.formats import FORMATS
from apps.cad.models import Analysis, Drawing
from apps.cad.part_names import drawing_name
from apps.cad.similarity import Space
from cadml.lib.errors import Conflict, NotFound


def drawing_list(
    *,
    tenant: Tenant,
    name: str | None = None,
    format: str | None = None,
    material: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    label: str | None = None,
    labelled: bool | None = None,
    needs_review: bool | None = None,
    order: str = "newest",
) -> QuerySet[Drawing]:
    """The tenant's drawings, filtered; ``order="uncertainty"`` puts those whose
    latest prediction had the smallest margin between its top two classes
    first (the review queue: ``needs_review=True, labelled=False``)."""
    qs = Drawing.objects.filter(tenant=tenant).select_related("uploaded_by")
    if label:
        qs = qs.filter(label=label)
    if labelled is not None:
        qs = qs.exclude(label="") if labelled else qs.filter(label="")
    if needs_review is not None or order == "uncertainty":
        latest = Analysis.objects.filter(
            drawing=OuterRef("pk"), status=Analysis.Status.DONE
        ).order_by("-created", "-id")
        qs = qs.annotate(latest_analysis_id=Subquery(latest.values("pk")[:1]))
    if needs_review is not None:
        flagged = Exists(
            Analysis.objects.filter(
                pk=OuterRef("latest_analysis_id"), prediction__needs_review=True
            )
        )
        qs = qs.filter(flagged) if needs_review else qs.exclude(flagged)
    if order == "uncertainty":
        by_id = Analysis.objects.filter(pk=OuterRef("latest_analysis_id"))

        def score(path: str) -> Subquery:
            return Subquery(
                by_id.annotate(v=Cast(KT(path), FloatField())).values("v")[:1]
            )

        qs = qs.annotate(
            top1=score("prediction__top3__0__confidence"),
            top2=score("prediction__top3__1__confidence"),
        ).order_by((F("top1") - F("top2")).asc(nulls_last=True), F("top1").asc(), "-id")
    if name:
        qs = qs.filter(name__icontains=name)
    if format:
        qs = qs.filter(format=format)
    if created_from:
        qs = qs.filter(created__gte=created_from)
    if created_to:
        qs = qs.filter(created__lte=created_to)
    if material:
        latest = Analysis.objects.filter(drawing=OuterRef("pk")).order_by(
            "-created", "-id"
        )
        qs = qs.annotate(
            latest_material=Subquery(latest.values("material")[:1])
        ).filter(latest_material__icontains=material)
    return qs


def drawing_get(*, tenant: Tenant, drawing_id: int) -> Drawing:
    drawing = Drawing.objects.filter(tenant=tenant, pk=drawing_id).first()
    if drawing is None:
        raise NotFound("Drawing not found.")
    return drawing


def analysis_latest(*, tenant: Tenant, drawing: Drawing) -> Analysis:
    analysis = (
        Analysis.objects.filter(tenant=tenant, drawing=drawing)
        .order_by("-created", "-id")
        .first()
    )
    if analysis is None:
        raise NotFound("This drawing has not been analysed yet.")
    return analysis


def drawings_needing_features(
    *, tenant: Tenant, feature_version: str, analysed_before: datetime | None = None
) -> QuerySet[Drawing]:
    """The tenant's drawings of the formats whose analyses store
    ``feature_version`` (the format registry says which) with no finished
    analysis that serves it (its own, or a later dxf version whose prefix it
    is; older analyses stay as they are: history). With ``analysed_before``,
    an analysis finished before then does not count: after a release that
    reads drawings better within one version, its vectors are redone."""
    done = Analysis.objects.filter(
        drawing=OuterRef("pk"),
        feature_version__in=served_by(feature_version),
        status=Analysis.Status.DONE,
    )
    if analysed_before is not None:
        done = done.filter(finished__gte=analysed_before)
    formats = [f.name for f in FORMATS if feature_version in f.feature_versions]
    return (
        Drawing.objects.filter(tenant=tenant, format__in=formats)
        .exclude(Exists(done))
        .order_by("pk")
    )


@dataclass(frozen=True)
class Neighbour:
    drawing: Drawing
    score: float
    duplicate: bool


@dataclass(frozen=True)
class Similar:
    space: str  # which space ranked them (apps.cad.similarity)
    neighbours: list[Neighbour]


def _learned_space(tenant_id: int, feature_version: str) -> Space | None:
    """The tenant's own trained model's metric (with its class probabilities
    beside it when it has them), through the model registry's hook
    (``CADML_SIMILARITY_METRIC``); None without one."""
    path = settings.CADML_SIMILARITY_METRIC
    if not path:
        return None
    try:
        found = import_string(path)(
            tenant_id=tenant_id, feature_version=feature_version
        )
    except Exception:  # noqa: BLE001 - search still works in the default space
        logging.getLogger(__name__).exception("similarity metric hook %s failed", path)
        return None
    if found is None:
        return None
    name, metric, classes, columns, names = found
    space = Space.learned(metric, name=name, columns=columns)
    if space is not None and classes is not None:
        return space.with_classes(classes, names=names)
    return space


@dataclass(frozen=True)
class SimilarFilters:
    """Which drawings may be answered (``/similar`` and ``/search``)."""

    label: str = ""
    format: str = ""
    created_from: datetime | None = None
    created_to: datetime | None = None
    exclude_identical: bool = False  # leave out drawings with the query's sha256

    @property
    def active(self) -> bool:
        return bool(
            self.label
            or self.format
            or self.created_from
            or self.created_to
            or self.exclude_identical
        )


NO_FILTERS = SimilarFilters()


def drawing_similar(
    *,
    tenant: Tenant,
    drawing: Drawing,
    k: int = 10,
    filters: SimilarFilters = NO_FILTERS,
    min_score: float | None = None,
) -> Similar:
    """Nearest neighbours (cosine) among the tenant's drawings of the same
    feature version, the drawing itself left out: in the metric learned by the
    tenant's own model when it has one, else in the unsupervised space.
    ``min_score``: as for ``vector_similar``."""
    analysis = (
        Analysis.objects.filter(
            tenant=tenant, drawing=drawing, status=Analysis.Status.DONE
        )
        .order_by("-created", "-id")
        # Not the text, dimensions, preview.
        .only("feature_version", "features", "title_block")
        .first()
    )
    if analysis is None or not analysis.features:
        raise Conflict(
            "This drawing has no finished analysis to compare; analyse it first."
        )
    return vector_similar(
        tenant_id=tenant.pk,
        feature_version=analysis.feature_version,
        vector=analysis.features,
        sha256=drawing.sha256,
        name=drawing_name(drawing.name, analysis.part_name),
        exclude_id=drawing.pk,
        k=k,
        filters=filters,
        min_score=min_score,
    )


def vector_similar(
    *,
    tenant_id: int,
    feature_version: str,
    vector: list[float],
    sha256: str,
    exclude_id: int | None,
    k: int,
    filters: SimilarFilters = NO_FILTERS,
    min_score: float | None = None,
    keep: frozenset[int] = frozenset(),
    name: str | None = None,
) -> Similar:
    """The ``k`` drawings of the tenant nearest to a feature vector, through
    the tenant's index when it has one (``apps/cad/index.py``), else exactly.
    With ``min_score`` only drawings scoring at least that (or in ``keep``)
    are answered, and no other drawing is read from the database. ``name``:
    the query's file name, which a tenant's model that learned its labels'
    names weighs in its classes."""
    # Near duplicates are near in the metric (or the invariant unsupervised
    # space) alone; the model's classes (or every view) order similar drawings.
    learned = _learned_space(tenant_id, feature_version)
    q = np.asarray(vector, dtype=float)
    ranked = _ranked_indexed(
        tenant_id=tenant_id,
        feature_version=feature_version,
        learned=learned,
        query=q,
        exclude_id=exclude_id,
        want=k if not filters.active else min(max(10 * k, 200), 2000),
        near_duplicates=min_score is not None,
        name=name,
    )
    if ranked is None:
        ranked = _ranked_exact(
            tenant_id=tenant_id,
            feature_version=feature_version,
            learned=learned,
            query=q,
            exclude_id=exclude_id,
            min_score=min_score,
            keep=keep,
            name=name,
        )
    elif min_score is not None:
        ranked = (
            ranked[0],
            [(d, s) for d, s in ranked[1] if s >= min_score or d in keep],
        )
    space, order = ranked
    allowed = Drawing.objects.filter(tenant_id=tenant_id).select_related("uploaded_by")
    if filters.label:
        allowed = allowed.filter(label=filters.label)
    if filters.format:
        allowed = allowed.filter(format=filters.format)
    if filters.created_from:
        allowed = allowed.filter(created__gte=filters.created_from)
    if filters.created_to:
        allowed = allowed.filter(created__lte=filters.created_to)
    if filters.exclude_identical and sha256:
        allowed = allowed.exclude(sha256=sha256)
    picked: list[Neighbour] = []
    # Without filters the first k + a few are nearly always the answer.
    chunk = max(4 * k, 200) if filters.active else k + 8
    # Deleted drawings may linger in an index until its next update and
    # filters drop others: look rows up chunk by chunk, tenant-scoped.
    for lo in range(0, len(order), chunk):
        part = order[lo : lo + chunk]
        by_id = allowed.in_bulk([d for d, _ in part])
        for did, score in part:
            if did in by_id and len(picked) < k:
                found = by_id[did]
                picked.append(Neighbour(found, round(score, 6), found.sha256 == sha256))
        if len(picked) >= k:
            break
    return Similar(space, picked)


def _ranked_exact(
    *,
    tenant_id: int,
    feature_version: str,
    learned: Space | None,
    query: np.ndarray,
    exclude_id: int | None,
    min_score: float | None = None,
    keep: frozenset[int] = frozenset(),
    name: str | None = None,
) -> tuple[str, list[tuple[int, float]]]:
    m = matrices.tenant_matrix(tenant_id, feature_version)
    if len(m.drawing_ids) >= settings.CADML_SEARCH_EXACT_BELOW and not (
        index.has_index(tenant_id=tenant_id, feature_version=feature_version)
    ):
        # Outgrown exact search: queue its index (searches stay exact until
        # it is there).
        index.request_rebuild(tenant_id=tenant_id, feature_version=feature_version)
    near_duplicates = min_score is not None
    space = learned or m.space
    answered = (space.invariant() if near_duplicates else space).name
    if len(m.drawing_ids) == 0:
        return answered, []
    if learned is not None:
        by = learned.invariant() if near_duplicates else learned
        scores = matrices.learned_unit(m, by, tenant_id) @ by.query(query, name=name)
    else:
        scores = m.space.scores(
            m.kept,
            query,
            near_duplicates=near_duplicates,
            lengths=m.lengths,
            name=name,
        )
    if min_score is None:
        rows = np.arange(len(scores))
    else:
        # Cut before ordering: a duplicates lookup wants a handful of rows
        # out of the tenant's whole archive.
        chosen = scores >= min_score
        if keep:
            chosen |= np.isin(m.drawing_ids, list(keep))
        rows = np.flatnonzero(chosen)
    order = rows[np.argsort(-scores[rows], kind="stable")]
    ids = m.drawing_ids[order].tolist()
    return answered, [
        (did, score)
        for did, score in zip(ids, scores[order].tolist(), strict=True)
        if did != exclude_id
    ]


def _ranked_indexed(
    *,
    tenant_id: int,
    feature_version: str,
    learned: Space | None,
    query: np.ndarray,
    exclude_id: int | None,
    want: int,
    near_duplicates: bool = False,
    name: str | None = None,
) -> tuple[str, list[tuple[int, float]]] | None:
    """Candidates from the tenant's nearest-neighbour index, or None to search
    exactly: no index (a small tenant: ``_ranked_exact`` asks for one when the
    tenant reaches ``CADML_SEARCH_EXACT_BELOW`` drawings), or an index
    damaged or built in another space (rebuild queued). The index holds the
    tenant model's classes beside its metric, or without a model the
    unsupervised space with every view, and answers near duplicates in the
    metric alone or the invariant views (``Space.kept``)."""
    if not index.has_index(tenant_id=tenant_id, feature_version=feature_version):
        return None
    found = index.index_search(
        tenant_id=tenant_id,
        feature_version=feature_version,
        space=learned,
        query=query,
        k=want + 64,
        exclude=exclude_id,
        near_duplicates=near_duplicates,
        name=name,
    )
    if found is None:
        return None
    space, hits = found
    answered = space.invariant() if near_duplicates else space
    return answered.name, [(h.drawing_id, h.score) for h in hits]


def _duplicates_only(found: Similar) -> Similar:
    threshold = settings.CADML_DUPLICATE_THRESHOLD
    return Similar(
        found.space,
        [n for n in found.neighbours if n.duplicate or n.score >= threshold],
    )


def _duplicate_floor() -> float:
    # Scores are answered rounded to six places; compare as they will be.
    return float(settings.CADML_DUPLICATE_THRESHOLD) - 5e-7


def drawing_duplicates(*, tenant: Tenant, drawing: Drawing) -> Similar:
    """The tenant's drawings whose cosine to this one reaches
    ``CADML_DUPLICATE_THRESHOLD`` (near-duplicates; the same bytes are never
    stored twice in a tenant), best first, at most 100."""
    return _duplicates_only(
        drawing_similar(
            tenant=tenant, drawing=drawing, k=100, min_score=_duplicate_floor()
        )
    )


def vector_duplicates(
    *,
    tenant_id: int,
    feature_version: str,
    vector: list[float] | None,
    sha256: str,
    exclude_id: int | None,
) -> list[dict[str, object]]:
    """What an analysis stores as its ``duplicates``: the tenant's drawings
    with the same content (``exact``) or a cosine at or over
    ``CADML_DUPLICATE_THRESHOLD``, best first, at most 100."""
    if not vector:
        return []
    # The same bytes give the same vector, so they score 1 and pass the floor,
    # unless the vector is the tenant's mean (one drawing): keep them by id.
    # A stored drawing is the only one with its content in its tenant.
    same = (
        frozenset(
            Drawing.objects.filter(tenant_id=tenant_id, sha256=sha256).values_list(
                "pk", flat=True
            )
        )
        if sha256 and exclude_id is None
        else frozenset()
    )
    found = vector_similar(
        tenant_id=tenant_id,
        feature_version=feature_version,
        vector=vector,
        sha256=sha256,
        exclude_id=exclude_id,
        k=100,
        min_score=_duplicate_floor(),
        keep=same,
    )
    return [
        {"drawing_id": n.drawing.pk, "score": n.score, "exact": n.duplicate}
        for n in _duplicates_only(found).neighbours
    ]


@dataclass(frozen=True)
class DuplicatePair:
    first: Drawing
    second: Drawing
    score: float


def tenant_analysed_drawings(*, tenant: Tenant) -> QuerySet[Drawing]:
    """The tenant's drawings with a finished analysis, in id order."""
    return (
        Drawing.objects.filter(tenant=tenant)
        .filter(
            Exists(
                Analysis.objects.filter(
                    drawing=OuterRef("pk"), status=Analysis.Status.DONE
                )
            )
        )
        .order_by("pk")
    )


def tenant_duplicate_pairs(
    *, tenant: Tenant, progress: Callable[[int], None] | None = None
) -> Iterator[DuplicatePair]:
    """Every pair of the tenant's drawings at or over
    ``CADML_DUPLICATE_THRESHOLD``, once each (lower id first), in id order of
    the first: one nearest-neighbour query per analysed drawing, after each of
    which ``progress`` is told how many were looked at."""
    analysed = tenant_analysed_drawings(tenant=tenant)
    for n_done, drawing in enumerate(analysed.iterator(chunk_size=500), start=1):
        for n in drawing_duplicates(tenant=tenant, drawing=drawing).neighbours:
            if n.drawing.pk > drawing.pk:
                yield DuplicatePair(drawing, n.drawing, n.score)
        if progress is not None:
            progress(n_done)
