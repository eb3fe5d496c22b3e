"""SearchService: similar drawings by content or by id, the selectors REST uses."""

from __future__ import annotations

from typing import Any

from grpc import aio

from apps.cad import labels
from apps.cad import selectors as cad_selectors
from apps.cad import services as cad_services
from apps.cad.models import Drawing
from apps.grpcapi.context import principal, run_sync
from apps.grpcapi.gen.cadml.v1 import search_pb2, search_pb2_grpc
from apps.grpcapi.servicers.analysis import require_scope
from cadml.lib import params
from cadml.lib.errors import InvalidInput


def _k(raw: int) -> int:
    k = raw or 10
    if not 1 <= k <= 100:
        raise InvalidInput("k: must be a whole number from 1 to 100", field="k")
    return k


def _filters(f: search_pb2.SearchFilters) -> cad_selectors.SimilarFilters:
    if f.format and f.format not in Drawing.Format.values:
        raise InvalidInput(
            "filters.format: one of " + ", ".join(Drawing.Format.values),
            field="filters.format",
        )
    return cad_selectors.SimilarFilters(
        label=labels.label_normalise(f.label) if f.label else "",
        format=f.format,
        created_from=params.when(f.created_from, field="filters.created_from"),
        created_to=params.when(
            f.created_to, field="filters.created_to", end_of_day=True
        ),
        exclude_identical=f.exclude_identical,
    )


def _response(found: cad_selectors.Similar, **extra: Any) -> search_pb2.SearchResponse:
    return search_pb2.SearchResponse(
        space=found.space,
        results=[
            search_pb2.Neighbour(
                drawing_id=n.drawing.pk,
                name=n.drawing.name,
                sha256=n.drawing.sha256,
                format=n.drawing.format,
                label=n.drawing.label,
                score=n.score,
                duplicate=n.duplicate,
            )
            for n in found.neighbours
        ],
        **extra,
    )


def _search(
    tenant: Any, request: search_pb2.SearchRequest
) -> search_pb2.SearchResponse:
    if not request.content:
        raise InvalidInput("content is empty: send the file's bytes in 'content'")
    k, filters = _k(request.k), _filters(request.filters)
    analysis, found = cad_services.content_search(
        tenant=tenant,
        name=request.filename or "drawing",
        content=request.content,
        k=k,
        filters=filters,
    )
    return _response(
        found,
        query_feature_version=analysis.feature_version,
        query_features=analysis.features or [],
    )


def _similar(
    tenant: Any, request: search_pb2.SimilarRequest
) -> search_pb2.SearchResponse:
    k, filters = _k(request.k), _filters(request.filters)
    drawing = cad_selectors.drawing_get(tenant=tenant, drawing_id=request.drawing_id)
    return _response(
        cad_selectors.drawing_similar(
            tenant=tenant, drawing=drawing, k=k, filters=filters
        )
    )


class SearchServicer(search_pb2_grpc.SearchServiceServicer):
    async def Search(
        self, request: search_pb2.SearchRequest, context: aio.ServicerContext
    ) -> search_pb2.SearchResponse:
        require_scope("read")
        return await run_sync(_search, principal().tenant, request)

    async def Similar(
        self, request: search_pb2.SimilarRequest, context: aio.ServicerContext
    ) -> search_pb2.SearchResponse:
        require_scope("read")
        return await run_sync(_similar, principal().tenant, request)


def registration():
    from apps.grpcapi.server import Registration

    return Registration(
        search_pb2.DESCRIPTOR.services_by_name["SearchService"].full_name,
        lambda s: search_pb2_grpc.add_SearchServiceServicer_to_server(
            SearchServicer(), s
        ),
    )
