"""The ``dxf-2`` picture view: the drawing's geometry as a pose-normalised image.

The segments and circles ``features.collect`` already gathered are sampled at a
fixed step (numpy only, no plotting library), centred on their centroid and
scaled by their radius of gyration, each sample weighted by the length it
stands for.
Line weight never enters (only geometry is sampled), segments and circles drawn
twice are counted once, and sampling by length makes small gaps and a few stray
entities move the picture little. Every descriptor is computed in polar
coordinates around the centroid and keeps only magnitudes of angular Fourier
coefficients, so a rotation leaves it in place up to the sampling; only
``pic_fill`` counts cells of an occupancy grid, which a turn moves slightly.
"""

from __future__ import annotations

import math

import numpy as np

GRID = 64  # cells per side of the occupancy image
EXTENT = 2.5  # the image spans +-EXTENT radii of gyration
MAX_SAMPLES = 4_096  # the sampling step grows so that no drawing exceeds this
RING_EDGES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, math.inf)
FOURIER_RINGS = ((0.0, 0.5), (0.5, 1.0), (1.0, 1.5), (1.5, math.inf))
FOURIER_ORDERS = 8
ANGLE_BINS = 32
CIRCLE_SAMPLES = 24


def slot_specs() -> list[tuple[str, str]]:
    """(name, description) of every picture slot, in vector order."""
    specs = [
        (
            f"pic_ring_{i}",
            f"Share of drawn length at {lo:g} to {hi:g} radii of gyration"
            " from the centroid",
        )
        for i, (lo, hi) in enumerate(zip(RING_EDGES[:-1], RING_EDGES[1:], strict=True))
    ]
    for r, (lo, hi) in enumerate(FOURIER_RINGS):
        for k in range(1, FOURIER_ORDERS + 1):
            specs.append(
                (
                    f"pic_fourier_r{r}_k{k}",
                    f"|angular Fourier coefficient {k}| / coefficient 0 of the"
                    f" drawn length at {lo:g} to {hi:g} radii of gyration"
                    " (rotation-invariant)",
                )
            )
    specs += [
        (
            "pic_fill",
            "Occupied cells of a 64x64 image / cells within 2 radii of gyration",
        ),
        ("pic_r_mean", "Mean distance of drawn length / radius of gyration"),
        ("pic_r_std", "Std of that distance / radius of gyration"),
        (
            "pic_outside",
            "Share of sampled length beyond the image (2.5 radii of gyration)",
        ),
    ]
    return specs


# The length-weighted samples (points, weights), their centroid and radius of
# gyration.
Posed = tuple[np.ndarray, np.ndarray, np.ndarray, float]


def distinct(lines: np.ndarray, circles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The segments and circles with each drawn once: a segment drawn twice
    (either direction) is one segment."""
    if len(lines):
        ends = np.where(
            (lines[:, :2] <= lines[:, 2:]).all(axis=1, keepdims=True)
            | (lines[:, 0:1] < lines[:, 2:3]),
            lines,
            lines[:, [2, 3, 0, 1]],
        )
        lines = _unique_rows(ends)
    if len(circles):
        circles = _unique_rows(circles)
    return lines, circles


def _unique_rows(a: np.ndarray) -> np.ndarray:
    """``np.unique(a, axis=0)``: the same rows in the same order, at a
    fraction of its cost on the small arrays of most drawings."""
    rows = a[np.lexsort(a.T[::-1])]
    keep = np.ones(len(rows), dtype=bool)
    keep[1:] = (rows[1:] != rows[:-1]).any(axis=1)
    return rows[keep]


def _samples(
    lines: np.ndarray, circles: np.ndarray, already_distinct: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Points along every segment and circle, and the length each stands for."""
    if not already_distinct:
        lines, circles = distinct(lines, circles)
    seg_len = (
        np.hypot(lines[:, 2] - lines[:, 0], lines[:, 3] - lines[:, 1])
        if len(lines)
        else np.zeros(0)
    )
    circ_len = 2 * math.pi * circles[:, 2] if len(circles) else np.zeros(0)
    total = float(seg_len.sum() + circ_len.sum())
    if not math.isfinite(total) or total <= 0:
        return np.zeros((0, 2)), np.zeros(0)
    parts: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    if len(lines) > MAX_SAMPLES:
        # Millions of tiny segments: points at equal steps of drawn length
        # along all of them keep the cost bounded, and a long segment among
        # many short ones keeps its weight (a stride over segments did not).
        cum = np.cumsum(seg_len)
        if cum[-1] > 0:
            pos = (np.arange(MAX_SAMPLES) + 0.5) * (cum[-1] / MAX_SAMPLES)
            i = np.minimum(np.searchsorted(cum, pos, side="right"), len(lines) - 1)
            t = (pos - (cum[i] - seg_len[i])) / np.where(seg_len[i] > 0, seg_len[i], 1)
            a, b = lines[i, :2], lines[i, 2:]
            parts.append(a + (b - a) * np.clip(t, 0, 1)[:, None])
            weights.append(np.full(MAX_SAMPLES, cum[-1] / MAX_SAMPLES))
        lines = lines[:0]
    budget = MAX_SAMPLES - len(lines) - CIRCLE_SAMPLES * len(circles)
    # A drawing whose whole length underflows gets the smallest normal step,
    # not 0 (0/0 would make a segment's sample count undefined).
    step = max(total / max(budget, MAX_SAMPLES // 4), float(np.finfo(float).tiny))
    if len(lines):
        # Each segment gets its two ends plus one point per step along it;
        # the per-segment cap keeps millions of tiny segments within budget.
        n = np.minimum(np.floor(seg_len / step), MAX_SAMPLES).astype(np.int64) + 2
        idx = np.repeat(np.arange(len(lines)), n)
        starts = np.cumsum(n) - n
        t = (np.arange(n.sum()) - np.repeat(starts, n)) / np.repeat(n - 1, n)
        a, b = lines[idx, :2], lines[idx, 2:]
        parts.append(a + (b - a) * t[:, None])
        weights.append(np.repeat(seg_len / n, n))
    if len(circles):
        theta = np.linspace(0, 2 * math.pi, CIRCLE_SAMPLES, endpoint=False)
        ring = np.stack([np.cos(theta), np.sin(theta)], axis=1)
        pts = circles[:, None, :2] + circles[:, None, 2:3] * ring[None, :, :]
        parts.append(pts.reshape(-1, 2))
        weights.append(np.repeat(circ_len / CIRCLE_SAMPLES, CIRCLE_SAMPLES))
    return np.concatenate(parts), np.concatenate(weights)


def pose(
    lines: np.ndarray, circles: np.ndarray, *, already_distinct: bool = False
) -> Posed | None:
    """The length-weighted samples of the geometry (points, weights), their
    centroid and radius of gyration; None when there is nothing to measure.
    ``already_distinct``: the arrays come from ``distinct`` (sorting a million
    segments again costs as much as the first time)."""
    pts, w = _samples(lines, circles, already_distinct)
    if len(pts) == 0 or w.sum() <= 0:
        return None
    centre = (pts * w[:, None]).sum(axis=0) / w.sum()
    rel = pts - centre
    gyr = math.sqrt(float((w * (rel**2).sum(axis=1)).sum() / w.sum()))
    if not math.isfinite(gyr) or gyr <= 0:
        return None
    return pts, w, centre, gyr


def picture_slots(posed: Posed | None) -> list[float]:
    """The picture slots of ``pose(lines, circles)`` (which the layout view
    reads too); all zeros (the neutral value) for no geometry."""
    if posed is None:
        return [0.0] * len(slot_specs())
    pts, w, centre, gyr = posed
    rel = (pts - centre) / gyr
    inside = (np.abs(rel) < EXTENT).all(axis=1)
    outside = float(w[~inside].sum() / w.sum())
    cells = np.floor((rel[inside] + EXTENT) / (2 * EXTENT) * GRID).astype(np.int64)
    cells = cells.clip(0, GRID - 1)
    occupied = len(np.unique(cells[:, 0] * GRID + cells[:, 1]))
    r = np.hypot(rel[:, 0], rel[:, 1])
    wn = w / w.sum()
    rings = np.histogram(r, bins=np.asarray(RING_EDGES), weights=wn)[0]
    vec = [float(x) for x in rings]
    # Coefficients straight from the samples' angles (no angular binning, so no
    # bin edge for a rotation to push samples across): e^{ik phi} as powers of
    # the unit vector towards each sample, no trigonometry.
    # Each part divided apart: |x| <= r, so no overflow even for a tiny r.
    rr = np.where(r > 0, r, 1)
    unit = np.where(r > 0, rel[:, 0] / rr + 1j * (rel[:, 1] / rr), 0)
    edges = np.asarray([lo for lo, _ in FOURIER_RINGS][1:])
    ring = np.searchsorted(edges, r, side="right")
    n_rings = len(FOURIER_RINGS)
    mass = np.bincount(ring, weights=wn, minlength=n_rings)
    coeff = np.empty((FOURIER_ORDERS, n_rings))
    power = np.ones_like(unit)
    for k in range(FOURIER_ORDERS):
        power = power * unit
        weighted = wn * power
        re = np.bincount(ring, weights=weighted.real, minlength=n_rings)
        im = np.bincount(ring, weights=weighted.imag, minlength=n_rings)
        coeff[k] = np.hypot(re, im)
    for i in range(n_rings):
        if mass[i] > 0:
            vec += [float(x) for x in coeff[:, i] / mass[i]]
        else:
            vec += [0.0] * FOURIER_ORDERS
    cell_area = (2 * EXTENT / GRID) ** 2
    mean_r = float((wn * r).sum())
    vec += [
        min(1.0, occupied * cell_area / (math.pi * 4.0)),
        mean_r,
        math.sqrt(max(float((wn * (r - mean_r) ** 2).sum()), 0.0)),
        outside,
    ]
    return vec
