"""Writes for the CAD core: store drawings, run analyses, hook the predictor."""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from apps.accounts.models import Tenant
from apps.cad import index, preview_theme
from apps.cad.errors import UploadTooLarge
from apps.cad.models import Analysis, Drawing
from apps.cad.pool import analyze_isolated
from apps.cad.sniff import sniff
from cadml import metrics, telemetry
from cadml.lib import params
from cadml.lib.cache import CACHE_ERRORS
from cadml.lib.errors import DomainError, InvalidInput, TooManyRequests, Unprocessable

logger = logging.getLogger(__name__)

# Stored results skip the SVG in the JSON fields; it has its own column.
_RESULT_FIELDS = (
    "pipeline_version",
    "feature_version",
    "features",
    "text",
    "title_block",
    "dimensions",
    "stats",
    "timings",
    "recovered",
    "fixes",
)


def max_upload_bytes() -> int:
    return int(getattr(settings, "CADML_MAX_UPLOAD_MB", 50)) * 1024 * 1024


def sync_analyze_bytes() -> int:
    return int(getattr(settings, "CADML_SYNC_ANALYZE_MAX_MB", 10)) * 1024 * 1024


def check_upload_size(size: int) -> None:
    limit = max_upload_bytes()
    if size > limit:
        raise UploadTooLarge(
            f"The file is {size / 1048576:.1f} MB; the upload limit is "
            f"{limit // 1048576} MB."
        )


def tenant_analysis_slots(tenant: Tenant) -> int:
    """How many files of ``tenant`` may wait or run in a web process's pool."""
    table = settings.CADML_ANALYSIS_TENANT_SLOTS
    return max(1, int(table.get(tenant.plan, table["free"])))


def _isolated(
    name: str, content: bytes, *, preview: bool, task: str, tenant: Tenant | None
) -> dict:
    return analyze_isolated(
        name,
        content,
        preview=preview,
        task=task,
        timeout_s=float(getattr(settings, "CADML_PARSE_TIMEOUT_S", 20)),
        memory_mb=int(getattr(settings, "CADML_PARSE_MEMORY_MB", 1024)),
        workers=int(getattr(settings, "CADML_PARSE_WORKERS", 2)),
        tenant=tenant.pk if tenant is not None else None,
        tenant_limit=tenant_analysis_slots(tenant) if tenant is not None else 1,
        retry_after_s=int(settings.CADML_ANALYSIS_RETRY_AFTER_S),
    )


# DomainError codes of refused files -> the closed outcome set of
# cadml_analyses_total (anything else counts as invalid).
_REFUSAL_OUTCOMES = {
    "unsupported_format": "unsupported",
    "upload_too_large": "too_large",
    "resource_limit": "timeout",
}


def _refusal_outcome(exc: DomainError) -> str:
    return _REFUSAL_OUTCOMES.get(exc.code, "invalid")


def content_analyze(
    *, name: str, content: bytes, preview: bool = True, tenant: Tenant | None = None
) -> dict:
    """Check, sniff and analyse bytes in the isolation pool; no rows written.

    The single way in to the pipeline for the API, the ``analyze`` command and
    batch work, so that all of them refuse the same files with the same words.
    With ``tenant`` (requests answered while the client waits) the file is
    admitted only within the tenant's share of the pool (429 beyond it); queued
    work is limited by the batch dispatch instead.
    """
    check_upload_size(len(content))
    sniff(content)  # refuse bad formats here, before a worker is bothered
    return _isolated(name, content, preview=preview, task="analyze", tenant=tenant)


def content_predict(*, result: dict[str, Any]) -> Analysis:
    """What the platform's active model says about ``result`` (from
    ``content_analyze``), as an unsaved analysis carrying the prediction, its
    model and version, or the reason there is none. No rows are written.

    For callers without a tenant (the ``analyze`` command): the platform-wide
    model answers, as it does for a tenant without a model of its own.
    """
    analysis = Analysis(
        status=Analysis.Status.DONE,
        features=result.get("features"),
        feature_version=result.get("feature_version", ""),
    )
    _predict(analysis)
    return analysis


def content_search(
    *,
    tenant: Tenant,
    name: str,
    content: bytes,
    k: int,
    filters: Any = None,
) -> tuple[Analysis, Any]:
    """Query by example: analyse ``content`` and find the tenant's nearest
    drawings. Nothing is stored: the analysis returned is unsaved and the
    archive and its index are left as they were."""
    from apps.cad import selectors

    result = content_analyze(name=name, content=content, preview=False, tenant=tenant)
    analysis = Analysis(tenant_id=tenant.pk, status=Analysis.Status.DONE)
    for field in _RESULT_FIELDS:
        setattr(analysis, field, result[field])
    material = (result["title_block"].get("material") or {}).get("value", "")
    analysis.material = material[:255]
    _predict(analysis)
    if not analysis.features:
        raise Unprocessable("This file gave no feature vector to search with.")
    found = selectors.vector_similar(
        tenant=tenant,
        feature_version=analysis.feature_version,
        vector=analysis.features,
        sha256=hashlib.sha256(content).hexdigest(),
        exclude_id=None,
        k=k,
        filters=filters or selectors.NO_FILTERS,
    )
    return analysis, found


def drawing_create(
    *, tenant: Tenant, uploaded_by: Any, name: str, content: bytes
) -> Drawing:
    """Store a drawing once per tenant and content (sha256).

    Returns the existing drawing when the tenant already has these bytes;
    ``drawing.created_now`` tells the two cases apart. Size and format are
    checked before anything is written.
    """
    check_upload_size(len(content))
    fmt = sniff(content)
    digest = hashlib.sha256(content).hexdigest()
    existing = Drawing.objects.filter(tenant=tenant, sha256=digest).first()
    if existing is not None:
        existing.created_now = False  # type: ignore[attr-defined]
        return existing
    drawing = Drawing(
        tenant=tenant,
        uploaded_by=uploaded_by if getattr(uploaded_by, "pk", None) else None,
        # Only NUL is refused (PostgreSQL cannot store it); long names are cut.
        name=(
            params.text(name, field="name", max_length=None, allow_controls=True)
            or "drawing"
        )[:255],
        sha256=digest,
        size=len(content),
        format=str(fmt),
    )
    drawing.file.save(digest, ContentFile(content), save=False)
    try:
        with transaction.atomic():
            # Field checks only: the tenant and the user come from authentication
            # (no existence query per foreign key) and the database enforces
            # the (tenant, sha256) constraint (the IntegrityError below).
            drawing.full_clean(
                exclude=["file", "tenant", "uploaded_by"], validate_constraints=False
            )
            drawing.save()
    except IntegrityError:
        # Another request stored the same bytes first; theirs is ours. The file
        # path is content-addressed, so the file we wrote is theirs too.
        existing = Drawing.objects.get(tenant=tenant, sha256=digest)
        existing.created_now = False  # type: ignore[attr-defined]
        return existing
    # No similarity bump here: the matrices hold finished analyses only, and a
    # drawing joins them when its analysis is stored (analysis_run).
    drawing.created_now = True  # type: ignore[attr-defined]
    return drawing


def drawing_delete(*, drawing: Drawing) -> None:
    tenant_id = drawing.tenant_id
    name = drawing.file.name
    storage = drawing.file.storage
    drawing.delete()
    if name and not Drawing.objects.filter(file=name).exists():
        storage.delete(name)
    _similarity_changed(tenant_id)


def analysis_run(
    *, drawing: Drawing, analysis: Analysis | None = None, interactive: bool = False
) -> Analysis:
    """Run the isolated pipeline on a stored drawing and store the results.

    On a refused file the analysis is saved as failed with the message and the
    ``DomainError`` is raised again for the caller to render. A new analysis is
    written once, with its outcome (one INSERT per file); a queued one passed in
    is marked running first, for those watching it. ``interactive`` (a client
    waits for the answer) takes one of the tenant's pool slots, or raises
    ``AnalysisCapacityExceeded`` (429) with nothing written.
    """
    analysis = analysis_compute(
        drawing=drawing, analysis=analysis, interactive=interactive
    )
    analysis.save()
    analysis_stored(analysis=analysis)
    return analysis


def analysis_compute(
    *, drawing: Drawing, analysis: Analysis | None = None, interactive: bool = False
) -> Analysis:
    """``analysis_run`` up to its last write: the finished analysis, not saved.

    For a caller that stores it together with writes of its own (a batch item
    inserts it in the statement that ends the item) and then calls
    ``analysis_stored``. A refused file is saved as failed and raised, as by
    ``analysis_run``.
    """
    if analysis is None:
        analysis = Analysis(drawing=drawing, tenant_id=drawing.tenant_id)
    else:
        analysis.status = Analysis.Status.RUNNING
        analysis.save(update_fields=["status"])
    with drawing.file.open("rb") as fh:
        content = fh.read()
    fmt = drawing.format or "unknown"
    with telemetry.span("cad.analyze", format=fmt, size=len(content)):
        started_ns = time.time_ns()
        try:
            # The preview is drawn on first request (analysis_preview): it costs
            # more than everything else together and many drawings are never
            # viewed.
            result = content_analyze(
                name=drawing.name,
                content=content,
                preview=False,
                tenant=drawing.tenant if interactive else None,
            )
        except TooManyRequests:
            raise  # not an outcome of the file: nothing to store
        except DomainError as exc:
            metrics.observe_analysis(format=fmt, outcome=_refusal_outcome(exc))
            analysis.status = Analysis.Status.FAILED
            analysis.error = exc.message
            analysis.error_code = exc.code
            analysis.finished = timezone.now()
            if analysis.pk is None:
                analysis.save()
            else:
                analysis.save(
                    update_fields=["status", "error", "error_code", "finished"]
                )
            raise
        stats = result.get("stats") or {}
        entities = stats.get("entities", stats.get("faces"))
        # The pipeline ran in a pool process; its stage timings become spans here.
        telemetry.stage_spans(
            "cad",
            result["timings"],
            started_ns=started_ns,
            format=fmt,
            entities=entities,
        )
        metrics.observe_analysis(format=fmt, outcome="ok", timings=result["timings"])
        if isinstance(entities, int):
            metrics.analysis_entities.labels(fmt).observe(entities)
    for name in _RESULT_FIELDS:
        setattr(analysis, name, result[name])
    material = (result["title_block"].get("material") or {}).get("value", "")
    analysis.material = material[:255]
    analysis.preview_svg = ""
    analysis.status = Analysis.Status.DONE
    analysis.error = analysis.error_code = ""
    analysis.finished = timezone.now()
    _predict(analysis)
    return analysis


def analysis_stored(*, analysis: Analysis) -> None:
    """After a finished analysis is written: its tenant's cached similarity
    matrices are out of date."""
    _similarity_changed(analysis.tenant_id)
    _search_index_changed(analysis.tenant_id, analysis.feature_version)


def analyses_store(
    *, analyses: list[Analysis], after_store: bool = True
) -> list[Analysis]:
    """Write finished, unsaved analyses (``analysis_compute``'s) in one INSERT
    inside the caller's transaction, e.g. with the write that ends a batch
    item. Then the work after a store (similarity generation, search index),
    once per tenant and feature version; a caller that stores many in a row
    passes ``after_store=False`` and calls ``analysis_stored`` once at the end.
    """
    Analysis.objects.bulk_create(analyses)
    if after_store:
        last = {(a.tenant_id, a.feature_version): a for a in analyses}
        for analysis in last.values():
            analysis_stored(analysis=analysis)
    return analyses


def analysis_preview(
    *, analysis: Analysis, theme: str = "light", size: int | None = None
) -> str:
    """The analysis' SVG preview, drawn in the isolation pool on first use.

    The light picture is stored (one drawn by an older renderer is drawn
    again); ``theme="dark"`` and a thumbnail ``size`` (pixels on the longer
    side) are derived from it on the way out.

    A preview that cannot be drawn (over the entity budget, the time or memory
    limit) is refused, and the refusal stored: asking again gets the same 422
    without another attempt. A new analysis of the drawing tries again.
    """
    if not (analysis.preview_svg and preview_theme.is_current(analysis.preview_svg)):
        if analysis.preview_error:
            raise Unprocessable(
                analysis.preview_error, code=analysis.preview_error_code or None
            )
        if analysis.status != Analysis.Status.DONE:
            raise InvalidInput(
                "This drawing has no preview; its analysis did not finish."
            )
        drawing = analysis.drawing
        with drawing.file.open("rb") as fh:
            content = fh.read()
        try:
            out = _isolated(
                drawing.name,
                content,
                preview=True,
                task="preview",
                tenant=drawing.tenant,
            )
        except Unprocessable as exc:
            analysis.preview_error = exc.message
            analysis.preview_error_code = exc.code[:64]
            analysis.save(update_fields=["preview_error", "preview_error_code"])
            raise
        analysis.preview_svg = out["preview_svg"]
        analysis.timings = {
            **(analysis.timings or {}),
            "preview_ms": out["preview_ms"],
        }
        analysis.save(update_fields=["preview_svg", "timings"])
    return preview_theme.themed(analysis.preview_svg, theme=theme, size=size)


def analysis_enqueue(*, drawing: Drawing) -> Analysis:
    """Queue an analysis for later (large files): a Celery task on the batch
    queue, or the in-process pool without a broker (``apps.batch.runner``).

    It is handed over by the batch dispatch once the transaction commits, and
    only while its tenant has fewer than K items and queued analyses in flight
    (``apps.batch.dispatch.dispatch``); until then it waits, queued.
    """
    analysis = Analysis.objects.create(
        drawing=drawing, tenant_id=drawing.tenant_id, status=Analysis.Status.QUEUED
    )
    tenant_id = drawing.tenant_id
    transaction.on_commit(lambda: _dispatch(tenant_id))
    return analysis


def _dispatch(tenant_id: int) -> None:
    # The batch app owns the per-tenant in-flight limit (imported here: it sits
    # above this app).
    from apps.batch.dispatch import dispatch

    dispatch(tenant_id=tenant_id)


def analysis_queued_run(*, analysis_id: int) -> None:
    """Run a queued analysis; a redelivered one that already ended is left alone."""
    analysis = (
        Analysis.objects.select_related("drawing")
        .filter(
            pk=analysis_id,
            status__in=[Analysis.Status.QUEUED, Analysis.Status.RUNNING],
        )
        .first()
    )
    if analysis is None:
        return  # deleted with its drawing, or done by an earlier delivery
    try:
        analysis_run(drawing=analysis.drawing, analysis=analysis)
    except DomainError:
        pass  # stored on the analysis row
    # Its in-flight slot is free: the tenant's next queued work may go.
    _dispatch(analysis.tenant_id)


def drawing_upload(
    *, tenant: Tenant, uploaded_by: Any, name: str, content: bytes, analyze: bool = True
) -> tuple[Drawing, Analysis | None, bool]:
    """Store and (by default) analyse an upload; returns (drawing, analysis, queued).

    A file the pipeline refuses leaves nothing behind: the new drawing is
    deleted and the 4xx raised. Re-uploading known bytes returns the stored
    drawing and its latest analysis without running it again.
    """
    try:
        drawing = drawing_create(
            tenant=tenant, uploaded_by=uploaded_by, name=name, content=content
        )
    except DomainError as exc:
        # Refused before the pipeline (size, format sniffing): still an analysis
        # the caller asked for and did not get.
        metrics.observe_analysis(format="unknown", outcome=_refusal_outcome(exc))
        raise
    if not drawing.created_now:  # type: ignore[attr-defined]
        latest = drawing.latest_analysis()
        if latest is not None or not analyze:
            return drawing, latest, False
    if not analyze:
        return drawing, None, False
    if len(content) > sync_analyze_bytes():
        return drawing, analysis_enqueue(drawing=drawing), True
    try:
        return drawing, analysis_run(drawing=drawing, interactive=True), False
    except DomainError:
        if drawing.created_now:  # type: ignore[attr-defined]
            drawing_delete(drawing=drawing)
        raise


def _predict(analysis: Analysis) -> None:
    """The model registry's hook: ``settings.CADML_PREDICTOR`` names a callable.

    It takes the analysis and returns a dict with ``prediction`` (JSON),
    ``confidence``, ``model_name``, ``model_version``, ``variant`` and optionally
    ``reason``, or None when it has no answer.
    """
    path = getattr(settings, "CADML_PREDICTOR", None)
    out: dict[str, Any] | None = None
    reason = "no active model"
    if path:
        try:
            out = import_string(path)(analysis)
        except Exception as exc:  # noqa: BLE001 - a model failure must not lose the analysis
            logger.exception("predictor %s failed", path)
            reason = f"prediction failed: {type(exc).__name__}"
            out = None
    if not out or out.get("prediction") is None:
        analysis.prediction = None
        analysis.prediction_reason = (out or {}).get("reason") or reason
        analysis.confidence = None
        return
    analysis.prediction = out["prediction"]
    analysis.confidence = out.get("confidence")
    analysis.model_name = out.get("model_name", "")
    analysis.model_version = str(out.get("model_version", ""))
    analysis.variant = out.get("variant", "")
    analysis.prediction_reason = out.get("reason", "")


def _similarity_changed(tenant_id: int) -> None:
    """Bump the tenant's similarity generation so cached matrices are rebuilt."""
    key = f"cad:similarity:gen:{tenant_id}"
    try:
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=None)
    except CACHE_ERRORS:
        # Without the cache, matrices are not reused at all (see _tenant_matrix).
        logger.warning("cache unavailable; similarity generation not bumped")


def _search_index_changed(tenant_id: int, feature_version: str) -> None:
    """Queue folding the tenant's new analyses into its index once they are
    ``CADML_SEARCH_DELTA_MAX`` many (until then queries search them exactly)."""
    if not settings.CELERY_BROKER_URL or not index.delta_full(
        tenant_id=tenant_id, feature_version=feature_version
    ):
        return
    from apps.cad.tasks import cad_search_index_update

    transaction.on_commit(
        lambda: cad_search_index_update.delay(tenant_id, feature_version)
    )


def search_index_rebuild(*, tenant_id: int, feature_version: str) -> int:
    """Rebuild the tenant's index from the database in the space its searches
    use now (its model's learned metric, else the unsupervised one)."""
    from apps.cad.selectors import _learned_space

    return index.search_index_build(
        tenant_id=tenant_id,
        feature_version=feature_version,
        space=_learned_space(tenant_id, feature_version),
    )


def search_index_fold(*, tenant_id: int, feature_version: str) -> int:
    from apps.cad.selectors import _learned_space

    return index.search_index_update(
        tenant_id=tenant_id,
        feature_version=feature_version,
        space=_learned_space(tenant_id, feature_version),
    )
