"""The Analysis message carries the drawing's GD&T, threads, surface finish and
general tolerance (new field numbers beside the existing ones)."""

from __future__ import annotations

import pytest

from apps.grpcapi.gen.cadml.v1 import analysis_pb2, analysis_pb2_grpc
from tests.cad.conftest import dxf_bytes
from tests.cad.test_annotations import annotated_drawing
from tests.grpcapi.conftest import auth

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def test_analyze_returns_annotations_and_tolerances(channel, grpc_key_a):
    stub = analysis_pb2_grpc.AnalysisServiceStub(channel)
    result = await stub.Analyze(
        analysis_pb2.AnalyzeRequest(
            filename="annotated.dxf", content=dxf_bytes(annotated_drawing)
        ),
        metadata=auth(grpc_key_a),
    )
    frame = result.gdt[0]
    assert (frame.characteristic, frame.value, frame.diameter) == (
        "position",
        0.05,
        True,
    )
    assert [d.label for d in frame.datums] == ["A", "B", "C"]
    thread = result.threads[0]
    assert (thread.designation, thread.pitch, thread.count) == ("4x M6-6H", 1.0, 4)
    assert result.surface_finish[0].value == 6.3
    assert result.surface_finish[0].default
    assert result.general_tolerance.tolerance_class == "m"
    assert result.general_tolerance.geometrical_class == "K"
    entities = result.dimensions.fields["entities"].list_value.values
    fits = [
        e.struct_value.fields["fit"] for e in entities if "fit" in e.struct_value.fields
    ]
    hole = fits[0].struct_value.fields["hole_deviations"].list_value.values
    assert [v.number_value for v in hole] == [0.021, 0.0]
