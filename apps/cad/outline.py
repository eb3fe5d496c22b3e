"""The ``dxf-3`` outline view: the shape of a part's outer profile and its
repeated features, where teeth, lobes and hole patterns show.

The ``dxf-2`` picture reads ARCs as whole circles and SPLINEs as their points,
and its angular Fourier orders stop at 8, so a gear drawn as arc lands and
spline flanks looks like a few concentric circles: a flange. This view draws
arcs over their sweep and splines through their points, then takes the
farthest drawn point in each of ``BINS`` directions around the centroid (the
outer profile) and measures how that profile repeats: the share of its
variation in octave bands of angular order up to ``BINS / 2``, its strongest
order and how much of the variation that order and its harmonics carry. Two
counts read the arcs and circles directly: arcs concentric with the part
(tip and root lands of teeth) and the largest set of equal features on one
ring (teeth roots, bolt holes, slots).

Translation and uniform scale leave every slot exactly in place; a rotation
moves the profile's bins, so the band shares survive it up to the binning.
No geometry gives zeros, the neutral value.
"""

from __future__ import annotations

import math

import numpy as np

from apps.cad import picture

BINS = 256  # directions of the outer profile; orders up to BINS / 2
BANDS = ((1, 1), (2, 2), (3, 4), (5, 8), (9, 16), (17, 32), (33, 64), (65, 128))
CIRCLE_SEGMENTS = 96  # a whole circle as segments (more than the profile's bins / 2)
MAX_SEGMENTS = 40_000  # beyond this a fixed stride keeps the cost bounded
MAX_CUTS = 400_000  # segment-ray intersections, likewise
_CONCENTRIC = 0.02  # centres this close to the centroid (radii of gyration) share it


def slot_specs() -> list[tuple[str, str]]:
    """(name, description) of every outline slot, in vector order."""
    specs = [
        (
            "out_gaps",
            f"Share of the {BINS} directions around the centroid with no geometry",
        ),
        (
            "out_cv",
            "Std / mean of the outer profile (farthest drawn point per direction)",
        ),
    ]
    specs += [
        (
            f"out_band_{lo}_{hi}",
            f"Share of the outer profile's variation at angular orders {lo} to {hi}",
        )
        for lo, hi in BANDS
    ]
    specs += [
        (
            "out_peak_amp",
            "Amplitude of the profile's strongest order (2 and up) / mean radius",
        ),
        ("out_peak_order", "log2 of that order / log2(128): 2 teeth 0.14, 128 teeth 1"),
        (
            "out_peak_purity",
            "Share of the profile's variation in that order and its 2nd and 3rd"
            " harmonics",
        ),
        (
            "out_concentric_arcs",
            "ARCs centred on the centroid, log(1+n)/log(257) (tooth lands, fillets)",
        ),
        (
            "out_concentric_circles",
            "Whole circles centred on the centroid, log(1+n)/log(257)",
        ),
        (
            "out_ring_repeat",
            "Largest set of equal circles or arcs at one distance from the centroid,"
            " log(1+n)/log(257) (teeth roots, bolt circles)",
        ),
    ]
    return specs


WIDTH = len(slot_specs())


def _log_count(n: int) -> float:
    return math.log1p(n) / math.log(257)


def _segments(
    lines: np.ndarray, circles: np.ndarray, arcs: np.ndarray, curves: list[np.ndarray]
) -> np.ndarray:
    """Every piece of geometry as straight segments (x0, y0, x1, y1)."""
    parts = [lines.reshape(-1, 4)]
    if len(circles):
        t = np.linspace(0, 2 * math.pi, CIRCLE_SEGMENTS + 1)
        x = circles[:, 0:1] + circles[:, 2:3] * np.cos(t)
        y = circles[:, 1:2] + circles[:, 2:3] * np.sin(t)
        parts.append(
            np.stack([x[:, :-1], y[:, :-1], x[:, 1:], y[:, 1:]], axis=2).reshape(-1, 4)
        )
    if len(arcs):
        # Each arc gets segments in proportion to its sweep (at least two).
        sweep = arcs[:, 4]
        n = np.maximum(2, np.ceil(CIRCLE_SEGMENTS * sweep / (2 * math.pi))).astype(
            np.int64
        )
        idx = np.repeat(np.arange(len(arcs)), n)
        starts = np.cumsum(n) - n
        i = np.arange(n.sum()) - np.repeat(starts, n)
        a0 = arcs[idx, 3] + sweep[idx] * i / n[idx]
        a1 = arcs[idx, 3] + sweep[idx] * (i + 1) / n[idx]
        cx, cy, r = arcs[idx, 0], arcs[idx, 1], arcs[idx, 2]
        parts.append(
            np.stack(
                [
                    cx + r * np.cos(a0),
                    cy + r * np.sin(a0),
                    cx + r * np.cos(a1),
                    cy + r * np.sin(a1),
                ],
                axis=1,
            )
        )
    for pts in curves:
        if len(pts) >= 2:
            parts.append(np.concatenate([pts[:-1], pts[1:]], axis=1))
    segs = np.concatenate(parts) if parts else np.zeros((0, 4))
    if len(segs) > MAX_SEGMENTS:
        segs = segs[:: len(segs) // MAX_SEGMENTS + 1]
    return segs


def _profile(segs: np.ndarray) -> np.ndarray:
    """The farthest drawn point in each of ``BINS`` directions (-1 where none):
    each segment is cut by the rays through the bin centres it spans, so the
    profile does not depend on how densely anything was sampled."""
    step = 2 * math.pi / BINS
    rmax = np.full(BINS, -1.0)
    p0, p1 = segs[:, :2], segs[:, 2:]
    for ends in (p0, p1):  # ends that fall between bin centres
        b = np.floor((np.arctan2(ends[:, 1], ends[:, 0]) + math.pi) / step)
        np.maximum.at(rmax, b.astype(np.int64) % BINS, np.hypot(ends[:, 0], ends[:, 1]))
    d = p1 - p0
    a0 = np.arctan2(p0[:, 1], p0[:, 0])
    span = (np.arctan2(p1[:, 1], p1[:, 0]) - a0 + math.pi) % (2 * math.pi) - math.pi
    lo = np.minimum(a0, a0 + span)
    first = np.ceil((lo + math.pi) / step - 0.5).astype(np.int64)
    last = np.floor((np.maximum(a0, a0 + span) + math.pi) / step - 0.5).astype(np.int64)
    # A segment through the centre spans half the turn: its ends speak for it.
    count = np.where(np.abs(span) < math.pi - 1e-9, np.maximum(last - first + 1, 0), 0)
    if count.sum() > MAX_CUTS:
        count = np.where(
            np.arange(len(count)) % (count.sum() // MAX_CUTS + 1) == 0, count, 0
        )
    if count.sum() == 0:
        return rmax
    idx = np.repeat(np.arange(len(segs)), count)
    k = np.repeat(first, count) + (
        np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    )
    theta = (k + 0.5) * step - math.pi
    ux, uy = np.cos(theta), np.sin(theta)
    dx, dy = d[idx, 0], d[idx, 1]
    denom = ux * dy - uy * dx
    num = p0[idx, 0] * dy - p0[idx, 1] * dx
    ok = np.abs(denom) > 1e-12
    r = np.where(ok, num / np.where(ok, denom, 1.0), -1.0)
    np.maximum.at(rmax, k % BINS, np.where(r > 0, r, -1.0))
    return rmax


def _profile_slots(rmax: np.ndarray) -> list[float]:
    filled = rmax >= 0
    gaps = 1.0 - float(filled.mean())
    if filled.sum() < 2:
        return [gaps] + [0.0] * (WIDTH - 1 - 3)
    # Directions with no geometry take the profile interpolated round the circle.
    where = np.flatnonzero(filled)
    rmax = np.interp(np.arange(BINS), where, rmax[where], period=BINS)
    mean = float(rmax.mean())
    if mean <= 0:
        return [gaps] + [0.0] * (WIDTH - 1 - 3)
    p = rmax / mean
    amp = np.abs(np.fft.rfft(p))[1 : BINS // 2 + 1] * 2 / BINS  # orders 1..BINS/2
    power = amp**2
    total = float(power.sum())
    out = [gaps, float(p.std())]
    if total <= 1e-12:
        return out + [0.0] * (len(BANDS) + 3)
    out += [float(power[lo - 1 : hi].sum() / total) for lo, hi in BANDS]
    k = int(np.argmax(amp[1:])) + 2  # the strongest order from 2 up
    harmonics = sum(float(power[h * k - 1]) for h in (1, 2, 3) if h * k <= len(power))
    out += [float(amp[k - 1]), math.log2(k) / math.log2(BINS // 2), harmonics / total]
    return out


def _feature_slots(
    circles: np.ndarray, arcs: np.ndarray, centre: np.ndarray, gyr: float
) -> list[float]:
    feats = (
        np.concatenate([circles[:, :3], arcs[:, :3]]) if len(arcs) else circles[:, :3]
    )
    if len(feats) == 0:
        return [0.0, 0.0, 0.0]
    dist = np.hypot(feats[:, 0] - centre[0], feats[:, 1] - centre[1]) / gyr
    radius = feats[:, 2] / gyr
    concentric = dist < _CONCENTRIC
    n_arcs_c = int(concentric[len(circles) :].sum())
    n_circles_c = int(concentric[: len(circles)].sum())
    off = ~concentric
    repeat = 0
    if off.any():
        # Equal features on one ring: the same radius and the same distance.
        key = np.stack(
            [np.round(radius[off] / 0.02), np.round(dist[off] / 0.05)], axis=1
        )
        _, counts = np.unique(key, axis=0, return_counts=True)
        repeat = int(counts.max())
    return [_log_count(n_arcs_c), _log_count(n_circles_c), _log_count(repeat)]


def outline_vector(
    lines: np.ndarray, circles: np.ndarray, arcs: np.ndarray, curves: list[np.ndarray]
) -> list[float]:
    """The outline slots. ``circles``: whole circles (cx, cy, r); ``arcs``:
    (cx, cy, r, start, sweep) in radians, counter-clockwise; ``curves``: point
    arrays of SPLINEs."""
    lines = lines.reshape(-1, 4)
    circles = circles.reshape(-1, 3)
    arcs = arcs.reshape(-1, 5)
    segs = _segments(lines, circles, arcs, curves)
    posed = picture.pose(segs, np.zeros((0, 3)))
    if posed is None:
        return [0.0] * WIDTH
    _, _, centre, gyr = posed
    rel_segs = (segs - np.concatenate([centre, centre])) / gyr
    vec = _profile_slots(_profile(rel_segs)) + _feature_slots(
        circles, arcs, centre, gyr
    )
    assert len(vec) == WIDTH
    return vec
