"""The ``dxf-6`` topology view: how the drawn strokes connect.

A part's outline is a closed chain of lines and arcs, its holes are circles;
a library symbol has leads that end in the air, a schematic or a sheet's
title-block table has strokes that end on other strokes (a T). The earlier
views measure what is drawn and where, not whether it joins up, so a one-view
plate, a blank sheet frame and a switch symbol could look alike.

Every LINE, polyline segment, ARC and SPLINE is a stroke between its two ends;
ends closer than ``TOLERANCE`` radii of gyration are one node. From the graph
of nodes and strokes: the share of stroke ends that meet nothing, the share of
the drawn length in components with no free end (circles count as closed),
the share of nodes where three or more strokes meet, the number of components,
the largest component's share of the length, and the share of free ends that
lie on another stroke.

Translation and uniform scale leave every slot in place (the tolerance scales
with the drawing); a rotation moves the snapping grid, so ends that are not
exactly shared may snap differently. No geometry gives zeros, the neutral
value.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

TOLERANCE = 1e-3  # ends this close (radii of gyration) are one node
MAX_PROBES = 200  # free ends tested for lying on another stroke
MAX_PROBED_STROKES = 20_000  # beyond this a fixed stride keeps the probe bounded
_PROBE_CHUNK = 16
_T_REACH = 3.0  # a free end this close (tolerances) to a stroke lies on it


def slot_specs() -> list[tuple[str, str]]:
    """(name, description) of every topology slot, in vector order."""
    return [
        (
            "topo_free_end_share",
            "Stroke ends (LINE, polyline segment, ARC, SPLINE) that meet no other"
            " end / all stroke ends",
        ),
        (
            "topo_closed_length_share",
            "Share of the drawn length (circles included) in connected strokes"
            " with no free end",
        ),
        ("topo_branch_share", "Nodes where three or more strokes meet / all nodes"),
        ("topo_log_components", "log(1 + connected groups of strokes + circles)"),
        (
            "topo_largest_share",
            "The longest connected group's (or circle's) share of the drawn length",
        ),
        (
            "topo_t_share",
            "Free ends lying on another stroke (a T) / free ends probed (up to 200)",
        ),
    ]


def topology_vector(
    lines: np.ndarray,
    full_circles: np.ndarray,
    arcs: np.ndarray,
    curves: list[np.ndarray],
    gyration: float,
) -> list[float]:
    """The slots of ``slot_specs``: ``lines`` (x0, y0, x1, y1), ``full_circles``
    (cx, cy, r), ``arcs`` (cx, cy, r, start, sweep in radians), ``curves``
    (points along each SPLINE), all in world space; ``gyration`` the drawing's
    radius of gyration."""
    width = len(slot_specs())
    if not (gyration > 0 and math.isfinite(gyration)):
        return [0.0] * width
    tol = TOLERANCE * gyration
    starts, ends, lengths = _strokes(lines, arcs, curves, tol)
    circles = np.asarray(full_circles, dtype=float).reshape(-1, 3)
    circle_len = 2 * math.pi * circles[:, 2]
    if not len(starts):
        total = float(circle_len.sum())
        if total <= 0:
            return [0.0] * width
        return [
            0.0,
            1.0,
            0.0,
            math.log1p(len(circles)),
            float(circle_len.max()) / total,
            0.0,
        ]

    m = len(starts)
    ends_xy = np.concatenate([starts, ends])
    node = _snap(ends_xy, tol)
    n_nodes = int(node.max()) + 1
    degree = np.bincount(node, minlength=n_nodes)
    a, b = node[:m], node[m:]
    graph = coo_matrix((np.ones(m), (a, b)), shape=(n_nodes, n_nodes))
    n_groups, group = connected_components(graph, directed=False)
    group_len = np.bincount(group[a], weights=lengths, minlength=n_groups)
    free = degree == 1
    open_group = np.bincount(group[free], minlength=n_groups) > 0
    total = float(group_len.sum() + circle_len.sum())
    closed = float(group_len[~open_group].sum() + circle_len.sum())
    largest = max(float(group_len.max()), float(circle_len.max(initial=0.0)))
    free_ends = ends_xy[_first_index(node, n_nodes)[free]]
    return [
        float(free.sum()) / (2 * m),
        closed / total if total > 0 else 0.0,
        float((degree >= 3).sum()) / n_nodes,
        math.log1p(n_groups + len(circles)),
        largest / total if total > 0 else 0.0,
        _t_share(free_ends, starts, ends, tol),
    ]


def _strokes(
    lines: np.ndarray, arcs: np.ndarray, curves: list[np.ndarray], tol: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start points, end points and lengths of every stroke longer than a
    hundredth of the tolerance (a zero-length LINE joins nothing)."""
    starts, ends, lengths = [], [], []
    seg = np.asarray(lines, dtype=float).reshape(-1, 4)
    if len(seg):
        length = np.hypot(seg[:, 2] - seg[:, 0], seg[:, 3] - seg[:, 1])
        keep = length > tol * 0.01
        starts.append(seg[keep, :2])
        ends.append(seg[keep, 2:])
        lengths.append(length[keep])
    arc = np.asarray(arcs, dtype=float).reshape(-1, 5)
    if len(arc):
        cx, cy, r, a0, sweep = arc.T
        starts.append(np.c_[cx + r * np.cos(a0), cy + r * np.sin(a0)])
        ends.append(np.c_[cx + r * np.cos(a0 + sweep), cy + r * np.sin(a0 + sweep)])
        lengths.append(r * sweep)
    for curve in curves:
        pts = np.asarray(curve, dtype=float).reshape(-1, 2)
        if len(pts) >= 2:
            starts.append(pts[:1])
            ends.append(pts[-1:])
            lengths.append(np.array([np.hypot(*np.diff(pts, axis=0).T).sum()]))
    if not starts:
        empty = np.zeros((0, 2))
        return empty, empty, np.zeros(0)
    return np.concatenate(starts), np.concatenate(ends), np.concatenate(lengths)


def _snap(points: np.ndarray, tol: float) -> np.ndarray:
    """A node id per point: points in the same ``tol`` cell share one."""
    # Centred first so that the cell indices stay small whatever the offset.
    cells = np.round((points - points.mean(axis=0)) / tol).astype(np.int64)
    packed = cells[:, 0] * np.int64(4_294_967_311) + cells[:, 1]
    return np.unique(packed, return_inverse=True)[1].ravel()


def _first_index(node: np.ndarray, n_nodes: int) -> np.ndarray:
    """For every node, the index of one point snapped to it."""
    first = np.zeros(n_nodes, dtype=np.int64)
    first[node[::-1]] = np.arange(len(node) - 1, -1, -1)
    return first


def _t_share(
    free_ends: np.ndarray, starts: np.ndarray, ends: np.ndarray, tol: float
) -> float:
    if not len(free_ends):
        return 0.0
    if len(free_ends) > MAX_PROBES:
        # Evenly spaced, so the same drawing always probes the same ends.
        free_ends = free_ends[
            np.linspace(0, len(free_ends) - 1, MAX_PROBES).astype(int)
        ]
    stride = max(1, math.ceil(len(starts) / MAX_PROBED_STROKES))
    a, ab = starts[::stride], (ends - starts)[::stride]
    denom = np.maximum((ab * ab).sum(axis=1), 1e-300)
    hits = 0
    for i in range(0, len(free_ends), _PROBE_CHUNK):
        p = free_ends[i : i + _PROBE_CHUNK, None, :]
        t = np.clip(((p - a) * ab).sum(axis=2) / denom, 0.0, 1.0)
        dist = np.linalg.norm(p - (a + ab * t[..., None]), axis=2)
        # Its own stroke is always within reach; a T touches another one too.
        hits += int(((dist < _T_REACH * tol).sum(axis=1) >= 2).sum())
    return hits / len(free_ends)
