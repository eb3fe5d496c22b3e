"""Writes for the CAD core: store drawings, run analyses, hook the predictor."""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any, NamedTuple, Protocol

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from apps.accounts.models import Tenant
from apps.cad import formats, index, matrices, preview_theme, signals
from apps.cad.errors import UploadTooLarge
from apps.cad.formats import Format
from apps.cad.models import Analysis, Drawing
from apps.cad.part_names import drawing_name
from apps.cad.pool import analyze_isolated
from cadml import metrics, telemetry
from cadml.lib import params
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
    return int(settings.CADML_MAX_UPLOAD_MB) * 1024 * 1024


def sync_analyze_bytes() -> int:
    return int(settings.CADML_SYNC_ANALYZE_MAX_MB) * 1024 * 1024


def check_upload_size(size: int) -> None:
    limit = max_upload_bytes()
    if size > limit:
        raise UploadTooLarge(
            f"The file is {size / 1048576:.1f} MB; the upload limit is "
            f"{limit // 1048576} MB."
        )


class CadFile(NamedTuple):
    """A file from outside, checked once: its size is within the limit and its
    format is known. What every service after the edge takes."""

    name: str
    content: bytes
    format: Format


class Upload(Protocol):
    """A received file not read yet (Django's ``UploadedFile``)."""

    size: int

    def read(self) -> bytes: ...


def file_check(*, name: str, content: bytes | Upload) -> CadFile:
    """The one check of a file at the edge: size, then format (413 / 415).

    An upload not read yet is refused on its size before it is read.
    """
    if isinstance(content, bytes):
        check_upload_size(len(content))
    else:
        check_upload_size(content.size)
        content = content.read()
    return CadFile(name=name, content=content, format=formats.detect(content))


def tenant_analysis_slots(tenant: Tenant) -> int:
    """How many files of ``tenant`` may wait or run in a web process's pool."""
    table = settings.CADML_ANALYSIS_TENANT_SLOTS
    return max(1, int(table.get(tenant.plan, table["free"])))


def _isolated(
    file: CadFile, *, preview: bool, task: str, tenant: Tenant | None
) -> dict:
    return analyze_isolated(
        file.name,
        file.content,
        fmt=file.format,
        preview=preview,
        task=task,
        timeout_s=float(settings.CADML_PARSE_TIMEOUT_S),
        memory_mb=int(settings.CADML_PARSE_MEMORY_MB),
        workers=int(settings.CADML_PARSE_WORKERS),
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
    *,
    name: str,
    content: bytes | Upload,
    preview: bool = True,
    tenant: Tenant | None = None,
) -> dict:
    """Check and analyse a file from outside in the isolation pool; no rows
    written. The ``analyze`` command's and the tests' way in: the same checks
    and the same pipeline as an upload, so all refuse the same files with the
    same words."""
    file = file_check(name=name, content=content)
    return _analyse(file, preview=preview, tenant=tenant)


def _analyse(file: CadFile, *, preview: bool, tenant: Tenant | None) -> dict:
    """Analyse a checked file in the isolation pool. With ``tenant`` (requests
    answered while the client waits) the file is admitted only within the
    tenant's share of the pool (429 beyond it); queued work is limited by the
    batch dispatch instead."""
    return _isolated(file, preview=preview, task="analyze", tenant=tenant)


def content_predict(*, result: dict[str, Any], name: str | None = None) -> Analysis:
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
        title_block=result.get("title_block") or {},
        # A STEP or IGES file's parts, each answered too.
        stats=result.get("stats") or {},
    )
    # The file's name and title block name the part as a stored drawing's do.
    analysis.file_name = name
    _predict(analysis)
    return analysis


def content_search(
    *,
    tenant: Tenant,
    name: str,
    content: bytes | Upload,
    k: int,
    filters: Any = None,
) -> tuple[Analysis, Any]:
    """Query by example: analyse ``content`` and find the tenant's nearest
    drawings. Nothing is stored: the analysis returned is unsaved and the
    archive and its index are left as they were."""
    from apps.cad import selectors

    file = file_check(name=name, content=content)
    result = _analyse(file, preview=False, tenant=tenant)
    analysis = Analysis(tenant_id=tenant.pk, status=Analysis.Status.DONE)
    for field in _RESULT_FIELDS:
        setattr(analysis, field, result[field])
    material = (result["title_block"].get("material") or {}).get("value", "")
    analysis.material = material[:255]
    analysis.file_name = name
    _predict(analysis)
    if not analysis.features:
        raise Unprocessable("This file gave no feature vector to search with.")
    sha256 = hashlib.sha256(file.content).hexdigest()
    analysis.duplicates = _duplicates(analysis, tenant.pk, sha256, None)
    found = selectors.vector_similar(
        tenant_id=tenant.pk,
        feature_version=analysis.feature_version,
        vector=analysis.features,
        sha256=sha256,
        name=drawing_name(name, analysis.part_name),
        exclude_id=None,
        k=k,
        filters=filters or selectors.NO_FILTERS,
    )
    return analysis, found


class DrawingCreated(NamedTuple):
    drawing: Drawing
    # False when the tenant already had these bytes and got its drawing back.
    created: bool


def drawing_create(
    *,
    tenant: Tenant,
    uploaded_by: Any,
    name: str,
    content: bytes,
    fmt: Format | None = None,
) -> DrawingCreated:
    """Store a drawing once per tenant and content (sha256).

    Returns the existing drawing (``created`` False) when the tenant already
    has these bytes. ``fmt`` is the format the caller found when it checked
    the file (``file_check``); without it size and format are checked here.
    Either way before anything is written.
    """
    if fmt is None:
        fmt = file_check(name=name, content=content).format
    digest = hashlib.sha256(content).hexdigest()
    existing = Drawing.objects.filter(tenant=tenant, sha256=digest).first()
    if existing is not None:
        return DrawingCreated(existing, False)
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
        format=fmt.name,
    )
    drawing.file.save(digest, ContentFile(content), save=False)
    try:
        with transaction.atomic():
            # Field checks only: the tenant and the user come from authentication
            # (no existence query per foreign key), the format from the
            # registry, and the database enforces the (tenant, sha256)
            # constraint (the IntegrityError below).
            drawing.full_clean(
                exclude=["file", "tenant", "uploaded_by", "format"],
                validate_constraints=False,
            )
            drawing.save()
    except IntegrityError:
        # Another request stored the same bytes first; theirs is ours. The file
        # path is content-addressed, so the file we wrote is theirs too.
        return DrawingCreated(Drawing.objects.get(tenant=tenant, sha256=digest), False)
    # No similarity bump here: the matrices hold finished analyses only, and a
    # drawing joins them when its analysis is stored (analysis_run).
    return DrawingCreated(drawing, True)


def drawing_delete(*, drawing: Drawing) -> None:
    tenant_id = drawing.tenant_id
    name = drawing.file.name
    storage = drawing.file.storage
    drawing.delete()
    if name and not Drawing.objects.filter(file=name).exists():
        storage.delete(name)
    matrices.tenant_changed(tenant_id)


def analysis_run(
    *,
    drawing: Drawing,
    analysis: Analysis | None = None,
    interactive: bool = False,
    file: CadFile | None = None,
) -> Analysis:
    """Run the isolated pipeline on a stored drawing and store the results.

    On a refused file the analysis is saved as failed with the message and the
    ``DomainError`` is raised again for the caller to render. A new analysis is
    written once, with its outcome (one INSERT per file); a queued one passed in
    is marked running first, for those watching it. ``interactive`` (a client
    waits for the answer) takes one of the tenant's pool slots, or raises
    ``AnalysisCapacityExceeded`` (429) with nothing written. ``file`` is the
    drawing's checked upload, when the caller holds it: not read back.
    """
    analysis = analysis_compute(
        drawing=drawing, analysis=analysis, interactive=interactive, file=file
    )
    analysis.save()
    analysis_stored(analysis=analysis)
    return analysis


def analysis_compute(
    *,
    drawing: Drawing,
    analysis: Analysis | None = None,
    interactive: bool = False,
    file: CadFile | None = None,
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
    fmt = drawing.format
    with telemetry.span("cad.analyze", format=fmt, size=drawing.size):
        started_ns = time.time_ns()
        try:
            # The preview is drawn on first request (analysis_preview): it costs
            # more than everything else together and many drawings are never
            # viewed.
            result = _analyse(
                file or _stored_file(drawing),
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
    analysis.duplicates = _duplicates(
        analysis, drawing.tenant_id, drawing.sha256, drawing.pk
    )
    return analysis


def _duplicates(
    analysis: Analysis, tenant_id: int, sha256: str, exclude_id: int | None
) -> list[dict[str, Any]] | None:
    """The analysis' duplicates in its tenant (docs/search.md); None when they
    could not be looked up: the analysis itself stands."""
    from apps.cad import selectors

    try:
        return selectors.vector_duplicates(
            tenant_id=tenant_id,
            feature_version=analysis.feature_version,
            vector=analysis.features,
            sha256=sha256,
            exclude_id=exclude_id,
        )
    except Exception:  # noqa: BLE001 - a search failure must not fail the analysis
        logger.exception("duplicates of analysis of tenant %s", analysis.tenant_id)
        return None


def _stored_file(drawing: Drawing) -> CadFile:
    # Checked when it was stored: its format is the one found then.
    with drawing.file.open("rb") as fh:
        content = fh.read()
    return CadFile(drawing.name, content, formats.by_name(drawing.format))


def analysis_stored(*, analysis: Analysis, search_index: bool = True) -> None:
    """After a finished analysis is written: every process' similarity
    matrix of its tenant takes it in at its next search (apps/cad/matrices.py),
    and, unless the caller does it once for many (``search_index=False``, then
    ``search_index_changed``), its search index is told."""
    matrices.analyses_added(analysis.tenant_id, [analysis])
    if search_index:
        search_index_changed(
            tenant_id=analysis.tenant_id, feature_version=analysis.feature_version
        )


def analyses_stored(*, analyses: list[Analysis]) -> None:
    """``analysis_stored`` for many written together: each one logged for the
    matrices, the search index told once per tenant and feature version."""
    for analysis in analyses:
        analysis_stored(analysis=analysis, search_index=False)
    for tenant_id, feature_version in {
        (a.tenant_id, a.feature_version) for a in analyses
    }:
        search_index_changed(tenant_id=tenant_id, feature_version=feature_version)


def analyses_store(
    *, analyses: list[Analysis], after_store: bool = True
) -> list[Analysis]:
    """Write finished, unsaved analyses (``analysis_compute``'s) in one INSERT
    inside the caller's transaction, e.g. with the write that ends a batch
    item. Then the work after a store (``analyses_stored``); a caller that
    stores many in a row passes ``after_store=False`` and calls
    ``analyses_stored`` for them all at the end.
    """
    Analysis.objects.bulk_create(analyses)
    if after_store:
        analyses_stored(analyses=analyses)
    return analyses


class AnalysisInsert(NamedTuple):
    """The INSERT that stores one finished, unsaved analysis, for a caller that
    runs it inside a statement of its own (``analysis_insert``)."""

    analysis: Analysis
    # INSERT ... VALUES (%s, ...) RETURNING the analysis' id: the same text for
    # every analysis, so a statement embedding it is prepared once.
    sql: str
    params: list[Any]

    def stored(self, pk: int) -> None:
        """The statement ran and gave the analysis this id: it is saved."""
        self.analysis.pk = pk
        self.analysis._state.adding = False
        self.analysis._state.db = transaction.get_connection().alias


def analysis_insert(*, analysis: Analysis) -> AnalysisInsert:
    """What ``analyses_store`` writes for one analysis (the same columns and
    values as its ``bulk_create``), as SQL and parameters instead of a round
    trip of its own. For a caller that stores the analysis in the statement
    that records it elsewhere, e.g. as a data-modifying CTE of a batch item's
    finish: one statement and one commit for both. After the statement,
    ``stored(id)``, then ``analysis_stored``, as after ``analyses_store``."""
    from django.db.models import AutoField
    from django.db.models.sql import InsertQuery

    opts = Analysis._meta
    fields = [
        f
        for f in opts.concrete_fields
        if not isinstance(f, AutoField) and not f.generated
    ]
    query = InsertQuery(Analysis)
    query.insert_values(fields, [analysis])
    compiler = query.get_compiler(using=transaction.get_connection().alias)
    compiler.returning_fields = opts.db_returning_fields
    [(statement, values)] = compiler.as_sql()
    return AnalysisInsert(analysis, statement, list(values))


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
        try:
            out = _isolated(
                _stored_file(drawing),
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
    # The batch app owns the per-tenant in-flight limit; it listens.
    signals.analyses_waiting.send(sender="cad", tenant_id=tenant_id)


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


class DrawingUploaded(NamedTuple):
    drawing: Drawing
    # None when not asked to analyse (and no earlier analysis exists).
    analysis: Analysis | None
    # The analysis was queued (a large file), not run while the client waits.
    queued: bool
    # False when the tenant already had these bytes.
    created: bool


def drawing_upload(
    *,
    tenant: Tenant,
    uploaded_by: Any,
    name: str,
    content: bytes | Upload,
    analyze: bool = True,
) -> DrawingUploaded:
    """Check, store and (by default) analyse an upload.

    The file is checked once here (``file_check``) and its bytes and format
    passed along. A file the pipeline refuses leaves nothing behind: the new
    drawing is deleted and the 4xx raised. Re-uploading known bytes returns
    the stored drawing and its latest analysis without running it again.
    """
    try:
        file = file_check(name=name, content=content)
        drawing, created = drawing_create(
            tenant=tenant,
            uploaded_by=uploaded_by,
            name=file.name,
            content=file.content,
            fmt=file.format,
        )
    except DomainError as exc:
        # Refused before the pipeline (size, format): still an analysis the
        # caller asked for and did not get.
        metrics.observe_analysis(format="unknown", outcome=_refusal_outcome(exc))
        raise
    if not created:
        latest = drawing.latest_analysis()
        if latest is not None or not analyze:
            return DrawingUploaded(drawing, latest, False, created)
    if not analyze:
        return DrawingUploaded(drawing, None, False, created)
    if len(file.content) > sync_analyze_bytes():
        return DrawingUploaded(
            drawing, analysis_enqueue(drawing=drawing), True, created
        )
    try:
        analysis = analysis_run(drawing=drawing, interactive=True, file=file)
    except DomainError:
        if created:
            drawing_delete(drawing=drawing)
        raise
    return DrawingUploaded(drawing, analysis, False, created)


def _predict(analysis: Analysis) -> None:
    """The model registry's hook: ``settings.CADML_PREDICTOR`` names a callable.

    It takes the analysis and returns a dict with ``prediction`` (JSON),
    ``confidence``, ``model_name``, ``model_version``, ``variant`` and optionally
    ``reason``, or None when it has no answer.
    """
    path = settings.CADML_PREDICTOR
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


def search_index_changed(*, tenant_id: int, feature_version: str) -> None:
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
    use now (its model's classes beside its learned metric, else the
    unsupervised one with every view)."""
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
