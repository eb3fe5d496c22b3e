"""BatchService: the batch app's services, the same ones /api/v1/jobs calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from django.conf import settings
from grpc import aio

from apps.batch import selectors as batch_selectors
from apps.batch import services as batch_services
from apps.batch import submission
from apps.batch.models import BatchJob
from apps.grpcapi.context import principal, run_sync
from apps.grpcapi.gen.cadml.v1 import batch_pb2, batch_pb2_grpc
from apps.grpcapi.messages import struct
from apps.grpcapi.servicers.analysis import require_scope
from cadml.lib.errors import InvalidInput, PayloadTooLarge

# How often WatchJob looks for new events and at the job row.
WATCH_POLL_S = 0.25
TERMINAL_EVENTS = {"batch.completed", "batch.failed", "batch.cancelled"}


def job_message(job: BatchJob) -> batch_pb2.Job:
    finished = job.done + job.failed + job.skipped
    return batch_pb2.Job(
        id=job.pk,
        status=job.status,
        kind=job.kind,
        priority=job.priority,
        total=job.total,
        done=job.done,
        failed=job.failed,
        skipped=job.skipped,
        percent=round(100.0 * finished / job.total, 2) if job.total else 0.0,
        channel=job.channel,
        created=job.created.isoformat(),
        finished=job.finished.isoformat() if job.finished else "",
        summary=struct(job.summary or {}),
    )


async def _read_submission(
    requests: AsyncIterator[batch_pb2.SubmitJobRequest],
) -> tuple[batch_pb2.JobHeader, list[submission.Upload]]:
    """Header first, then each file as chunks; refuse what REST would refuse."""
    file_limit = int(settings.CADML_MAX_UPLOAD_MB) * 1024 * 1024
    header: batch_pb2.JobHeader | None = None
    uploads: list[submission.Upload] = []
    name: str | None = None
    parts: list[bytes] = []
    size = 0
    async for request in requests:
        which = request.WhichOneof("part")
        if which == "header":
            if header is not None or uploads or name is not None:
                raise InvalidInput("send the header once, as the first message")
            header = request.header
            continue
        if which != "chunk":
            raise InvalidInput("each message carries a header or a chunk")
        if header is None:
            raise InvalidInput("the first message must be the job header")
        chunk = request.chunk
        if name is None:
            if not chunk.filename:
                raise InvalidInput("the first chunk of each file must name the file")
            name, parts, size = chunk.filename, [], 0
        size += len(chunk.data)
        if size > file_limit:
            raise PayloadTooLarge(f"{name} is larger than {file_limit} bytes")
        parts.append(chunk.data)
        if chunk.last:
            uploads.append(submission.Upload(name=name, content=b"".join(parts)))
            if len(uploads) > submission.max_items():
                raise InvalidInput(
                    f"a job takes at most {submission.max_items()} files"
                )
            name = None
    if header is None:
        raise InvalidInput("empty submission: send a header, then files or ids")
    if name is not None:
        raise InvalidInput(
            f"the stream ended in the middle of {name!r}: its last chunk must "
            "have last=true"
        )
    return header, uploads


def _submit(
    who: Any, header: batch_pb2.JobHeader, uploads: list[submission.Upload]
) -> batch_pb2.Job:
    job, _created = submission.job_submit(
        tenant=who.tenant,
        user=who.api_key.created_by,
        uploads=uploads,
        drawing_ids=list(header.drawing_ids),
        kind=header.kind or BatchJob.Kind.ANALYZE,
        priority=header.priority if header.HasField("priority") else 5,
        callback_url=header.callback_url,
        idempotency_key=header.idempotency_key or None,
    )
    return job_message(job)


def _get(tenant: Any, job_id: int) -> BatchJob:
    return batch_selectors.job_get(tenant=tenant, job_id=job_id)


def _cancel(who: Any, job_id: int) -> batch_pb2.Job:
    job = batch_selectors.job_get(tenant=who.tenant, job_id=job_id)
    return job_message(batch_services.job_cancel(job=job, user=who.api_key.created_by))


class BatchServicer(batch_pb2_grpc.BatchServiceServicer):
    async def SubmitJob(
        self, request_iterator: AsyncIterator[Any], context: aio.ServicerContext
    ) -> batch_pb2.Job:
        require_scope("write")
        header, uploads = await _read_submission(request_iterator)
        return await run_sync(_submit, principal(), header, uploads)

    async def GetJob(
        self, request: batch_pb2.GetJobRequest, context: aio.ServicerContext
    ) -> batch_pb2.Job:
        require_scope("read")
        return job_message(await run_sync(_get, principal().tenant, request.job_id))

    async def CancelJob(
        self, request: batch_pb2.CancelJobRequest, context: aio.ServicerContext
    ) -> batch_pb2.Job:
        require_scope("write")
        return await run_sync(_cancel, principal(), request.job_id)

    async def WatchJob(
        self, request: batch_pb2.WatchJobRequest, context: aio.ServicerContext
    ) -> AsyncIterator[batch_pb2.JobEvent]:
        """The job's realtime events after ``last_event_id``, then live ones,
        until a final event; read from the realtime history, so a client that
        reconnects with the last id it saw misses nothing and sees nothing twice."""
        from apps.realtime.history import get_history

        require_scope("read")
        tenant = principal().tenant
        job = await run_sync(_get, tenant, request.job_id)
        channel = job.channel
        history = get_history()
        after = request.last_event_id
        last_db_check = 0.0
        loop = asyncio.get_running_loop()
        while True:
            replay = await history.aread(channel, after)
            for event in replay.events:
                after = event["id"]
                yield batch_pb2.JobEvent(
                    id=event["id"],
                    type=event.get("type", ""),
                    data=struct(event.get("data") or {}),
                    ts=event.get("ts", ""),
                )
                if event.get("type") in TERMINAL_EVENTS:
                    return
            now = loop.time()
            if now - last_db_check >= 1.0:
                # The history lives in Redis; without it, or once it expired, the
                # row is the truth: end with its final state.
                last_db_check = now
                job = await run_sync(_get, tenant, request.job_id)
                if job.status in BatchJob.TERMINAL and not replay.events:
                    yield batch_pb2.JobEvent(
                        id=after,
                        type=f"batch.{_final_type(job.status)}",
                        data=struct(
                            {
                                "job_id": job.pk,
                                "status": job.status,
                                "summary": job.summary or {},
                            }
                        ),
                    )
                    return
            await asyncio.sleep(WATCH_POLL_S)


def _final_type(status: str) -> str:
    return {"cancelled": "cancelled", "failed": "failed"}.get(status, "completed")


def registration():
    from apps.grpcapi.server import Registration

    return Registration(
        batch_pb2.DESCRIPTOR.services_by_name["BatchService"].full_name,
        lambda s: batch_pb2_grpc.add_BatchServiceServicer_to_server(BatchServicer(), s),
    )
