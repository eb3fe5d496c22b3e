"""PostgreSQL statements for the two writes every batch item makes.

Each item is claimed once and finished once; everything else in the app is the
ORM. On PostgreSQL each of these is one statement (data-modifying CTEs) where the
ORM needs five to seven, and Django builds and compiles each of those on every
item: the per-item cost that caps a worker's throughput. The item's new
analysis is written by the finish too, with the INSERT the CAD app gives for it
(``apps.cad.services.analysis_insert``) as the statement's first CTE: the
finish is one statement in autocommit, one round trip and one commit, as
storing a single analysis is. Other databases (SQLite, embedded mode) take the
ORM path in ``execution.py``, which does the same thing in one transaction;
``tests/batch`` runs both.

Column lists come from the models' ``_meta``, so a field added to a model is
read here too; renaming a column means updating the literals below (the batch
tests fail loudly if they drift).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from django.db import connection, models

from apps.accounts.models import Tenant
from apps.batch.models import BatchItem, BatchJob
from apps.cad.models import Drawing
from apps.cad.services import AnalysisInsert
from cadml import telemetry

if TYPE_CHECKING:
    import psycopg


def enabled() -> bool:
    return connection.vendor == "postgresql"


def _execute(name: str, statement: str, params: Any) -> tuple[Any, ...] | None:
    """Run one of this module's statements and return its row.

    Bound on the server (Django binds parameters in the client): the analysis'
    JSON goes as a parameter instead of being quoted into the text. Where the
    connection allows prepared statements (worker connections do,
    ``cadml.celery.worker_database_settings``), each statement is also parsed
    and planned once per connection instead of once per item.
    """
    from django.db.backends.postgresql.base import ServerBindingCursor

    # django-stubs declare ServerBindingCursor without its psycopg base class
    # (it is a psycopg.Cursor), so its constructor and context manager are
    # unknown to mypy.
    cursor_class = cast("type[psycopg.Cursor[tuple[Any, ...]]]", ServerBindingCursor)
    connection.ensure_connection()
    # OpenTelemetry's psycopg instrumentation does not see this cursor (nor
    # does DEBUG's query log): the statement gets a span of its own.
    with (
        telemetry.span(name, **{"db.system": "postgresql"}),
        connection.wrap_database_errors,
        cursor_class(connection.connection) as cursor,
    ):
        cursor.execute(statement, params, prepare=True)
        return cursor.fetchone()


def _fields(model: type[models.Model], *, skip_json: bool = False) -> list[Any]:
    # JSON columns need the ORM's converters; leaving them out defers them (read
    # on first access), and the per-item path never touches them.
    return [
        f
        for f in model._meta.concrete_fields
        if not (skip_json and isinstance(f, models.JSONField))
    ]


def _literal(value: str) -> str:
    """A status value written into a statement's text rather than bound: a
    plan prepared once must know it to use the partial indexes whose
    conditions name it (``batchitem_dispatch_order``, ``batchitem_in_flight``);
    with a parameter there PostgreSQL plans every execution afresh instead."""
    assert value.isidentifier(), value
    return f"'{value}'"


_PENDING = _literal(BatchItem.Status.PENDING)
_RUNNING = _literal(BatchItem.Status.RUNNING)
_JOB_QUEUED = _literal(BatchJob.Status.QUEUED)
_JOB_RUNNING = _literal(BatchJob.Status.RUNNING)


def _columns(alias: str, fields: list[Any]) -> str:
    return ", ".join(f'{alias}."{f.column}"' for f in fields)


_ITEM = _fields(BatchItem)
_JOB = _fields(BatchJob, skip_json=True)
_TENANT = _fields(Tenant, skip_json=True)


def _drawing_fields() -> list[Any]:

    return _fields(Drawing, skip_json=True)


_claim_sql: str | None = None


def _claim_statement() -> str:
    global _claim_sql
    if _claim_sql is None:
        # Only table and column names and status values from the models are
        # interpolated.
        _claim_sql = f"""
            WITH claimed AS (
                UPDATE {BatchItem._meta.db_table}
                SET status = {_RUNNING}, attempts = attempts + 1, started = %s,
                    worker = %s, slice = %s
                WHERE id = %s AND status IN ({_PENDING}, {_RUNNING})
                -- The claim's commit does not wait for its WAL to reach the
                -- disk (synchronous_commit off for this statement's
                -- transaction only). A claim lost with the server leaves the
                -- item pending and handed out, as before the claim: the
                -- reaper hands it out again, and the slice's finish of it
                -- counts nothing (it ends running items only). A finish is
                -- durable, and makes every claim before it durable too.
                RETURNING *, set_config('synchronous_commit', 'off', true)
            )
            SELECT {_claimed_columns("i", "j", "t", "d")}
            FROM claimed AS i
            JOIN {BatchJob._meta.db_table} AS j ON j.id = i.job_id
            JOIN {Tenant._meta.db_table} AS t ON t.id = j.tenant_id
            LEFT JOIN {Drawing._meta.db_table} AS d ON d.id = i.drawing_id
        """  # noqa: S608
    return _claim_sql


def _build(model: type[models.Model], fields: list[Any], values: tuple) -> Any:
    return model.from_db(connection.alias, [f.attname for f in fields], values)


def item_claim(
    *, item_id: int, started: datetime, worker: str, slice_id: str = ""
) -> BatchItem | None:
    """Mark a pending (or orphaned running) item running and read it, its job,
    tenant and drawing, in one statement; None when the item already ended.
    Its commit does not wait for the disk (the statement's comment)."""

    row = _execute(
        "batch.sql.claim", _claim_statement(), [started, worker, slice_id, item_id]
    )
    if row is None:
        return None
    return _claimed(row)


def _claimed(row: tuple[Any, ...], *, job: BatchJob | None = None) -> BatchItem:
    """The item, its job, tenant and drawing from a claim's columns
    (``_claimed_columns``). With ``job`` (a finish's next item; the finished
    item's job, with its tenant): the row has no tenant columns, the next item
    being of the same tenant, and its job columns are NULL when the next item
    is of that same job (the common case), which is then taken as it is."""
    drawing_fields = _drawing_fields()
    a = len(_ITEM)
    b = a + len(_JOB)
    item = _build(BatchItem, _ITEM, row[:a])
    if job is None:
        c = b + len(_TENANT)
        item.job = _build(BatchJob, _JOB, row[a:b])
        item.job.tenant = _build(Tenant, _TENANT, row[b:c])
    else:
        c = b
        if row[a] is None:
            item.job = job
        else:
            item.job = _build(BatchJob, _JOB, row[a:b])
            item.job.tenant = job.tenant
    item.drawing = (
        _build(Drawing, drawing_fields, row[c:]) if row[c] is not None else None
    )
    return item


def _claimed_columns(item: str, job: str, tenant: str | None, drawing: str) -> str:
    tenant_columns = f"{_columns(tenant, _TENANT)}, " if tenant else ""
    return (
        f"{_columns(item, _ITEM)}, {_columns(job, _JOB)}, {tenant_columns}"
        f"{_columns(drawing, _drawing_fields())}"
    )


@dataclass
class Finished:
    """The job's counters right after the item ended, the item handed out next,
    whether an item of a higher priority than that one waits for a worker, and
    the next item itself when the finish also claimed it."""

    total: int
    done: int
    failed: int
    skipped: int
    status: str
    last_progress_at: datetime | None
    next_item: int | None
    next_priority: int | None
    higher_waiting: bool
    next_claimed: BatchItem | None = None


_finish_sql: dict[str, str] = {}


def _analysis_cte(insert: str) -> str:
    """The CAD app's INSERT of the item's analysis as the finish's first CTE,
    its positional parameters named (``a0``, ``a1``...) like the finish's."""
    assert "%%" not in insert and "%(" not in insert, insert
    parts = insert.split("%s")
    named = parts[0] + "".join(f"%(a{n})s{part}" for n, part in enumerate(parts[1:]))
    return f"analysis AS ({named}),"


def _finish_statement(insert: str = "") -> str:
    """The finish; with ``insert`` (the analysis' INSERT), that runs first in
    the same statement and the item links the analysis it returns."""
    statement = _finish_sql.get(insert)
    if statement is None:
        analysis = "(SELECT id FROM analysis)" if insert else "NULL::bigint"
        # Only table and column names, status values from the models and the
        # CAD app's INSERT (column names and placeholders) are interpolated.
        statement = _finish_sql[insert] = f"""
            WITH {_analysis_cte(insert) if insert else ""} item AS (
                UPDATE {BatchItem._meta.db_table}
                SET status = %(status)s, analysis_id = {analysis},
                    error_code = %(code)s, error_message = %(message)s,
                    finished = %(now)s, duration_ms = %(duration)s
                WHERE id = %(item)s AND status = {_RUNNING}
                RETURNING job_id, tenant_id
            ), job AS (
                UPDATE {BatchJob._meta.db_table} AS j
                SET done = j.done + %(done)s, failed = j.failed + %(failed)s,
                    last_progress_at = CASE
                        WHEN j.last_progress_at IS NULL
                          OR j.last_progress_at <= %(gate)s
                        THEN %(now)s ELSE j.last_progress_at END
                FROM item WHERE j.id = item.job_id
                RETURNING j.total, j.done, j.failed, j.skipped, j.status,
                          j.last_progress_at
            ), next AS (
                -- The slot this item frees goes to the tenant's next pending
                -- item (same order as dispatch.dispatch); concurrent finishers
                -- skip each other's. The first entry of the partial index
                -- batchitem_dispatch_order: the cost does not grow with the
                -- number of items waiting. Only a job that is queued or
                -- running hands out items: a cancelled one's are not claimed.
                SELECT n.id, n.priority,
                       -- A slice yields its next item to a higher-priority
                       -- item handed to the broker and waiting for a worker
                       -- (partial index batchitem_in_flight). One the broker
                       -- lost (dispatched before the stale mark) does not
                       -- count.
                       EXISTS (
                           SELECT 1 FROM {BatchItem._meta.db_table} AS w
                           WHERE w.status = {_PENDING}
                             AND w.dispatched_at > %(stale)s
                             AND w.priority > n.priority
                       ) AS higher
                FROM {BatchItem._meta.db_table} AS n
                JOIN {BatchJob._meta.db_table} AS nj ON nj.id = n.job_id
                WHERE n.tenant_id = (SELECT tenant_id FROM item)
                  AND n.status = {_PENDING} AND n.dispatched_at IS NULL
                  AND nj.status IN ({_JOB_QUEUED}, {_JOB_RUNNING})
                ORDER BY n.priority DESC, n.job_id, n.index
                LIMIT 1
                FOR UPDATE OF n SKIP LOCKED
            ), marked AS (
                -- Handed to this slice; with %(claim)s and nothing of a
                -- higher priority waiting, also claimed by it (what
                -- item_claim does), so the slice's next item costs no
                -- statement and no commit of its own.
                UPDATE {BatchItem._meta.db_table} AS m
                SET dispatched_at = %(now)s, slice = %(slice)s,
                    status = CASE WHEN %(claim)s AND NOT next.higher
                                  THEN {_RUNNING} ELSE m.status END,
                    attempts = CASE WHEN %(claim)s AND NOT next.higher
                                    THEN m.attempts + 1 ELSE m.attempts END,
                    started = CASE WHEN %(claim)s AND NOT next.higher
                                   THEN %(now)s ELSE m.started END,
                    worker = CASE WHEN %(claim)s AND NOT next.higher
                                  THEN %(worker)s ELSE m.worker END
                FROM next WHERE m.id = next.id
                RETURNING m.*, next.priority AS next_priority,
                          next.higher AS next_higher
            )
            SELECT {analysis}, job.total, job.done, job.failed, job.skipped,
                   job.status, job.last_progress_at,
                   marked.id, marked.next_priority,
                   COALESCE(marked.next_higher, false),
                   marked.status = {_RUNNING},
                   -- A finish that claims the slice's next item commits
                   -- without waiting for its WAL to reach the disk (this
                   -- transaction only): the slice's last finish, which claims
                   -- nothing, is durable and makes every earlier one durable.
                   -- Lost with the server, such a finish leaves its item
                   -- running in the slice, for the reaper to run again, as a
                   -- worker lost mid-slice does.
                   CASE WHEN marked.status = {_RUNNING}
                        THEN set_config('synchronous_commit', 'off', true)
                   END,
                   -- The claimed item's row, its drawing's and, when it is
                   -- of another job, that job's (as of the statement's
                   -- start): what item_claim reads but the tenant (the
                   -- finished item's) and a job the caller holds.
                   {_claimed_columns("marked", "nj", None, "nd")}
            FROM (SELECT 1) AS one
            LEFT JOIN job ON true
            LEFT JOIN marked ON true
            LEFT JOIN {BatchJob._meta.db_table} AS nj
                   ON nj.id = marked.job_id AND marked.status = {_RUNNING}
                  AND nj.id <> (SELECT job_id FROM item)
            LEFT JOIN {Drawing._meta.db_table} AS nd
                   ON nd.id = marked.drawing_id AND marked.status = {_RUNNING}
        """  # noqa: S608
    return statement


_FINISHED_HEAD = 12  # columns before the claimed item's


def item_finish(
    *,
    item_id: int,
    job: BatchJob,
    status: str,
    analysis: AnalysisInsert | None,
    code: str,
    message: str,
    now: datetime,
    duration_ms: float | None,
    progress_gate: datetime,
    stale_before: datetime,
    slice_id: str = "",
    claim_next: bool = False,
    worker: str = "",
) -> Finished | None:
    """Store the item's analysis, end the running item, count it on its job
    and hand its slot on, in one statement; None when the item was not running
    (someone else ended it).

    ``job``: the item's job, with its tenant (the next item's too when it is
    of the same job). ``analysis``: the item's new analysis as the CAD app
    inserts it; it is stored (and ``analysis.stored``) even when someone else
    ended the item meanwhile: it is the drawing's, whichever item asked for
    it. ``stale_before``: items handed to the broker before this are taken as
    lost when asking whether a higher priority waits. ``claim_next``: the item
    handed the slot is also claimed for ``worker`` and ``slice_id`` (as by
    ``item_claim``) unless an item of a higher priority waits; it is then
    ``Finished.next_claimed``.
    """
    succeeded = status == BatchItem.Status.SUCCEEDED
    params: dict[str, Any] = {
        "status": status,
        "code": code,
        "message": message,
        "now": now,
        "duration": duration_ms,
        "item": item_id,
        "done": 1 if succeeded else 0,
        "failed": 0 if succeeded else 1,
        "gate": progress_gate,
        "slice": slice_id,
        "stale": stale_before,
        "claim": claim_next,
        "worker": worker,
    }
    if analysis is not None:
        params.update((f"a{n}", value) for n, value in enumerate(analysis.params))
    statement = _finish_statement(analysis.sql if analysis is not None else "")
    row = _execute("batch.sql.finish", statement, params)
    assert row is not None  # the statement's SELECT always has its one row
    if analysis is not None:
        analysis.stored(row[0])
    if row[1] is None:
        return None
    total, done, failed, skipped, job_status, progress_at = row[1:7]
    next_item, next_priority, higher, claimed, _commit_mode = row[7:_FINISHED_HEAD]
    return Finished(
        total=total,
        done=done,
        failed=failed,
        skipped=skipped,
        status=job_status,
        last_progress_at=progress_at,
        next_item=next_item,
        next_priority=next_priority,
        higher_waiting=higher,
        next_claimed=_claimed(row[_FINISHED_HEAD:], job=job) if claimed else None,
    )
