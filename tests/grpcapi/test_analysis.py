"""AnalysisService against a real grpc.aio server on 127.0.0.1:0."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from apps.grpcapi.gen.cadml.v1 import analysis_pb2, analysis_pb2_grpc
from tests.grpcapi.conftest import auth, part

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def test_a_client_knowing_only_health_and_reflection_finds_every_service(
    channel, grpc_server
):
    health = health_pb2_grpc.HealthStub(channel)
    overall = await health.Check(health_pb2.HealthCheckRequest(service=""))
    assert overall.status == health_pb2.HealthCheckResponse.SERVING
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)

    async def requests():
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    names = set()
    async for response in stub.ServerReflectionInfo(requests()):
        names |= {s.name for s in response.list_services_response.service}
    assert "cadml.v1.AnalysisService" in names
    assert "grpc.health.v1.Health" in names
    assert set(grpc_server.services) <= names
    for name in grpc_server.services:
        status = await health.Check(health_pb2.HealthCheckRequest(service=name))
        assert status.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize(
    "metadata",
    [(), (("authorization", "Bearer abc"),), (("authorization", "Api-Key nope"),)],
)
async def test_calls_without_a_valid_key_are_unauthenticated(channel, metadata):
    stub = analysis_pb2_grpc.AnalysisServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Analyze(
            analysis_pb2.AnalyzeRequest(filename="a.dxf", content=b"0"),
            metadata=metadata,
        )
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert err.value.details()


async def test_analyze_returns_features_text_and_prediction(channel, grpc_key_a):
    stub = analysis_pb2_grpc.AnalysisServiceStub(channel)
    result = await stub.Analyze(
        analysis_pb2.AnalyzeRequest(filename="flange.dxf", content=part("flange")),
        metadata=auth(grpc_key_a),
    )
    assert result.status == "done"
    assert result.feature_version == "dxf-7"
    assert len(result.features) > 20
    assert result.text, "the synthetic part has a title block and dimensions"
    assert result.title_block
    assert result.prediction.available or result.prediction.reason


async def test_bad_files_are_invalid_argument_with_the_rest_message(
    channel, grpc_key_a
):
    stub = analysis_pb2_grpc.AnalysisServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Analyze(
            analysis_pb2.AnalyzeRequest(
                filename="x.dwg", content=b"AC1032" + b"\0" * 64
            ),
            metadata=auth(grpc_key_a),
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "DWG" in err.value.details()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Analyze(
            analysis_pb2.AnalyzeRequest(filename="e.dxf"), metadata=auth(grpc_key_a)
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_oversized_messages_are_resource_exhausted(channel, grpc_key_a):
    stub = analysis_pb2_grpc.AnalysisServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Analyze(
            analysis_pb2.AnalyzeRequest(filename="big.dxf", content=b"0" * (2 << 20)),
            metadata=auth(grpc_key_a),
        )
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_get_analysis_refuses_another_tenants_drawing(
    channel, grpc_key_a, grpc_key_b
):
    stub = analysis_pb2_grpc.AnalysisServiceStub(channel)
    mine = await stub.Analyze(
        analysis_pb2.AnalyzeRequest(filename="w.dxf", content=part("washer")),
        metadata=auth(grpc_key_a),
    )
    again = await stub.GetAnalysis(
        analysis_pb2.GetAnalysisRequest(drawing_id=mine.drawing_id),
        metadata=auth(grpc_key_a),
    )
    assert list(again.features) == list(mine.features)
    for drawing_id in (mine.drawing_id, 10**9):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.GetAnalysis(
                analysis_pb2.GetAnalysisRequest(drawing_id=drawing_id),
                metadata=auth(grpc_key_b),
            )
        assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_analyze_stream_answers_in_order_and_reports_bad_items(
    channel, grpc_key_a
):
    stub = analysis_pb2_grpc.AnalysisServiceStub(channel)
    files = [
        ("a.dxf", part("spur_gear", 3)),
        ("bad.bin", b"\x00garbage" * 10),
        ("b.dxf", part("hole_plate", 4)),
    ]

    async def requests():
        for name, content in files:
            yield analysis_pb2.AnalyzeRequest(filename=name, content=content)

    results = [
        r async for r in stub.AnalyzeStream(requests(), metadata=auth(grpc_key_a))
    ]
    assert [r.index for r in results] == [0, 1, 2]
    assert results[0].WhichOneof("result") == "analysis"
    assert results[0].analysis.filename == "a.dxf"
    assert results[1].WhichOneof("result") == "error"
    assert results[1].error.http_status == 415
    assert results[2].analysis.filename == "b.dxf"


async def test_read_only_keys_cannot_analyze(channel, tenant_a, owner_a):
    from asgiref.sync import sync_to_async

    from apps.accounts.services import api_key_create

    issued = await sync_to_async(api_key_create)(
        tenant=tenant_a, name="ro", scopes=["read"], created_by=owner_a
    )
    stub = analysis_pb2_grpc.AnalysisServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Analyze(
            analysis_pb2.AnalyzeRequest(filename="a.dxf", content=part()),
            metadata=auth(issued.plaintext),
        )
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_rate_limits_apply_with_retry_after(channel, grpc_key_b, settings):
    settings.CADML_RATELIMIT_POLICIES = {"free": {"key": ["2/minute"]}}
    settings.CADML_RATELIMIT_NAMESPACE = f"grpc-test-{id(channel)}"
    stub = analysis_pb2_grpc.AnalysisServiceStub(channel)
    codes = []
    for _ in range(3):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.GetAnalysis(
                analysis_pb2.GetAnalysisRequest(drawing_id=10**9),
                metadata=auth(grpc_key_b),
            )
        codes.append(err.value.code())
    assert codes == [
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    ]
    trailing = dict(err.value.trailing_metadata() or ())
    assert int(trailing["retry-after"]) >= 1
    assert "key-minute" in err.value.details()


async def test_rest_and_grpc_give_the_same_features_and_prediction(
    channel, grpc_key_a, api_client_b
):
    from asgiref.sync import sync_to_async
    from django.core.files.uploadedfile import SimpleUploadedFile

    content = part("pulley", 21)
    rest = await sync_to_async(api_client_b.post)(
        "/api/v1/drawings",
        {"file": SimpleUploadedFile("pulley.dxf", content)},
        format="multipart",
    )
    assert rest.status_code == 201, rest.content
    body = rest.json()
    analysis = body.get("analysis") or body
    stub = analysis_pb2_grpc.AnalysisServiceStub(channel)
    result = await stub.Analyze(
        analysis_pb2.AnalyzeRequest(filename="pulley.dxf", content=content),
        metadata=auth(grpc_key_a),
    )
    assert result.feature_version == analysis["feature_version"]
    assert list(result.features) == pytest.approx(analysis["features"])
    rest_prediction = analysis.get("prediction")
    if rest_prediction:
        assert result.prediction.label == rest_prediction["label"]
    else:
        assert not result.prediction.available


async def test_a_grpc_analysis_finishes_after_it_was_created(channel, grpc_key_a):
    from asgiref.sync import sync_to_async

    from apps.cad.models import Analysis

    stub = analysis_pb2_grpc.AnalysisServiceStub(channel)
    result = await stub.Analyze(
        analysis_pb2.AnalyzeRequest(filename="o.dxf", content=part("flange", seed=5)),
        metadata=auth(grpc_key_a),
    )
    analysis = await sync_to_async(Analysis.objects.get)(drawing_id=result.drawing_id)
    assert analysis.finished is not None
    assert analysis.created <= analysis.finished
