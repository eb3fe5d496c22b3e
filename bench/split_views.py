"""Split drawing sheets into their views, one DXF file a view.

    python bench/split_views.py SHEETS_DIR VIEWS_DIR [--min-entities 4]

A sheet of several views (a catalogue page: the end view with the side views
around it and an axonometric sketch) becomes one drawing per view, as part
libraries hold them. Entities whose bounding boxes touch, grown by 1 % of the
sheet's diagonal, form one view (a dimension's extension lines join it to
the view they measure); TEXT and MTEXT join the view whose box they overlap.
Views of fewer than ``--min-entities`` entities (stray arrowheads, lone
labels) are left out. ``SHEETS_DIR/<class>/<name>.dxf`` gives
``VIEWS_DIR/<class>/<name>__v<k>.dxf``, largest view first, so the views
keep their sheet's label for ``bench/model_quality.py --real``.

Prints one JSON line: sheets read, views written.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import ezdxf
import numpy as np
from ezdxf import bbox
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

TEXT_TYPES = ("TEXT", "MTEXT")

Box = tuple[float, float, float, float]


def _box(entity) -> Box | None:  # type: ignore[no-untyped-def]
    found = bbox.extents([entity])
    if not found.has_data:
        return None
    return (found.extmin.x, found.extmin.y, found.extmax.x, found.extmax.y)


def _touch(a: Box, b: Box, tol: float) -> bool:
    return (
        a[0] - tol <= b[2]
        and b[0] - tol <= a[2]
        and a[1] - tol <= b[3]
        and b[1] - tol <= a[3]
    )


def split(path: Path, out_dir: Path, min_entities: int) -> int:
    doc = ezdxf.readfile(path)
    msp = doc.modelspace()
    shapes = [(e, _box(e)) for e in msp if e.dxftype() not in TEXT_TYPES]
    shapes = [(e, b) for e, b in shapes if b is not None]
    texts = [(e, _box(e)) for e in msp if e.dxftype() in TEXT_TYPES]
    if not shapes:
        return 0
    boxes = np.array([b for _, b in shapes])
    x0, y0 = boxes[:, :2].min(axis=0)
    x1, y1 = boxes[:, 2:].max(axis=0)
    tol = 0.01 * math.hypot(x1 - x0, y1 - y0)
    low, high = boxes[:, :2] - tol, boxes[:, 2:]
    touching = ((low[:, None] <= high[None]) & (low[None] <= high[:, None])).all(axis=2)
    _, group = connected_components(csr_matrix(touching), directed=False)
    groups = [np.flatnonzero(group == g) for g in range(group.max() + 1)]

    written = 0
    for members in sorted(groups, key=len, reverse=True):
        if len(members) < min_entities:
            continue
        view: Box = (
            *boxes[members, :2].min(axis=0),
            *boxes[members, 2:].max(axis=0),
        )
        out = ezdxf.new(doc.dxfversion)
        out.header["$INSUNITS"] = doc.header.get("$INSUNITS", 0)
        target = out.modelspace()
        for i in members:
            target.add_entity(shapes[i][0].copy())
        for text, box in texts:
            if box is not None and _touch(box, view, tol):
                target.add_entity(text.copy())
        written += 1
        name = out_dir / path.parent.name / f"{path.stem}__v{written}.dxf"
        name.parent.mkdir(parents=True, exist_ok=True)
        out.saveas(name)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sheets", type=Path)
    parser.add_argument("views", type=Path)
    parser.add_argument("--min-entities", type=int, default=4)
    args = parser.parse_args()
    sheets = sorted(p for p in args.sheets.rglob("*") if p.suffix.lower() == ".dxf")
    views = sum(split(p, args.views, args.min_entities) for p in sheets)
    print(json.dumps({"bench": "split_views", "sheets": len(sheets), "views": views}))


if __name__ == "__main__":
    main()
