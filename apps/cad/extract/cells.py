"""The ruled grid a title block is drawn with, and the cell around a point.

Only axis-parallel straight segments count (LINE, and the straight pieces of
LWPOLYLINE/POLYLINE), in world coordinates. A cell is found from a point by
walking outwards to the nearest horizontal rule above and below that spans the
point's x, and the nearest vertical rule left and right that spans its y.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

from ezdxf.entities import LWPolyline
from ezdxf.math import Vec3

from apps.cad.walk import Visit

MAX_SEGMENTS = 200_000
# How far (in text heights) to look for a rule before giving up on a cell.
REACH = 60.0
# Rules looked at per side before giving up (dense hatching must not stall us).
MAX_STEPS = 2_000


@dataclass(frozen=True, slots=True)
class Cell:
    x0: float
    y0: float
    x1: float
    y1: float

    def same(self, other: Cell, tol: float) -> bool:
        return (
            abs(self.x0 - other.x0) <= tol
            and abs(self.x1 - other.x1) <= tol
            and abs(self.y0 - other.y0) <= tol
            and abs(self.y1 - other.y1) <= tol
        )


@dataclass
class Grid:
    # (y, x_min, x_max) and (x, y_min, y_max)
    horizontal: list[tuple[float, float, float]] = field(default_factory=list)
    vertical: list[tuple[float, float, float]] = field(default_factory=list)
    _ready: bool = False

    def add_visit(self, visit: Visit) -> None:
        """Record the straight axis-parallel rules of one visited entity."""
        if len(self.horizontal) + len(self.vertical) >= MAX_SEGMENTS:
            return
        e = visit.entity
        t = e.dxftype()
        try:
            if t == "LINE":
                pts = [e.dxf.start, e.dxf.end]
                closed = False
            elif t == "LWPOLYLINE" and isinstance(e, LWPolyline):
                pts = [Vec3(x, y) for x, y, *_ in e.get_points("xyb")]
                closed = e.closed
            else:
                return
        except (AttributeError, ValueError, TypeError, IndexError):
            return
        m = visit.matrix
        if m is not None:
            pts = list(m.transform_vertices(pts))
        if closed and len(pts) > 2:
            pts.append(pts[0])
        for a, b in zip(pts, pts[1:], strict=False):
            self._add(a, b)
        self._ready = False

    def _add(self, a: Any, b: Any) -> None:
        ax, ay, bx, by = float(a.x), float(a.y), float(b.x), float(b.y)
        if not all(abs(v) < 1e15 for v in (ax, ay, bx, by)):
            return
        dx, dy = abs(bx - ax), abs(by - ay)
        if dx < 1e-9 and dy < 1e-9:
            return
        if dy <= dx * 1e-3:
            self.horizontal.append(((ay + by) / 2, min(ax, bx), max(ax, bx)))
        elif dx <= dy * 1e-3:
            self.vertical.append(((ax + bx) / 2, min(ay, by), max(ay, by)))

    def _prepare(self) -> None:
        if not self._ready:
            self.horizontal.sort()
            self.vertical.sort()
            self._hy = [s[0] for s in self.horizontal]
            self._vx = [s[0] for s in self.vertical]
            self._ready = True

    def cell_at(self, x: float, y: float, reach: float) -> Cell | None:
        """The smallest ruled box around (x, y), or None if it is not enclosed
        within ``reach`` on every side."""
        if not self.horizontal or not self.vertical:
            return None
        self._prepare()
        below = _nearest(self.horizontal, self._hy, y, x, -1, reach)
        above = _nearest(self.horizontal, self._hy, y, x, 1, reach)
        left = _nearest(self.vertical, self._vx, x, y, -1, reach)
        right = _nearest(self.vertical, self._vx, x, y, 1, reach)
        if None in (below, above, left, right):
            return None
        return Cell(left, below, right, above)  # type: ignore[arg-type]

    def ruled_along(self, y: float, x0: float, x1: float, tol: float) -> bool:
        """Whether horizontal rules within ``tol`` of height ``y`` cover at
        least nine tenths of ``x0``-``x1``."""
        self._prepare()
        lo = bisect.bisect_left(self._hy, y - tol)
        hi = bisect.bisect_right(self._hy, y + tol)
        spans = sorted(
            (max(a, x0), min(b, x1))
            for _, a, b in self.horizontal[lo:hi]
            if b > x0 and a < x1
        )
        covered, reach = 0.0, x0
        for a, b in spans:
            if b > reach:
                covered += b - max(a, reach)
                reach = b
        return covered >= 0.9 * (x1 - x0)

    def ruled_between(self, y0: float, y1: float, x0: float, x1: float) -> bool:
        """Whether a horizontal rule lies strictly between heights ``y0`` and
        ``y1`` and runs over part of ``x0``-``x1`` (a fraction's bar)."""
        self._prepare()
        lo = bisect.bisect_right(self._hy, min(y0, y1))
        hi = bisect.bisect_left(self._hy, max(y0, y1))
        return any(lo_x < x1 and hi_x > x0 for _, lo_x, hi_x in self.horizontal[lo:hi])


def _nearest(
    segs: list[tuple[float, float, float]],
    keys: list[float],
    at: float,
    across: float,
    direction: int,
    reach: float,
) -> float | None:
    eps = 1e-6
    steps = 0
    if direction > 0:
        i = bisect.bisect_right(keys, at + eps)
        while i < len(segs) and segs[i][0] - at <= reach and steps < MAX_STEPS:
            steps += 1
            pos, lo, hi = segs[i]
            if lo - eps <= across <= hi + eps:
                return pos
            i += 1
    else:
        i = bisect.bisect_left(keys, at - eps) - 1
        while i >= 0 and at - segs[i][0] <= reach and steps < MAX_STEPS:
            steps += 1
            pos, lo, hi = segs[i]
            if lo - eps <= across <= hi + eps:
                return pos
            i -= 1
    return None
