"""STEP over gRPC: AnalyzeRequest is unchanged, the format is sniffed."""

from __future__ import annotations

import grpc
import pytest

from apps.cad.synth import solids as S
from apps.grpcapi.gen.cadml.v1 import analysis_pb2, analysis_pb2_grpc
from tests.grpcapi.conftest import auth

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def test_analyze_reads_a_step_solid(channel, grpc_key_a):
    stub = analysis_pb2_grpc.AnalysisServiceStub(channel)
    result = await stub.Analyze(
        analysis_pb2.AnalyzeRequest(
            filename="block.bin", content=S.step_bytes(S.box_with_hole())
        ),
        metadata=auth(grpc_key_a),
    )
    assert result.status == "done"
    assert result.feature_version == "brep-2"
    solid = result.stats["solid"]
    assert dict(solid["faces_by_type"]) == {"plane": 6.0, "cylinder": 1.0}
    assert solid["genus"] == 1


async def test_a_broken_step_is_invalid_argument_saying_why(channel, grpc_key_a):
    stub = analysis_pb2_grpc.AnalysisServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Analyze(
            analysis_pb2.AnalyzeRequest(
                filename="b.step", content=b"ISO-10303-21;\nHEADER;\n\x00junk"
            ),
            metadata=auth(grpc_key_a),
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "STEP" in err.value.details()
