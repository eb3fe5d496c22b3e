"""The pure analysis pipeline: bytes in, JSON-able dict out.

No Django here; this is what the isolation workers run (``pool.py``). Errors a
user caused are raised as ``DomainError`` subclasses, which pickle across the
process boundary with their message.
"""

from __future__ import annotations

import time
from typing import Any

from ezdxf.lldxf.const import DXFError

from apps.cad import dimensions, features, parsing, preview_theme, titleblock
from apps.cad import preview as preview_mod
from apps.cad.errors import ResourceLimitExceeded, UnreadableFile
from apps.cad.extract.cells import Grid
from apps.cad.sniff import FileFormat, sniff
from apps.cad.text import MAX_TEXT_ITEMS, TextItem, texts_of
from apps.cad.walk import WalkReport, expanded_count, walk

PIPELINE_VERSION = "1"
_BROKEN_ENTITY = (
    DXFError,
    AttributeError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    ArithmeticError,
)


def analyze_bytes(name: str, content: bytes, *, preview: bool = True) -> dict[str, Any]:
    """Analyse one file; raises ``UnsupportedFormat`` / ``UnreadableFile`` (4xx)."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    fmt = sniff(content)
    if fmt.is_mesh:
        result = _analyze_mesh(content, fmt, timings, preview)
    elif fmt.is_brep:
        result = _analyze_brep(content, fmt, timings, preview)
    else:
        result = _analyze_dxf(content, fmt, timings, preview)
    timings["total_ms"] = round((time.perf_counter() - t0) * 1000, 3)
    result.update(
        name=name,
        format=str(fmt),
        pipeline_version=PIPELINE_VERSION,
        timings=timings,
    )
    return result


def render_preview(name: str, content: bytes) -> dict[str, Any]:
    """Only the preview picture: parse and draw. Rendering text through fonts
    makes this the slowest stage, so the service runs it on first request of the
    picture instead of on every upload."""
    t0 = time.perf_counter()
    fmt = sniff(content)
    if fmt.is_mesh:
        svg = preview_mod.mesh_svg(parsing.load_mesh(content, fmt))
    elif fmt.is_brep:
        from apps.cad import brep

        svg = brep.hlr_svg(brep.load(content, str(fmt)).shape)
    else:
        doc = parsing.load_dxf(content).doc
        # The renderer expands every block reference: the budget counts what it
        # would draw, not the modelspace entities that name it.
        budget = preview_mod.MAX_PREVIEW_ENTITIES
        n = expanded_count(doc, limit=budget)
        if n > budget:
            raise ResourceLimitExceeded(
                "The drawing expands to more than "
                f"{budget} entities once its block references are multiplied "
                f"out; previews are drawn up to {budget} entities."
            )
        try:
            svg = preview_mod.dxf_svg(doc, n)
        except Exception as exc:  # noqa: BLE001 - analysable but not drawable is fine
            svg = preview_mod.placeholder(f"no preview: {type(exc).__name__}")
    return {
        "preview_svg": preview_theme.paper(svg),
        "preview_ms": round((time.perf_counter() - t0) * 1000, 3),
    }


def _lap(timings: dict[str, float], stage: str, start: float) -> float:
    now = time.perf_counter()
    timings[f"{stage}_ms"] = round((now - start) * 1000, 3)
    return now


def _analyze_dxf(
    content: bytes, fmt: FileFormat, timings: dict[str, float], want_preview: bool
) -> dict[str, Any]:
    t = time.perf_counter()
    loaded = parsing.load_dxf(content)
    doc = loaded.doc
    t = _lap(timings, "parse", t)

    report = WalkReport()
    geo = features.Geometry()
    items: list[TextItem] = []
    dims: list[dict[str, Any]] = []
    grid = Grid()
    frames: list[tuple[str, str | None]] = []
    try:
        # One pass feeds features, text and dimensions.
        for visit in features.collect(walk(doc, report), geo):
            if len(items) < MAX_TEXT_ITEMS:
                items.extend(texts_of(visit))
            kind = visit.entity.dxftype()
            if kind == "DIMENSION":
                d = dimensions.dimension_of(visit)
                if d is not None:
                    dims.append(d)
            elif kind in ("LINE", "LWPOLYLINE"):
                grid.add_visit(visit)
            elif kind == "TOLERANCE":
                frames.append(
                    (
                        visit.entity.dxf.get("content", ""),
                        visit.entity.dxf.get("handle"),
                    )
                )
    except _BROKEN_ENTITY as exc:
        # The reader (or its recovery) let through an entity that ezdxf itself
        # cannot work with: the file is broken, not our pipeline.
        raise UnreadableFile(
            f"The drawing's entities could not be read: {type(exc).__name__}: {exc}"[
                :300
            ]
        ) from exc
    vector = features.dxf2_vector(doc, geo, report.visited, [it.text for it in items])
    t = _lap(timings, "features", t)

    paper_blocks, paper_items = _paperspace_sheets(doc)
    title = titleblock.merge(titleblock.extract(items, grid), *paper_blocks)
    tokens = dimensions.tokens_from_texts(items)
    notes = dimensions.annotations(
        items + paper_items, frames, title.get("general_tolerance")
    )
    t = _lap(timings, "text", t)

    svg = None
    if want_preview:
        try:
            # Counted as the renderer expands blocks (render_preview).
            n = expanded_count(doc, limit=preview_mod.MAX_PREVIEW_ENTITIES)
            svg = preview_mod.dxf_svg(doc, max(n, report.visited))
        except Exception as exc:  # noqa: BLE001 - analysable but not drawable is fine
            svg = preview_mod.placeholder(f"no preview: {type(exc).__name__}")
        svg = preview_theme.paper(svg)
        t = _lap(timings, "preview", t)

    pts = geo.points
    bbox = None
    if pts:
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        bbox = [min(xs), min(ys), max(xs), max(ys)]
    return {
        "recovered": loaded.recovered,
        "fixes": loaded.fixes,
        "repair_messages": loaded.messages,
        "feature_version": features.DXF_FEATURE_VERSION,
        "features": vector,
        "text": [it.as_dict() for it in items],
        "title_block": title,
        # The annotations ride in ``dimensions`` (one stored column); the v2
        # API shows them as top-level sections.
        "dimensions": {"entities": dims, "tokens": tokens, **notes},
        "stats": {
            "dxf_version": doc.dxfversion,
            "units": int(doc.header.get("$INSUNITS", 0) or 0),
            "entities": report.visited,
            "entity_types": dict(sorted(geo.counts.items())),
            "layers": len(geo.layers),
            "blocks": sum(1 for _ in doc.blocks),
            "bbox": bbox,
            "walk_truncated": report.truncated,
            "recursive_inserts_skipped": report.recursive_blocks,
            "nonfinite_skipped": geo.skipped_nonfinite,
        },
        "preview_svg": svg,
    }


PAPER_MAX_ENTITIES = 50_000


def _paperspace_sheets(doc: Any) -> tuple[list[dict[str, Any]], list[TextItem]]:
    """Title blocks drawn on paperspace layouts, each read on its own, and the
    sheets' text (notes such as the general tolerance often live there)."""
    blocks = []
    sheet_items: list[TextItem] = []
    budget = PAPER_MAX_ENTITIES
    for layout in doc.layouts:
        if layout.is_modelspace or budget <= 0:
            continue
        report = WalkReport()
        items: list[TextItem] = []
        grid = Grid()
        try:
            for visit in walk(doc, report, max_entities=budget, layout=layout):
                kind = visit.entity.dxftype()
                if kind in ("LINE", "LWPOLYLINE"):
                    grid.add_visit(visit)
                elif len(items) < MAX_TEXT_ITEMS:
                    items.extend(texts_of(visit))
        except _BROKEN_ENTITY:
            continue  # a sheet we cannot read has no title block for us
        finally:
            budget -= report.visited
        if items:
            blocks.append(titleblock.extract(items, grid))
            sheet_items.extend(items[: MAX_TEXT_ITEMS - len(sheet_items)])
    return blocks, sheet_items


def _analyze_mesh(
    content: bytes, fmt: FileFormat, timings: dict[str, float], want_preview: bool
) -> dict[str, Any]:
    t = time.perf_counter()
    mesh = parsing.load_mesh(content, fmt)
    t = _lap(timings, "parse", t)
    import numpy as np

    if not np.isfinite(mesh.vertices).all():
        raise UnreadableFile("The mesh has coordinates that are not finite numbers.")
    vector = features.mesh_vector(mesh)
    t = _lap(timings, "features", t)
    svg = None
    if want_preview:
        svg = preview_theme.paper(preview_mod.mesh_svg(mesh))
        t = _lap(timings, "preview", t)
    bounds = mesh.bounds.tolist() if len(mesh.vertices) else None
    watertight = bool(mesh.is_watertight)
    return {
        "recovered": False,
        "fixes": 0,
        "repair_messages": [],
        "feature_version": features.MESH_FEATURE_VERSION,
        "features": vector,
        "text": [],
        "title_block": {f: None for f in titleblock.ALL_FIELDS},
        "dimensions": {"entities": [], "tokens": [], **dimensions.annotations([], [])},
        "stats": {
            "vertices": int(len(mesh.vertices)),
            "faces": int(len(mesh.faces)),
            "watertight": watertight,
            "volume": float(mesh.volume) if watertight else None,
            "area": float(mesh.area),
            "bbox": bounds,
            "euler_number": int(mesh.euler_number),
        },
        "preview_svg": svg,
    }


def _analyze_brep(
    content: bytes, fmt: FileFormat, timings: dict[str, float], want_preview: bool
) -> dict[str, Any]:
    # Imported on first STEP/IGES file: workers that only ever see drawings
    # keep the memory profile they had.
    from apps.cad import brep

    t = time.perf_counter()
    loaded = brep.load(content, str(fmt))
    t = _lap(timings, "parse", t)
    out = brep.analyze(loaded)
    t = _lap(timings, "features", t)
    svg = None
    if want_preview:
        try:
            svg = brep.hlr_svg(loaded.shape)
        except Exception as exc:  # noqa: BLE001 - analysable but not drawable is fine
            svg = preview_mod.placeholder(f"no preview: {type(exc).__name__}")
        svg = preview_theme.paper(svg)
        t = _lap(timings, "preview", t)
    solid = out["solid"]
    return {
        "recovered": False,
        "fixes": 0,
        "repair_messages": [],
        "feature_version": brep.BREP_FEATURE_VERSION,
        "features": out["features"],
        "text": out["text"],
        "title_block": {f: None for f in titleblock.ALL_FIELDS},
        "dimensions": {"entities": [], "tokens": [], **dimensions.annotations([], [])},
        # The absolute measures ride in ``stats`` (one stored column) under
        # ``solid``; the API shows them as the analysis's ``solid`` object.
        "stats": {
            "solid": solid,
            "faces": sum(solid["faces_by_type"].values()),
            "bbox": solid["bbox_mm"],
            "units": solid["units"],
        },
        "solid": solid,
        "preview_svg": svg,
    }
