"""AnalysisService: the CAD core's services, the same ones REST calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from grpc import aio

from apps.cad import selectors as cad_selectors
from apps.cad import services as cad_services
from apps.grpcapi.context import principal, run_sync
from apps.grpcapi.gen.cadml.v1 import analysis_pb2, analysis_pb2_grpc, common_pb2
from apps.grpcapi.messages import analysis_message
from cadml.lib.errors import DomainError, Forbidden, InvalidInput


def require_scope(scope: str) -> None:
    if not principal().has_scope(scope):
        raise Forbidden(f"this call needs the {scope!r} scope")


def _analyze(
    tenant: Any, user: Any, request: analysis_pb2.AnalyzeRequest
) -> analysis_pb2.Analysis:
    if not request.content:
        raise InvalidInput("content is empty: send the file's bytes in 'content'")
    # Asked to analyse, the upload always comes back with an analysis (run,
    # queued, or the one the tenant's same bytes already had).
    out = cad_services.drawing_upload(
        tenant=tenant,
        uploaded_by=user,
        name=request.filename or "drawing",
        content=request.content,
    )
    return analysis_message(out.analysis)


def _get(tenant: Any, drawing_id: int) -> analysis_pb2.Analysis:
    drawing = cad_selectors.drawing_get(tenant=tenant, drawing_id=drawing_id)
    return analysis_message(
        cad_selectors.analysis_latest(tenant=tenant, drawing=drawing)
    )


class AnalysisServicer(analysis_pb2_grpc.AnalysisServiceServicer):
    async def Analyze(
        self, request: analysis_pb2.AnalyzeRequest, context: aio.ServicerContext
    ) -> analysis_pb2.Analysis:
        require_scope("write")
        who = principal()
        return await run_sync(_analyze, who.tenant, who.api_key.created_by, request)

    async def AnalyzeStream(
        self,
        request_iterator: AsyncIterator[analysis_pb2.AnalyzeRequest],
        context: aio.ServicerContext,
    ) -> AsyncIterator[analysis_pb2.AnalyzeStreamResult]:
        require_scope("write")
        who = principal()
        index = 0
        # One file at a time, in order: the next request is read only after the
        # previous result was handed to gRPC's flow control, so a client that
        # stops reading stops us reading too (no unbounded buffering).
        async for request in request_iterator:
            try:
                message = await run_sync(
                    _analyze, who.tenant, who.api_key.created_by, request
                )
                yield analysis_pb2.AnalyzeStreamResult(index=index, analysis=message)
            except DomainError as exc:
                yield analysis_pb2.AnalyzeStreamResult(
                    index=index,
                    error=common_pb2.Error(
                        code=exc.code, message=exc.message, http_status=exc.status_code
                    ),
                )
            index += 1

    async def GetAnalysis(
        self, request: analysis_pb2.GetAnalysisRequest, context: aio.ServicerContext
    ) -> analysis_pb2.Analysis:
        require_scope("read")
        return await run_sync(_get, principal().tenant, request.drawing_id)
