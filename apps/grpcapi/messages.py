"""Model rows and service results -> protobuf messages."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from google.protobuf.struct_pb2 import Struct

from apps.grpcapi.gen.cadml.v1 import analysis_pb2, common_pb2


def struct(value: dict[str, Any] | None) -> Struct:
    message = Struct()
    if value:
        # Struct holds JSON only; round-trip through JSON types (no tuples, ...).
        json_format.ParseDict(_jsonable(value), message)
    return message


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


def prediction_message(analysis: Any) -> common_pb2.Prediction:
    prediction = analysis.prediction
    if not prediction:
        return common_pb2.Prediction(
            available=False, reason=analysis.prediction_reason or "no active model"
        )
    top = [
        common_pb2.LabelScore(
            label=str(item.get("label", "")),
            score=float(item.get("score", item.get("confidence", 0))),
        )
        for item in prediction.get("top", prediction.get("top3", [])) or []
        if isinstance(item, dict)
    ]
    version = analysis.model_version
    return common_pb2.Prediction(
        available=True,
        label=str(prediction.get("label", "")),
        confidence=float(analysis.confidence or prediction.get("confidence") or 0),
        top=top,
        model_name=analysis.model_name,
        model_version=int(version) if str(version).isdigit() else 0,
        variant=analysis.variant,
        needs_review=bool(prediction.get("needs_review", False)),
        latency_ms=float(prediction.get("latency_ms", 0) or 0),
        reason=analysis.prediction_reason,
        unknown=bool(prediction.get("unknown") or False),
    )


def analysis_message(analysis: Any) -> analysis_pb2.Analysis:
    drawing = analysis.drawing
    title_block = {
        name: analysis_pb2.TitleField(
            value=str(field.get("value", "")),
            confidence=float(field.get("confidence", 0) or 0),
            evidence=struct(
                field.get("evidence")
                if isinstance(field.get("evidence"), dict)
                else {"items": field.get("evidence")}
            ),
        )
        for name, field in (analysis.title_block or {}).items()
        if isinstance(field, dict)
    }
    text = [
        analysis_pb2.TextItem(
            text=str(item.get("text", "")),
            kind=str(item.get("kind", item.get("type", ""))),
            handle=str(item.get("handle", "") or ""),
            layer=str(item.get("layer", "") or ""),
        )
        for item in analysis.text or []
        if isinstance(item, dict)
    ]
    return analysis_pb2.Analysis(
        id=analysis.pk,
        drawing_id=drawing.pk,
        filename=drawing.name,
        sha256=drawing.sha256,
        format=drawing.format,
        status=analysis.status,
        recovered=analysis.recovered,
        fixes=analysis.fixes,
        feature_version=analysis.feature_version,
        features=[float(x) for x in analysis.features or []],
        text=text,
        title_block=title_block,
        dimensions=struct(analysis.dimensions),
        stats=struct(analysis.stats),
        prediction=prediction_message(analysis),
        error=analysis.error,
    )
