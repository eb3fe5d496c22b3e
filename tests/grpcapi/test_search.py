"""SearchService against a real grpc.aio server on 127.0.0.1:0."""

from __future__ import annotations

import grpc
import pytest
from asgiref.sync import sync_to_async

from apps.cad.models import Drawing
from apps.grpcapi.gen.cadml.v1 import (
    analysis_pb2,
    analysis_pb2_grpc,
    search_pb2,
    search_pb2_grpc,
)
from tests.grpcapi.conftest import auth, part

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

LABELS = ("flange", "spur_gear", "stepped_shaft", "hole_plate")


async def _archive(channel, key: str, seeds: range) -> list[int]:  # type: ignore[no-untyped-def]
    stub = analysis_pb2_grpc.AnalysisServiceStub(channel)
    ids = []
    for s in seeds:
        a = await stub.Analyze(
            analysis_pb2.AnalyzeRequest(
                filename=f"{s}.dxf", content=part(LABELS[s % 4], seed=s)
            ),
            metadata=auth(key),
        )
        ids.append(a.drawing_id)
    return ids


async def test_search_and_similar_answer_the_callers_tenant_only(
    channel, grpc_key_a, grpc_key_b
):
    mine = await _archive(channel, grpc_key_a, range(1, 7))
    theirs = await _archive(channel, grpc_key_b, range(1, 7))  # same files
    stub = search_pb2_grpc.SearchServiceStub(channel)
    before = await sync_to_async(Drawing.objects.count)()
    found = await stub.Search(
        search_pb2.SearchRequest(
            filename="q.dxf", content=part(LABELS[3], seed=3), k=3
        ),
        metadata=auth(grpc_key_a),
    )
    assert found.space == "dxf-7-unsupervised+all-views+names"
    assert found.query_feature_version == "dxf-7"
    assert [r.drawing_id for r in found.results][0] == mine[2]
    assert found.results[0].duplicate
    assert {r.drawing_id for r in found.results} <= set(mine)
    assert await sync_to_async(Drawing.objects.count)() == before
    similar = await stub.Similar(
        search_pb2.SimilarRequest(drawing_id=mine[0], k=10), metadata=auth(grpc_key_a)
    )
    assert len(similar.results) == 5
    assert {r.drawing_id for r in similar.results} == set(mine[1:])
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Similar(
            search_pb2.SimilarRequest(drawing_id=theirs[0]), metadata=auth(grpc_key_a)
        )
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_filters_apply_and_bad_ones_are_invalid_argument(channel, grpc_key_a):
    mine = await _archive(channel, grpc_key_a, range(1, 7))
    stub = search_pb2_grpc.SearchServiceStub(channel)
    found = await stub.Search(
        search_pb2.SearchRequest(
            content=part(LABELS[3], seed=3),
            filters=search_pb2.SearchFilters(exclude_identical=True),
        ),
        metadata=auth(grpc_key_a),
    )
    assert mine[2] not in [r.drawing_id for r in found.results]
    later = await stub.Similar(
        search_pb2.SimilarRequest(
            drawing_id=mine[0],
            filters=search_pb2.SearchFilters(created_from="2999-01-01"),
        ),
        metadata=auth(grpc_key_a),
    )
    assert list(later.results) == []
    for bad in (
        search_pb2.SimilarRequest(drawing_id=mine[0], k=101),
        search_pb2.SimilarRequest(
            drawing_id=mine[0], filters=search_pb2.SearchFilters(created_to="soon")
        ),
        search_pb2.SimilarRequest(
            drawing_id=mine[0], filters=search_pb2.SearchFilters(format="dwg")
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.Similar(bad, metadata=auth(grpc_key_a))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert err.value.details()


async def test_an_analysis_carries_its_duplicates_in_its_tenant_only(
    channel, grpc_key_a, grpc_key_b
):
    import random

    from bench.duplicate_threshold import redrawn
    from tests.cad.test_duplicates import parts

    files = parts(8, seed=31)
    stub = analysis_pb2_grpc.AnalysisServiceStub(channel)

    async def analyze(key: str, content: bytes, name: str):  # type: ignore[no-untyped-def]
        return await stub.Analyze(
            analysis_pb2.AnalyzeRequest(filename=name, content=content),
            metadata=auth(key),
        )

    mine = [
        (await analyze(grpc_key_a, f, f"{i}.dxf")).drawing_id
        for i, f in enumerate(files)
    ]
    copy = redrawn(files[0], random.Random(1))
    a = await analyze(grpc_key_a, copy, "copy.dxf")
    assert [d.drawing_id for d in a.duplicates] == [mine[0]]
    assert not a.duplicates[0].exact and a.duplicates[0].score >= 0.9
    # Tenant B holds none of A's drawings: its copy duplicates nothing.
    b = await analyze(grpc_key_b, copy, "copy.dxf")
    assert list(b.duplicates) == []
