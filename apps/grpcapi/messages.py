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
            score=float(item.get("score", item.get("confidence")) or 0),
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
        unknown_reason=str(prediction.get("unknown_reason") or ""),
        named_family=str((prediction.get("named") or {}).get("family") or ""),
        parts=[
            common_pb2.PartPrediction(
                index=int(part.get("index") or 0),
                name=str(part.get("name") or ""),
                label=str(part.get("label") or ""),
                confidence=float(part.get("confidence") or 0),
                unknown=bool(part.get("unknown") or False),
                unknown_reason=str(part.get("unknown_reason") or ""),
                needs_review=bool(part.get("needs_review") or False),
                named_family=str((part.get("named") or {}).get("family") or ""),
            )
            for part in prediction.get("parts") or []
            if isinstance(part, dict)
        ],
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
        **annotation_fields(analysis.dimensions or {}),
        duplicates=[
            analysis_pb2.Duplicate(
                drawing_id=int(d["drawing_id"]),
                score=float(d["score"]),
                exact=bool(d.get("exact")),
            )
            for d in analysis.duplicates or []
        ],
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def annotation_fields(dims: dict[str, Any]) -> dict[str, Any]:
    """The GD&T, thread, surface-finish and general-tolerance sections, which
    the pipeline stores beside the dimensions."""
    frames = [
        analysis_pb2.GdtFrame(
            kind=_text(f.get("kind")),
            characteristic=_text(f.get("characteristic")),
            value=f.get("value"),
            diameter=bool(f.get("diameter")),
            modifiers=[str(m) for m in f.get("modifiers") or []],
            datums=[
                analysis_pb2.DatumRef(
                    label=_text(d.get("label")),
                    modifiers=[str(m) for m in d.get("modifiers") or []],
                )
                for d in f.get("datums") or []
            ],
            label=_text(f.get("label")),
            handle=_text(f.get("handle")),
        )
        for f in dims.get("gdt") or []
    ]
    threads = [
        analysis_pb2.Thread(
            system=_text(t.get("system")),
            designation=_text(t.get("designation")),
            series=_text(t.get("series")),
            nominal_diameter=t.get("nominal_diameter"),
            nominal_inch=_text(t.get("nominal_inch")),
            pitch=t.get("pitch"),
            tpi=int(t.get("tpi") or 0),
            tolerance_class=_text(t.get("tolerance_class")),
            count=int(t.get("count") or 0),
            handle=_text(t.get("handle")),
        )
        for t in dims.get("threads") or []
    ]
    finish = [
        analysis_pb2.SurfaceFinish(
            parameter=_text(r.get("parameter")),
            value=float(r.get("value") or 0),
            default=bool(r.get("default")),
            text=_text(r.get("text")),
            handle=_text(r.get("handle")),
        )
        for r in dims.get("surface_finish") or []
    ]
    out: dict[str, Any] = {"gdt": frames, "threads": threads, "surface_finish": finish}
    general = dims.get("general_tolerance")
    if general:
        out["general_tolerance"] = analysis_pb2.GeneralTolerance(
            standard=_text(general.get("standard")),
            tolerance_class=_text(general.get("class")),
            geometrical_class=_text(general.get("geometrical_class")),
            text=_text(general.get("text")),
            handle=_text(general.get("handle")),
        )
    return out
