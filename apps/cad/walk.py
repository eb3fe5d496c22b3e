"""One walk over a DXF drawing's modelspace, with block references expanded.

Features and text both need every entity in world coordinates, including the
ones inside (nested) blocks. Expanding INSERTs ourselves instead of calling
``virtual_entities()`` lets us carry a transform matrix cheaply, refuse
self-referencing blocks and stop at a budget, so a hostile file cannot make the
walk recurse forever or explode combinatorially.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ezdxf.document import Drawing as DxfDocument
from ezdxf.entities import DXFGraphic
from ezdxf.math import Matrix44, Vec3

MAX_DEPTH = 16
MAX_ENTITIES = 400_000


@dataclass(frozen=True, slots=True)
class Visit:
    entity: DXFGraphic
    matrix: Matrix44 | None  # None: the entity is in modelspace itself
    depth: int
    block: str | None  # innermost block name, None at top level
    owner: str | None  # handle of the top-level INSERT or table holding it


@dataclass
class WalkReport:
    visited: int = 0
    truncated: bool = False
    recursive_blocks: int = 0


def walk(
    doc: DxfDocument,
    report: WalkReport,
    *,
    max_entities: int = MAX_ENTITIES,
    max_depth: int = MAX_DEPTH,
    layout: Any = None,
) -> Iterator[Visit]:
    """Yield modelspace entities (or ``layout``'s), then the contents of every
    INSERT in place."""
    blocks = doc.blocks

    def _walk(
        entities: object,
        matrix: Matrix44 | None,
        depth: int,
        path: tuple[str, ...],
        owner: str | None,
    ) -> Iterator[Visit]:
        for entity in entities:  # type: ignore[attr-defined]
            if report.visited >= max_entities:
                report.truncated = True
                return
            report.visited += 1
            yield Visit(entity, matrix, depth, path[-1] if path else None, owner)
            kind = entity.dxftype()
            top = owner if owner is not None else entity.dxf.get("handle")
            if kind == "ACAD_TABLE" and depth < max_depth:
                # Table cells live in an anonymous block; ezdxf renders them
                # to world-space entities for us.
                try:
                    cells = list(entity.virtual_entities())
                except Exception:  # noqa: BLE001, S112 - a broken table must not sink the drawing
                    continue
                yield from _walk(cells, matrix, depth + 1, (*path, "*TABLE"), top)
                continue
            if kind != "INSERT":
                continue
            name = entity.dxf.get("name", "")
            if name in path:
                report.recursive_blocks += 1
                continue
            if depth >= max_depth:
                report.truncated = True
                continue
            block = blocks.get(name)
            if block is None:
                continue
            try:
                m = entity.matrix44()
                copies = _grid(entity)
            except (ValueError, ZeroDivisionError, ArithmeticError):
                continue
            for offset in copies:
                # Each copy of a MINSERT's grid costs a visit, so an array of
                # a billion empty blocks stops at the budget like any other.
                if offset is not None:
                    if report.visited >= max_entities:
                        report.truncated = True
                        return
                    report.visited += 1
                placed = m if offset is None else m @ Matrix44.translate(*offset)
                if matrix is not None:
                    placed = placed @ matrix
                yield from _walk(block, placed, depth + 1, (*path, name), top)

    start = doc.modelspace() if layout is None else layout
    yield from _walk(start, None, 0, (), None)


def _grid(insert: Any) -> Iterator[tuple[float, float, float] | None]:
    """Where the copies of a block reference go: ``None`` (the reference's own
    place) for a plain INSERT; for a MINSERT every cell of its rows x columns
    grid after the first, as a world-space offset (the grid turns with the
    reference's rotation and lies in its plane, but is not scaled, as AutoCAD
    draws it). A zero spacing puts every copy of that axis in one place: drawn
    once."""
    yield None
    dxf = insert.dxf
    row_step = float(dxf.get("row_spacing", 0.0) or 0.0)
    column_step = float(dxf.get("column_spacing", 0.0) or 0.0)
    rotation = float(dxf.get("rotation", 0.0) or 0.0)
    if not all(math.isfinite(v) for v in (row_step, column_step, rotation)):
        return
    rows = max(int(dxf.get("row_count", 1) or 1), 1) if row_step else 1
    columns = max(int(dxf.get("column_count", 1) or 1), 1) if column_step else 1
    if rows * columns <= 1:
        return
    ocs = insert.ocs()
    for row in range(rows):
        for column in range(columns):
            if row == 0 and column == 0:
                continue
            offset = Vec3(column * column_step, row * row_step)
            if rotation:
                offset = offset.rotate_deg(rotation)
            world = ocs.to_wcs(offset)
            yield (world.x, world.y, world.z)


def expanded_count(doc: DxfDocument, *, limit: int, max_depth: int = MAX_DEPTH) -> int:
    """How many entities drawing the modelspace produces, block references
    multiplied out (an INSERT counts its block's entities, a MINSERT rows x
    columns times, a DIMENSION its geometry block).

    Each block is counted once and the count reused, so ten levels of ten
    nested references cost a hundred steps, not the 10^10 a renderer would take.
    Counting stops soon after ``limit`` (the result is then just above it).
    """
    blocks = doc.blocks
    counted: dict[str, int] = {}

    def block_count(name: str, path: tuple[str, ...]) -> int:
        if name in counted:
            return counted[name]
        if name in path or len(path) >= max_depth:
            return 0  # the walk refuses these too
        block = blocks.get(name)
        if block is None:
            return 0
        counted[name] = total = count(block, (*path, name))
        return total

    def count(entities: object, path: tuple[str, ...]) -> int:
        total = 0
        for entity in entities:  # type: ignore[attr-defined]
            total += 1
            kind = entity.dxftype()
            if kind == "INSERT":
                copies = max(1, int(entity.dxf.get("row_count", 1) or 1)) * max(
                    1, int(entity.dxf.get("column_count", 1) or 1)
                )
                inner = block_count(entity.dxf.get("name", ""), path)
                total += copies * (inner + len(entity.attribs))
            elif kind == "DIMENSION":
                total += block_count(entity.dxf.get("geometry", ""), path)
            if total > limit:
                break
        return total

    return count(doc.modelspace(), ())
