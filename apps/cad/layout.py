"""The ``dxf-7`` layout view: where the strokes lie and which way they run,
in the drawing's own axes.

Every earlier view of the drawing's shape is rotation-invariant (the picture's
rings and angular Fourier magnitudes, the outline's bands), so a symbol and the
same symbol upside down, a ``T`` and a ``⊥``, a row of vertical posts and a row
of horizontal bars, look alike to them. Libraries and archives draw their
symbols and parts upright, so the layout view keeps what those views drop:

- the share of drawn length in segments running in each of 8 directions
  (undirected, 22.5 degrees each, horizontal centred on the first and vertical
  on the fifth, so a line a hair off the axis stays in its bin);
- the share of drawn length in each cell of a 5x5 grid over the drawing's
  extent (the 0.5 % and 99.5 % quantiles of drawn length on each axis, so a
  stray entity far away does not squash everything into one cell). Odd, so
  that the middle line of a symmetric drawing lies inside the middle column
  rather than on the border of two, where the sampling would decide.

Both are computed from the length-weighted samples and the distinct segments
the picture view uses (``apps.cad.picture``): translation and uniform scale
leave them exactly in place, line weight and entities drawn twice do not
enter, and a turn moves them (that is what they measure).
"""

from __future__ import annotations

import math

import numpy as np

from apps.cad import picture

DIRECTIONS = 8
GRID = 5
# The extent's quantiles of drawn length on each axis.
EXTENT_QUANTILE = 0.005


def slot_specs() -> list[tuple[str, str]]:
    """(name, description) of every layout slot, in vector order."""
    step = 180 / DIRECTIONS
    specs = [
        (
            f"lay_dir_{k}",
            "Share of drawn length in segments running"
            f" {k * step - step / 2:g} to {k * step + step / 2:g} degrees from the"
            " drawing's x axis (undirected; circles and arcs count in the total"
            " only)",
        )
        for k in range(DIRECTIONS)
    ]
    specs += [
        (
            f"lay_cell_{row}_{col}",
            f"Share of drawn length in row {row} (from the bottom), column {col}"
            f" (from the left) of a {GRID}x{GRID} grid over the drawing's extent"
            " (its 0.5 % to 99.5 % quantiles of drawn length on each axis)",
        )
        for row in range(GRID)
        for col in range(GRID)
    ]
    return specs


WIDTH = DIRECTIONS + GRID * GRID


def layout_vector(
    lines: np.ndarray,
    circles: np.ndarray,
    posed: picture.Posed | None,
) -> list[float]:
    """The layout slots; all zeros (the neutral value) for no geometry.
    ``lines`` and ``circles`` as ``picture.distinct`` gives them (a segment
    drawn twice counts once); ``posed``: ``picture.pose`` of them, computed
    once for the picture and the layout views."""
    if posed is None:
        return [0.0] * WIDTH
    return _directions(lines, circles) + _cells(posed[0], posed[1])


def _directions(lines: np.ndarray, circles: np.ndarray) -> list[float]:
    if not len(lines):
        return [0.0] * DIRECTIONS
    dx, dy = lines[:, 2] - lines[:, 0], lines[:, 3] - lines[:, 1]
    length = np.hypot(dx, dy)
    total = float(length.sum() + (2 * math.pi * circles[:, 2]).sum())
    if not math.isfinite(total) or total <= 0:
        return [0.0] * DIRECTIONS
    width = math.pi / DIRECTIONS
    angle = np.mod(np.arctan2(dy, dx) + width / 2, math.pi)
    bins = np.minimum((angle / width).astype(np.int64), DIRECTIONS - 1)
    shares = np.bincount(bins, weights=length, minlength=DIRECTIONS) / total
    return [float(x) for x in shares]


def _cells(pts: np.ndarray, w: np.ndarray) -> list[float]:
    wn = w / w.sum()
    index = np.zeros((len(pts), 2), dtype=np.int64)
    for axis in range(2):
        coord = pts[:, axis]
        order = np.argsort(coord, kind="stable")
        cum = np.cumsum(wn[order])
        ends = np.searchsorted(cum, [EXTENT_QUANTILE, 1 - EXTENT_QUANTILE])
        lo, hi = (float(v) for v in coord[order][np.minimum(ends, len(cum) - 1)])
        span = hi - lo
        if not (math.isfinite(span) and span > 0):
            # A drawing with no extent along this axis (a horizontal line):
            # everything in the middle row or column.
            index[:, axis] = GRID // 2
            continue
        at = np.floor((coord - lo) / span * GRID)
        index[:, axis] = np.clip(np.nan_to_num(at), 0, GRID - 1).astype(np.int64)
    cells = np.bincount(index[:, 1] * GRID + index[:, 0], weights=wn, minlength=GRID**2)
    return [float(x) for x in cells]
