"""Versioned, named feature vectors for drawings (``dxf-1`` to ``dxf-7``,
``dxf-3t`` and ``dxf-3th``) and meshes (``mesh-1``).

``dxf-2`` is ``dxf-1`` followed by two more views of the same drawing: a
picture (``apps.cad.picture``) and its words (``apps.cad.words``); ``dxf-3`` is
``dxf-2`` followed by the outline view (``apps.cad.outline``); ``dxf-4`` is
``dxf-3`` followed by the names view (``apps.cad.names``) and the hatch slots
(the area inside HATCH boundaries, which no other view draws); ``dxf-5`` is
``dxf-4`` followed by the size view (how large the drawing is); ``dxf-6`` is
``dxf-5`` followed by the topology view (``apps.cad.topology``: how the strokes
connect); ``dxf-7`` is ``dxf-6`` followed by the layout view
(``apps.cad.layout``: where the strokes lie and which way they run, in the
drawing's own axes). Each version's first slots are exactly the one before
it, so a model trained on an older version keeps serving drawings analysed as
a newer one (``downgrade()``). ``dxf-3t`` is ``dxf-3`` followed by the
topology view, the views a model trained on generated drawings learns from
(the generator's own words and sizes are not those of real drawings); a
``dxf-6`` or ``dxf-7`` vector reads as it by selecting its slots. ``dxf-3th``,
what the default model reads, is ``dxf-3t`` followed by the hatch slots (solid
fills and the hatched area, which tell a symbol drawn in fills from a part).

Every slot says which invariances hold: ``translation`` holds exactly for every
slot and ``scale`` (uniform) for every slot but the size view's, which measure
it; ``rotation`` is ``exact`` for slots built on rotation-invariant quantities
(distances, radii, principal axes), ``robust`` where the slot measures
something in the drawing's own frame (bounding box), which only survives
90-degree turns exactly, and ``none`` for the layout view, which measures the
drawing's orientation. Lengths are divided by the drawing's radius of
gyration, which is translation- and rotation-invariant and scales linearly, so
ratios stay put under a uniform scale. Same bytes, same vector: no
randomness, no dict-order dependence, fixed slot order.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ezdxf import path as ezpath
from ezdxf import units
from ezdxf.document import Drawing as DxfDocument
from ezdxf.math import OCS, Vec3, bulge_to_arc

from apps.cad import layout, names, outline, picture, topology, words

DXF1_FEATURE_VERSION = "dxf-1"
DXF2_FEATURE_VERSION = "dxf-2"
DXF3_FEATURE_VERSION = "dxf-3"
DXF4_FEATURE_VERSION = "dxf-4"
DXF5_FEATURE_VERSION = "dxf-5"
DXF6_FEATURE_VERSION = "dxf-6"
DXF7_FEATURE_VERSION = "dxf-7"
DXF3T_FEATURE_VERSION = "dxf-3t"
DXF3TH_FEATURE_VERSION = "dxf-3th"
# What the pipeline writes for a drawing today.
DXF_FEATURE_VERSION = DXF7_FEATURE_VERSION
MESH_FEATURE_VERSION = "mesh-1"

HIST_TYPES = (
    "LINE",
    "CIRCLE",
    "ARC",
    "LWPOLYLINE",
    "POLYLINE",
    "SPLINE",
    "ELLIPSE",
    "HATCH",
    "DIMENSION",
    "TEXT",
    "MTEXT",
    "INSERT",
    "POINT",
    "SOLID",
    "LEADER",
)
_MAX_FINITE = 1e12  # beyond this a coordinate is garbage (or an "infinite" XLINE)
_SYMMETRY_SAMPLE = 4000


@dataclass(frozen=True)
class Slot:
    name: str
    description: str
    rotation: str = "exact"  # "exact", "robust" or "none" (the layout view)
    # "exact", or "none" for the size view, which measures the drawing's scale.
    scale: str = "exact"


def _dxf_slots() -> list[Slot]:
    slots = [
        Slot(f"hist_{t.lower()}", f"Fraction of all entities that are {t}")
        for t in HIST_TYPES
    ]
    slots.append(Slot("hist_other", "Fraction of entities of any other type"))
    slots += [
        Slot("log_entities", "log(1 + number of entities, blocks expanded)"),
        Slot("log_circles", "log(1 + CIRCLE count)"),
        Slot("log_arcs", "log(1 + ARC count)"),
        Slot("circle_r_mean", "Mean circle/arc radius / radius of gyration"),
        Slot("circle_r_std", "Std of circle/arc radii / radius of gyration"),
        Slot("circle_r_min", "Smallest circle/arc radius / radius of gyration"),
        Slot("circle_r_max", "Largest circle/arc radius / radius of gyration"),
        Slot("circle_r_distinct", "log(1 + distinct radii, 1% tolerance)"),
        Slot("line_len_mean", "Mean line length / radius of gyration"),
        Slot("line_len_std", "Std of line lengths / radius of gyration"),
        Slot("line_len_max", "Longest line / radius of gyration"),
        Slot(
            "line_orthogonal_frac",
            "Length share of lines parallel or perpendicular to the dominant"
            " direction (2 degree tolerance)",
        ),
        Slot(
            "line_orient_entropy",
            "Entropy of line directions relative to the dominant one (12 bins,"
            " length-weighted, normalised to 0..1)",
        ),
        Slot("log_closed_polylines", "log(1 + closed polylines)"),
        Slot("closed_polyline_frac", "Closed polylines / all polylines"),
        Slot("log_hatches", "log(1 + HATCH count)"),
        Slot("log_dimensions", "log(1 + DIMENSION count)"),
        Slot("log_inserts", "log(1 + INSERT count)"),
        Slot("log_block_defs", "log(1 + named block definitions)"),
        Slot("log_layers", "log(1 + layers used by entities)"),
        Slot("log_texts", "log(1 + TEXT, MTEXT and ATTRIB count)"),
        Slot(
            "bbox_aspect",
            "Short / long side of the axis-aligned bounding box",
            rotation="robust",
        ),
        Slot("pca_aspect", "Minor / major principal extent of the geometry"),
        Slot("log_concentric_groups", "log(1 + groups of >= 2 concentric circles)"),
        Slot("concentric_max", "Largest concentric group size / 10"),
        Slot(
            "log_bolt_circles",
            "log(1 + hole patterns: >= 3 equal circles on a common circle)",
        ),
        Slot("bolt_holes_max", "Most holes in one pattern / 12"),
        Slot("bolt_radius", "Pitch radius of the largest pattern / radius of gyration"),
        Slot(
            "mirror_sym_major",
            "Share of geometry points mirrored across the major principal axis",
        ),
        Slot(
            "mirror_sym_minor",
            "Share of geometry points mirrored across the minor principal axis",
        ),
        Slot("point_sym", "Share of points matched by a half turn about the centroid"),
    ]
    return slots


def _mesh_slots() -> list[Slot]:
    return [
        Slot("log_vertices", "log(1 + vertices)"),
        Slot("log_faces", "log(1 + faces)"),
        Slot("watertight", "1 if the mesh is closed"),
        Slot("euler_number", "Euler characteristic / 10, clipped to [-5, 5]"),
        Slot("log_components", "log(1 + connected bodies)"),
        Slot("compactness", "36 pi V^2 / A^3 (1 for a sphere), 0 if not watertight"),
        Slot("pca_mid_major", "Middle / major principal extent"),
        Slot("pca_minor_major", "Minor / major principal extent"),
        Slot("bbox_fill", "|Volume| / oriented bounding box volume"),
        Slot("hull_fill", "|Volume| / convex hull volume"),
        Slot("area_per_gyration", "Area / radius of gyration^2, log"),
        Slot("degenerate_frac", "Share of faces with zero area"),
    ]


def _dxf2_slots() -> list[Slot]:
    return [
        *_dxf_slots(),
        # The picture's polar grid turns with the drawing, so these slots are
        # rotation-invariant only up to the grid's resolution.
        *(Slot(n, d, rotation="robust") for n, d in picture.slot_specs()),
        *(Slot(n, d) for n, d in words.slot_specs()),
    ]


def _dxf3_slots() -> list[Slot]:
    return [
        *_dxf2_slots(),
        *(Slot(n, d, rotation="robust") for n, d in outline.slot_specs()),
    ]


HATCH_SLOTS = [
    Slot("hatch_log_solid", "log(1 + solid-fill HATCH count)"),
    Slot("hatch_log_paths", "log(1 + HATCH boundary paths)"),
    Slot(
        "hatch_area",
        "log(1 + area inside HATCH boundaries / (pi * radius of gyration^2));"
        " the radius of drawn points and boundary vertices together",
    ),
    Slot("hatch_mean_area", "log(1 + mean boundary path area / gyration^2)"),
    Slot(
        "hatch_offset",
        "Distance from the centroid of every point to the area-weighted"
        " centroid of the hatched area / radius of gyration",
    ),
]


def _dxf4_slots() -> list[Slot]:
    return [
        *_dxf3_slots(),
        *(Slot(n, d) for n, d in names.slot_specs()),
        *HATCH_SLOTS,
    ]


# dxf-5's size view: how large the drawing is, in millimetres where its
# $INSUNITS says. Scale-invariant views cannot tell a 100x300 tile from a
# 300x300 one or a symbol drawn in metres from a detail in millimetres; a
# tenant's archive is drawn 1:1 in a few units, so its models learn from it.
SIZE_SLOTS = [
    Slot(
        "size_log_gyration",
        "log10 of the radius of gyration (mm when $INSUNITS names a length unit,"
        " else drawing units), at least -6; 0 without geometry",
        scale="none",
    ),
    Slot(
        "size_log_major",
        "log10 of the spread (standard deviation) along the principal major"
        " axis, same units, at least -6; 0 without geometry",
        scale="none",
    ),
    Slot(
        "size_log_minor",
        "log10 of the spread along the principal minor axis, same units, at"
        " least -6; 0 without geometry",
        scale="none",
    ),
    Slot(
        "size_units_stated",
        "1 when $INSUNITS names a length unit the sizes were converted from, else 0",
    ),
]


def _dxf5_slots() -> list[Slot]:
    return [*_dxf4_slots(), *SIZE_SLOTS]


# The snapping grid turns with the drawing: rotation-robust, not exact.
TOPOLOGY_SLOTS = [Slot(n, d, rotation="robust") for n, d in topology.slot_specs()]


def _dxf6_slots() -> list[Slot]:
    return [*_dxf5_slots(), *TOPOLOGY_SLOTS]


# The layout view measures the drawing's own axes: a turn moves it.
LAYOUT_SLOTS = [Slot(n, d, rotation="none") for n, d in layout.slot_specs()]


def _dxf7_slots() -> list[Slot]:
    return [*_dxf6_slots(), *LAYOUT_SLOTS]


def _dxf3t_slots() -> list[Slot]:
    return [*_dxf3_slots(), *TOPOLOGY_SLOTS]


def _dxf3th_slots() -> list[Slot]:
    return [*_dxf3t_slots(), *HATCH_SLOTS]


DXF_SLOTS = _dxf_slots()  # dxf-1
DXF2_SLOTS = _dxf2_slots()
DXF3_SLOTS = _dxf3_slots()
DXF4_SLOTS = _dxf4_slots()
DXF5_SLOTS = _dxf5_slots()
DXF6_SLOTS = _dxf6_slots()
DXF7_SLOTS = _dxf7_slots()
DXF3T_SLOTS = _dxf3t_slots()
DXF3TH_SLOTS = _dxf3th_slots()
MESH_SLOTS = _mesh_slots()
SLOTS = {
    DXF1_FEATURE_VERSION: DXF_SLOTS,
    DXF2_FEATURE_VERSION: DXF2_SLOTS,
    DXF3_FEATURE_VERSION: DXF3_SLOTS,
    DXF4_FEATURE_VERSION: DXF4_SLOTS,
    DXF5_FEATURE_VERSION: DXF5_SLOTS,
    DXF3T_FEATURE_VERSION: DXF3T_SLOTS,
    DXF3TH_FEATURE_VERSION: DXF3TH_SLOTS,
    DXF6_FEATURE_VERSION: DXF6_SLOTS,
    DXF7_FEATURE_VERSION: DXF7_SLOTS,
    MESH_FEATURE_VERSION: MESH_SLOTS,
}
# Views of dxf-2 to dxf-7 and dxf-3t, as slot ranges: geometry, picture, words
# (and outline; names, hatch; size; topology; layout).
DXF2_VIEWS = {
    "geometry": (0, len(DXF_SLOTS)),
    "picture": (len(DXF_SLOTS), len(DXF_SLOTS) + len(picture.slot_specs())),
    "words": (len(DXF_SLOTS) + len(picture.slot_specs()), len(DXF2_SLOTS)),
}
DXF3_VIEWS = {**DXF2_VIEWS, "outline": (len(DXF2_SLOTS), len(DXF3_SLOTS))}
DXF4_VIEWS = {
    **DXF3_VIEWS,
    "names": (len(DXF3_SLOTS), len(DXF4_SLOTS) - len(HATCH_SLOTS)),
    "hatch": (len(DXF4_SLOTS) - len(HATCH_SLOTS), len(DXF4_SLOTS)),
}
DXF5_VIEWS = {**DXF4_VIEWS, "size": (len(DXF4_SLOTS), len(DXF5_SLOTS))}
DXF6_VIEWS = {**DXF5_VIEWS, "topology": (len(DXF5_SLOTS), len(DXF6_SLOTS))}
DXF7_VIEWS = {**DXF6_VIEWS, "layout": (len(DXF6_SLOTS), len(DXF7_SLOTS))}
DXF3T_VIEWS = {**DXF3_VIEWS, "topology": (len(DXF3_SLOTS), len(DXF3T_SLOTS))}
DXF3TH_VIEWS = {**DXF3T_VIEWS, "hatch": (len(DXF3T_SLOTS), len(DXF3TH_SLOTS))}
VIEWS = {
    DXF2_FEATURE_VERSION: DXF2_VIEWS,
    DXF3_FEATURE_VERSION: DXF3_VIEWS,
    DXF4_FEATURE_VERSION: DXF4_VIEWS,
    DXF5_FEATURE_VERSION: DXF5_VIEWS,
    DXF3T_FEATURE_VERSION: DXF3T_VIEWS,
    DXF3TH_FEATURE_VERSION: DXF3TH_VIEWS,
    DXF6_FEATURE_VERSION: DXF6_VIEWS,
    DXF7_FEATURE_VERSION: DXF7_VIEWS,
}


# Oldest first. dxf-1 to dxf-7 each extend the one before; dxf-3t extends
# dxf-3 with dxf-6's last view, dxf-3th dxf-3t with dxf-4's hatch slots.
DXF_VERSIONS = (
    DXF1_FEATURE_VERSION,
    DXF2_FEATURE_VERSION,
    DXF3_FEATURE_VERSION,
    DXF4_FEATURE_VERSION,
    DXF5_FEATURE_VERSION,
    DXF3T_FEATURE_VERSION,
    DXF6_FEATURE_VERSION,
    DXF3TH_FEATURE_VERSION,
    DXF7_FEATURE_VERSION,
)


@functools.cache
def slot_indices(source: str, target: str) -> tuple[int, ...] | None:
    """Where ``target``'s slots sit in a ``source`` vector, or None when one of
    them is not there (slots are known by name across versions): a prefix for
    the dxf versions each extending the one before, a selection for dxf-3t."""
    if source not in DXF_VERSIONS or target not in DXF_VERSIONS:
        return None
    return named_indices(source, tuple(s.name for s in SLOTS[target]))


def named_indices(version: str, names: tuple[str, ...]) -> tuple[int, ...] | None:
    """Where the slots called ``names`` sit in a ``version`` vector, or None
    when one of them is not there (or the version is unknown)."""
    at = {s.name: i for i, s in enumerate(SLOTS.get(version, ()))}
    found = [at.get(name) for name in names]
    return None if None in found else tuple(i for i in found if i is not None)


def readable_as(version: str) -> tuple[str, ...]:
    """The versions a ``version`` vector can be read as (``downgrade``), its own
    first, then the newest."""
    if version not in DXF_VERSIONS:
        return (version,)
    return (version,) + tuple(
        v
        for v in reversed(DXF_VERSIONS)
        if v != version and slot_indices(version, v) is not None
    )


def served_by(version: str) -> tuple[str, ...]:
    """The versions whose stored vectors serve a model of ``version``: itself
    and every dxf version that holds its slots."""
    return tuple(v for v in SLOTS if version in readable_as(v)) or (version,)


def downgrade(vector: list[float], *, source: str, target: str) -> list[float] | None:
    """``vector`` of version ``source`` as a ``target`` vector, or None when the
    one cannot be read as the other (a dxf version reads as any earlier one,
    its prefix, and ``dxf-6`` or ``dxf-7`` as ``dxf-3t`` too)."""
    if source == target:
        return vector
    at = slot_indices(source, target)
    if at is None:
        return None
    if at == tuple(range(len(at))):
        return vector[: len(at)]
    if len(vector) != len(SLOTS[source]):
        return None  # a stored vector cut short: its slots are not where known
    return [vector[i] for i in at]


def schema() -> dict[str, Any]:
    """The slots of every feature version, in vector order."""
    from apps.cad.formats.brep import BREP_VERSIONS

    return {
        version: [
            {
                "index": i,
                "name": s.name,
                "description": s.description,
                "invariance": {
                    "translation": "exact",
                    "scale": s.scale,
                    "rotation": s.rotation,
                },
            }
            for i, s in enumerate(slots)
        ]
        for version, slots in {**SLOTS, **BREP_VERSIONS}.items()
    }


@dataclass
class Geometry:
    """World-space geometry gathered during the walk."""

    counts: dict[str, int] = field(default_factory=dict)
    points: list[tuple[float, float]] = field(default_factory=list)
    circles: list[tuple[float, float, float]] = field(default_factory=list)
    n_circles: int = 0
    n_arcs: int = 0
    spline_points: int = 0
    exploded_segments: int = 0
    lines: list[tuple[float, float, float, float]] = field(default_factory=list)
    polylines: int = 0
    closed_polylines: int = 0
    texts: int = 0
    layers: set[str] = field(default_factory=set)
    linetypes: set[str] = field(default_factory=set)
    block_names: set[str] = field(default_factory=set)
    dimstyles: set[str] = field(default_factory=set)
    hatch_patterns: list[str] = field(default_factory=list)
    # dxf-4's hatch slots: each boundary path flattened, in world space.
    hatch_paths: list[np.ndarray] = field(default_factory=list)
    hatch_vertices: int = 0
    solid_hatches: int = 0
    skipped_nonfinite: int = 0
    # For the dxf-3 outline view, which draws arcs over their sweep only and
    # splines through their points (``circles`` above holds arcs as whole circles).
    full_circles: list[tuple[float, float, float]] = field(default_factory=list)
    arcs: list[tuple[float, float, float, float, float]] = field(default_factory=list)
    curves: list[list[tuple[float, float]]] = field(default_factory=list)

    # The lists as arrays, built once for every view; read only once the walk
    # has collected everything (the vector functions).
    @functools.cached_property
    def point_array(self) -> np.ndarray:
        return np.asarray(self.points, dtype=float).reshape(-1, 2)

    @functools.cached_property
    def circle_array(self) -> np.ndarray:
        return np.asarray(self.circles, dtype=float).reshape(-1, 3)

    @functools.cached_property
    def line_array(self) -> np.ndarray:
        return np.asarray(self.lines, dtype=float).reshape(-1, 4)

    @functools.cached_property
    def full_circle_array(self) -> np.ndarray:
        return np.asarray(self.full_circles, dtype=float).reshape(-1, 3)

    @functools.cached_property
    def arc_array(self) -> np.ndarray:
        return np.asarray(self.arcs, dtype=float).reshape(-1, 5)

    @functools.cached_property
    def curve_arrays(self) -> list[np.ndarray]:
        return [np.asarray(c, dtype=float) for c in self.curves]

    def extent(self) -> list[float] | None:
        """``[xmin, ymin, xmax, ymax]`` of what is drawn: segments and curves,
        each circle's rim and each arc over its sweep (not their centres,
        which lie off an arc and inside a circle). A drawing of points alone:
        their extent; of nothing: None."""
        boxes = [self.line_array[:, :2], self.line_array[:, 2:], *self.curve_arrays]
        c = self.full_circle_array
        boxes += [c[:, :2] - c[:, 2:], c[:, :2] + c[:, 2:]]
        if len(self.arc_array):
            cx, cy, r, a0, sweep = self.arc_array.T
            # The ends, and each axis point (0, 90, 180, 270 degrees) the
            # sweep passes.
            for at in (a0, a0 + sweep):
                boxes.append(np.c_[cx + r * np.cos(at), cy + r * np.sin(at)])
            for k in range(4):
                axis = k * np.pi / 2
                passes = (axis - a0) % (2 * np.pi) <= sweep
                boxes.append(
                    np.c_[cx + r * np.cos(axis), cy + r * np.sin(axis)][passes]
                )
        drawn = np.concatenate([b.reshape(-1, 2) for b in boxes])
        if not len(drawn):
            drawn = self.point_array
        if not len(drawn):
            return None
        return [*map(float, drawn.min(axis=0)), *map(float, drawn.max(axis=0))]

    @functools.cached_property
    def distinct(self) -> tuple[np.ndarray, np.ndarray]:
        """The segments and circles, each drawn once (``picture.distinct``);
        an arc is its sweep, cut into chords, not its whole circle."""
        lines = self.line_array
        chords = _arc_chords(self.arc_array)
        if len(chords):
            lines = np.vstack([lines, chords])
        spans = [np.hstack([c[:-1], c[1:]]) for c in self.curve_arrays if len(c) >= 2]
        if spans:
            lines = np.vstack([lines, *spans])
        return picture.distinct(lines, self.full_circle_array)

    @functools.cached_property
    def posed(self) -> picture.Posed | None:
        """The picture's length-weighted samples, read by the picture and the
        layout views."""
        return picture.pose(*self.distinct, already_distinct=True)

    @functools.cached_property
    def gyration(self) -> float:
        """Radius of gyration of the geometry: point masses plus, for each
        circle, its own second moment r^2 (so a lone circle still has a
        size); 0 without geometry."""
        pts, circles = self.point_array, self.circle_array
        if not len(pts):
            return 0.0
        sq = ((pts - pts.mean(axis=0)) ** 2).sum(axis=1)
        extra = (circles[:, 2] ** 2).sum() / len(pts) if len(circles) else 0.0
        gyr = float(math.sqrt(sq.mean() + extra))
        return gyr if gyr > 0 and math.isfinite(gyr) else 0.0


_ARC_STEPS = 32  # chords a whole turn; fewer for a shorter sweep
# A drawing's chords at most (about): with more arcs each gets fewer, down to
# two, so a file of 400,000 arcs does not build millions of segments.
_MAX_ARC_CHORDS = 200_000


def _arc_chords(arcs: np.ndarray) -> np.ndarray:
    """(x0, y0, x1, y1) chords along each arc (cx, cy, r, a0, sweep)."""
    if not len(arcs):
        return np.zeros((0, 4))
    turn = min(_ARC_STEPS, max(2, _MAX_ARC_CHORDS // len(arcs)))
    # A half or quarter circle's sweep comes a rounding error either side of
    # its exact value depending on how the file wrote it; it must not gain a
    # chord (and move the picture) for that.
    share = arcs[:, 4] / (2 * math.pi) * turn
    steps = np.clip(np.ceil(share - 1e-6), 2, turn)
    steps = steps.astype(int)
    owner = np.repeat(np.arange(len(arcs)), steps)
    first = np.cumsum(steps) - steps
    k = np.arange(len(owner)) - first[owner]
    a = arcs[owner]
    t0 = a[:, 3] + a[:, 4] * k / steps[owner]
    t1 = a[:, 3] + a[:, 4] * (k + 1) / steps[owner]
    return np.column_stack(
        [
            a[:, 0] + a[:, 2] * np.cos(t0),
            a[:, 1] + a[:, 2] * np.sin(t0),
            a[:, 0] + a[:, 2] * np.cos(t1),
            a[:, 1] + a[:, 2] * np.sin(t1),
        ]
    )


def _finite(*values: float) -> bool:
    return all(math.isfinite(v) and abs(v) < _MAX_FINITE for v in values)


def collect(visits: Any, geo: Geometry) -> Any:
    """Gather geometry from ``walk()`` visits; yields each visit on for others."""
    counts = geo.counts
    points = geo.points
    for visit in visits:
        e = visit.entity
        t = e.dxftype()
        counts[t] = counts.get(t, 0) + 1
        m = visit.matrix
        try:
            geo.layers.add(e.dxf.get("layer", "0"))
            linetype = e.dxf.get("linetype")
            if linetype:
                geo.linetypes.add(linetype)
            if t == "LINE":
                _add_segment(geo, e.dxf.start, e.dxf.end, m)
            elif t in ("CIRCLE", "ARC"):
                _add_round(geo, e, t == "CIRCLE", m)
            elif t == "LWPOLYLINE":
                geo.polylines += 1
                if e.closed:
                    geo.closed_polylines += 1
                if _is_plain(e, [p[4] for p in e.get_points("xyseb")]):
                    _add_path(geo, _polyline_points(e), e.closed, m)
                else:
                    _add_exploded(geo, e, m)
            elif t == "POLYLINE":
                if e.is_2d_polyline or e.is_3d_polyline:
                    geo.polylines += 1
                    if e.is_closed:
                        geo.closed_polylines += 1
                    if e.is_3d_polyline or _is_plain(
                        e, [v.dxf.get("bulge", 0.0) for v in e.vertices]
                    ):
                        _add_path(geo, _polyline_points(e), e.is_closed, m)
                    else:
                        _add_exploded(geo, e, m)
            elif t in ("TEXT", "MTEXT"):
                geo.texts += 1
            elif t == "INSERT":
                geo.texts += len(e.attribs)
                geo.block_names.add(e.dxf.get("name", ""))
            elif t == "DIMENSION":
                geo.dimstyles.add(e.dxf.get("dimstyle", ""))
            elif t == "HATCH":
                geo.hatch_patterns.append(e.dxf.get("pattern_name", ""))
                geo.solid_hatches += bool(e.dxf.get("solid_fill", 0))
                _add_hatch(geo, e, m)
            elif t == "POINT":
                p = e.dxf.location
                if m is not None:
                    p = m.transform(p)
                if _finite(p.x, p.y):
                    points.append((p.x, p.y))
            elif t == "ELLIPSE":
                _add_ellipse(geo, e, m)
            elif t == "SPLINE":
                _add_curve(geo, _spline_points(geo, e), m)
        except (ValueError, TypeError, AttributeError, ArithmeticError, IndexError):
            # A malformed entity (missing group codes the reader let through)
            # must not sink the whole analysis; it still counts in the histogram.
            geo.skipped_nonfinite += 1
        yield visit
    _join_split_circles(geo)


def _join_split_circles(geo: Geometry) -> None:
    """ARCs on one centre and radius that cover the whole turn between them
    are one circle: CAD exports often write a hole as two or four ARCs, which
    are then counted, matched into bolt circles and closed like a CIRCLE. A
    hole drawn twice over (twice the turn) is two circles, as two CIRCLEs
    would be."""
    if not geo.arcs:
        return
    joined: set[int] = set()
    # Each ARC added its centre to the points and its (centre, radius) to the
    # circles; a circle adds them once, so the other members' entries go.
    extra_points: Counter[tuple[float, float]] = Counter()
    extra_circles: Counter[tuple[float, float, float]] = Counter()
    for members in _on_one_circle(geo.arcs):
        if not _covers_the_turn([geo.arcs[i] for i in members]):
            continue
        turns = sum(geo.arcs[i][4] for i in members) / (2 * math.pi)
        copies = max(1, min(len(members), math.floor(turns + 1e-6)))
        circle = tuple(geo.arcs[members[0]][:3])
        geo.full_circles.extend([circle] * copies)  # type: ignore[list-item]
        geo.n_circles += copies
        geo.n_arcs -= len(members)
        joined.update(members)
        for i in members[copies:]:
            cx, cy, r = geo.arcs[i][:3]
            extra_points[(cx, cy)] += 1
            extra_circles[(cx, cy, r)] += 1
    if not joined:
        return
    geo.arcs = [a for i, a in enumerate(geo.arcs) if i not in joined]
    geo.points = _without(geo.points, extra_points)
    geo.circles = _without(geo.circles, extra_circles)


# Arcs whose centres and radii agree to this share of the radius lie on one
# circle: exports round coordinates (to 3 to 6 decimals) and bulges, and each
# piece's centre is computed anew from its rounded ends.
_SAME_CIRCLE = 1e-3


def _on_one_circle(
    arcs: list[tuple[float, float, float, float, float]],
) -> list[list[int]]:
    """The arcs' indexes grouped by the circle they lie on (``_SAME_CIRCLE``),
    found through cells of that size: the radius on a log scale, so that arcs
    about one centre at other radii (a washer's rim and bore) stay apart, and
    each arc compared with those of its neighbouring cells, so that two
    pieces rounded to either side of a cell's edge still meet. A cell keeps
    only arcs that met none of its others: a file of a million pieces of one
    circle costs a million lookups, not a million squared."""
    step = math.log1p(_SAME_CIRCLE)
    parent = list(range(len(arcs)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def cell(cx: float, cy: float, kr: int) -> tuple[int, int, int]:
        size = _SAME_CIRCLE * math.exp(kr * step)
        return kr, round(cx / size), round(cy / size)

    cells: dict[tuple[int, int, int], list[int]] = {}
    for i, (cx, cy, r, _a0, _sweep) in enumerate(arcs):
        kr = round(math.log(r) / step)
        own = cell(cx, cy, kr)
        met_own = False
        for k in (kr - 1, kr, kr + 1):
            _, gx, gy = cell(cx, cy, k)
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    key = (k, gx + dx, gy + dy)
                    for j in cells.get(key, ()):
                        ox, oy, other = arcs[j][:3]
                        near = _SAME_CIRCLE * max(r, other)
                        if (
                            abs(other - r) <= near
                            and math.hypot(ox - cx, oy - cy) <= near
                        ):
                            parent[root(i)] = root(j)
                            met_own = met_own or key == own
        if not met_own:
            cells.setdefault(own, []).append(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(arcs)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def _without(items: list[Any], extra: Counter[Any]) -> list[Any]:
    """``items`` less ``extra[x]`` occurrences of each x, order kept."""
    kept = []
    for item in items:
        if extra[item] > 0:
            extra[item] -= 1
        else:
            kept.append(item)
    return kept


def _covers_the_turn(arcs: list[tuple[float, float, float, float, float]]) -> bool:
    """Whether the arcs' sweeps (start, sweep in radians) cover all 2 pi."""
    spans = sorted((a0 % (2 * math.pi), sweep) for *_c, a0, sweep in arcs)
    reach = spans[0][0]
    start = reach
    for a0, sweep in spans:
        if a0 > reach + _SAME_CIRCLE:
            return False
        reach = max(reach, a0 + sweep)
    return reach >= start + 2 * math.pi - _SAME_CIRCLE


def _add_round(geo: Geometry, e: Any, whole: bool, m: Any) -> None:
    """A CIRCLE (``whole``) or an ARC entity."""
    c = e.dxf.center
    if e.dxf.hasattr("extrusion"):
        c = e.ocs().to_wcs(c)
    ends = None if whole else (e.start_point, e.end_point)
    mirrored = e.dxf.get("extrusion", Vec3(0, 0, 1)).z < 0
    _add_circle(geo, c, float(e.dxf.radius), m, ends, mirrored)


def _add_circle(
    geo: Geometry,
    c: Vec3,
    r: float,
    m: Any,
    ends: tuple[Vec3, Vec3] | None = None,
    mirrored: bool = False,
) -> None:
    """A circle, or with ``ends`` (start and end point) an arc, centre and
    ends in world space before the block transform ``m``; ``mirrored`` when
    its plane is turned over (it then runs clockwise as seen)."""
    if m is not None and not _keeps_circles(m):
        _add_stretched(geo, c, r, m, ends, mirrored)
        return
    if m is not None:
        c = m.transform(c)
        r *= m.transform_direction(Vec3(1, 0, 0)).magnitude
    if not (_finite(c.x, c.y, r) and r > 0):
        geo.skipped_nonfinite += 1
        return
    geo.circles.append((c.x, c.y, r))
    geo.points.append((c.x, c.y))
    if ends is None:
        geo.n_circles += 1
        geo.full_circles.append((c.x, c.y, r))
    else:
        geo.n_arcs += 1
        _add_arc(geo, ends, c, r, mirrored, m)


def _keeps_circles(m: Any) -> bool:
    """Whether the block transform ``m`` draws a circle as a circle: the same
    scale along both axes of the drawing's plane, at right angles."""
    ux = m.transform_direction(Vec3(1, 0, 0))
    uy = m.transform_direction(Vec3(0, 1, 0))
    lx, ly = ux.magnitude, uy.magnitude
    return (
        math.isclose(lx, ly, rel_tol=_SAME_CIRCLE)
        and abs(ux.x * uy.x + ux.y * uy.y) <= _SAME_CIRCLE * lx * ly
    )


def _add_stretched(
    geo: Geometry,
    c: Vec3,
    r: float,
    m: Any,
    ends: tuple[Vec3, Vec3] | None,
    mirrored: bool,
) -> None:
    """A circle or arc through a block inserted with unequal x and y scales
    (or sheared): an ellipse or elliptic arc as drawn, read as an ELLIPSE is
    (points over its sweep), not a circle at the x scale."""
    if not _finite(c.x, c.y, r) or not r > 0:
        geo.skipped_nonfinite += 1
        return
    a0, sweep = 0.0, 2 * math.pi
    if ends is not None:
        start, end = ends
        if mirrored:  # it runs clockwise from start to end as seen
            start, end = end, start
        a0 = math.atan2(start.y - c.y, start.x - c.x)
        a1 = math.atan2(end.y - c.y, end.x - c.x)
        sweep = (a1 - a0) % (2 * math.pi) or 2 * math.pi
    _add_elliptic(
        geo,
        c,
        a0,
        sweep,
        lambda turns: [
            Vec3(c.x + r * math.cos(t), c.y + r * math.sin(t), c.z) for t in turns
        ],
        m,
    )


_SPLINE_STEPS = 4  # points on the curve a control point, 8 to 256 a spline
_MAX_SPLINE_POINTS = 200_000  # a drawing's, splines and ellipses together


def _spline_points(geo: Geometry, e: Any) -> list[Any]:
    """Points on a SPLINE's curve. Most CAD tools save a spline by its control
    points, which lie off the curve; read as a polyline they drew its control
    polygon. Past the drawing's budget, its fit or control points."""
    given = e.fit_points if e.fit_point_count() else e.control_points
    steps = min(max(_SPLINE_STEPS * len(given), 8), 256)
    if geo.spline_points + steps <= _MAX_SPLINE_POINTS:
        try:
            on_curve = list(e.construction_tool().approximate(segments=steps))
        except (ValueError, ZeroDivisionError, ArithmeticError, IndexError):
            on_curve = []
        if on_curve:
            geo.spline_points += len(on_curve)
            return on_curve
    return list(given)


_ELLIPSE_STEPS = 32  # points a whole turn


def _add_ellipse(geo: Geometry, e: Any, m: Any) -> None:
    """An ELLIPSE as the curve it draws (points over its sweep), like a
    SPLINE: the outline, topology and picture see its shape, not its centre."""
    start = float(e.dxf.start_param)
    end = float(e.dxf.end_param)
    if not _finite(start, end):
        geo.skipped_nonfinite += 1
        return
    sweep = (end - start) % (2 * math.pi) or 2 * math.pi
    radius = Vec3(e.dxf.major_axis).magnitude
    if abs(float(e.dxf.ratio) - 1.0) <= _SAME_CIRCLE and radius > 0:
        # As round as a circle, it is one (or an arc): Illustrator, Inkscape
        # and some CAD views write circles as ellipses.
        whole = sweep >= 2 * math.pi - _SAME_CIRCLE
        ends = None
        if not whole:
            p0, p1 = e.construction_tool().vertices([start, end])
            ends = (Vec3(p0), Vec3(p1))
        mirrored = Vec3(e.dxf.get("extrusion", (0, 0, 1))).z < 0
        _add_circle(geo, Vec3(e.dxf.center), radius, m, ends, mirrored)
        return
    _add_elliptic(
        geo, Vec3(e.dxf.center), start, sweep, e.construction_tool().vertices, m
    )


def _add_elliptic(
    geo: Geometry,
    centre: Vec3,
    start: float,
    sweep: float,
    points_at: Callable[[list[float]], Any],
    m: Any,
) -> None:
    """An ellipse or elliptic arc from ``start`` over ``sweep`` (radians of
    its parameter) as points along it (``points_at(params)``, before the block
    transform ``m``): 33 a whole turn. Past the drawing's budget for curve
    points, its centre."""
    steps = max(2, math.ceil(sweep / (2 * math.pi) * _ELLIPSE_STEPS))
    if geo.spline_points + steps > _MAX_SPLINE_POINTS:
        c = centre if m is None else m.transform(centre)
        if _finite(c.x, c.y):
            geo.points.append((c.x, c.y))
        return
    geo.spline_points += steps + 1
    params = [start + sweep * k / steps for k in range(steps + 1)]
    _add_curve(geo, points_at(params), m)


def _add_curve(geo: Geometry, pts: Any, m: Any) -> None:
    """Points along a SPLINE or ELLIPSE, in world space: drawn points, and a
    curve for the views that follow its strokes."""
    curve = []
    for p in pts:
        p = Vec3(p)
        if m is not None:
            p = m.transform(p)
        if _finite(p.x, p.y):
            geo.points.append((p.x, p.y))
            curve.append((p.x, p.y))
    if len(curve) >= 2:
        geo.curves.append(curve)


def _is_plain(e: Any, bulges: list[float]) -> bool:
    """A polyline of straight segments in the drawing's own plane: read as its
    points. Any other (arc segments, a mirrored or tilted plane) is read as
    the LINEs and ARCs it explodes into."""
    if any(abs(b) >= _STRAIGHT_BULGE for b in bulges):
        return False
    extrusion = e.dxf.get("extrusion", None)
    return extrusion is None or Vec3(extrusion).isclose(Vec3(0, 0, 1))


_MAX_EXPLODED_SEGMENTS = 10_000  # a polyline's
# A drawing's: reading arcs from bulges costs about twice reading the points,
# so past this many segments polylines are read as their points.
_MAX_EXPLODED_PER_DRAWING = 100_000
# A bulge (the tangent of a quarter of the arc's angle) this small is a
# straight segment as drawn (under a quarter of a degree): exporters leave
# such rounding noise on straight edges, and read as arcs they are circles of
# huge radius that swamp the drawing's circle statistics and size.
_STRAIGHT_BULGE = 1e-3
_STRAIGHT_SWEEP = 4 * math.degrees(math.atan(_STRAIGHT_BULGE))


def _add_exploded(geo: Geometry, e: Any, m: Any) -> None:
    """A polyline with arc segments (bulges) read as what it draws, the same
    as its exploded LINEs and ARCs: a hole drawn as a closed two-vertex
    polyline with two half-circle bulges (as many CAM and laser-cut exports
    write it) is one circle, not a line across it (``_join_split_circles``).
    The arcs are computed from the bulges here: making ezdxf's virtual
    entities for them cost several times as much."""
    if geo.exploded_segments >= _MAX_EXPLODED_PER_DRAWING:
        _add_path(geo, _polyline_points(e), e.is_closed, m)
        return
    if e.dxftype() == "LWPOLYLINE":
        points = e.get_points("xyb")
        elevation = float(e.dxf.elevation)
    else:
        points = [(v.dxf.location.x, v.dxf.location.y, v.dxf.bulge) for v in e.vertices]
        elevation = Vec3(e.dxf.get("elevation", (0, 0, 0))).z
    if len(points) < 2:
        return
    if e.is_closed:
        points.append(points[0])
    extrusion = e.dxf.get("extrusion", None)
    ocs = OCS(extrusion) if extrusion is not None else None
    mirrored = ocs is not None and Vec3(extrusion).z < 0

    def wcs(x: float, y: float) -> Vec3:
        p = Vec3(x, y, elevation)
        return p if ocs is None else ocs.to_wcs(p)

    pieces = 0
    for (x0, y0, bulge), (x1, y1, _) in zip(points, points[1:], strict=False):
        if pieces > _MAX_EXPLODED_SEGMENTS:
            break
        if bulge == 0.0:
            pieces += 1
            _add_segment(geo, wcs(x0, y0), wcs(x1, y1), m)
            continue
        centre, a0, a1, r = bulge_to_arc((x0, y0), (x1, y1), bulge)
        if not r > 0:
            continue
        pieces += 1
        start = wcs(centre.x + r * math.cos(a0), centre.y + r * math.sin(a0))
        end = wcs(centre.x + r * math.cos(a1), centre.y + r * math.sin(a1))
        if math.degrees((a1 - a0) % (2 * math.pi)) >= _STRAIGHT_SWEEP:
            _add_circle(geo, wcs(centre.x, centre.y), r, m, (start, end), mirrored)
        else:
            _add_segment(geo, start, end, m)
    geo.exploded_segments += pieces


def _add_segment(geo: Geometry, s: Vec3, en: Vec3, m: Any) -> None:
    if m is not None:
        s, en = m.transform(s), m.transform(en)
    if _finite(s.x, s.y, en.x, en.y):
        geo.lines.append((s.x, s.y, en.x, en.y))
        geo.points.append((s.x, s.y))
        geo.points.append((en.x, en.y))
    else:
        geo.skipped_nonfinite += 1


def _polyline_points(e: Any) -> list[Vec3]:
    """An LWPOLYLINE's or POLYLINE's vertices as stored (no arc segments)."""
    if e.dxftype() == "LWPOLYLINE":
        return [Vec3(p[0], p[1]) for p in e.get_points("xy")]
    return [Vec3(v.dxf.location) for v in e.vertices]


def _add_arc(
    geo: Geometry, ends: tuple[Vec3, Vec3], c: Vec3, r: float, mirrored: bool, m: Any
) -> None:
    # The arc's ends in world space give its start and sweep whatever block
    # transform (or mirrored extrusion) it came through.
    start, end = ends
    if m is not None:
        start, end = m.transform(start), m.transform(end)
    a0 = math.atan2(start.y - c.y, start.x - c.x)
    a1 = math.atan2(end.y - c.y, end.x - c.x)
    if m is not None:
        ux, uy = (
            m.transform_direction(Vec3(1, 0, 0)),
            m.transform_direction(Vec3(0, 1, 0)),
        )
        mirrored ^= ux.x * uy.y - ux.y * uy.x < 0
    if mirrored:
        a0, a1 = a1, a0
    sweep = (a1 - a0) % (2 * math.pi)
    if sweep < 1e-9:  # its ends meet: an ARC over the whole turn (0 to 360)
        sweep = 2 * math.pi
    if _finite(a0, sweep):
        geo.arcs.append((c.x, c.y, r, a0, sweep))


_MAX_HATCH_PATHS = 500
_MAX_HATCH_VERTICES = 100_000
_HATCH_SEGMENTS = 64  # flattening tolerance: a path's size over this


def _add_hatch(geo: Geometry, e: Any, m: Any) -> None:
    for boundary in ezpath.from_hatch(e):
        if (
            len(geo.hatch_paths) >= _MAX_HATCH_PATHS
            or geo.hatch_vertices >= _MAX_HATCH_VERTICES
        ):
            return
        if m is not None:
            boundary = boundary.transform(m)
        ctrl = np.asarray([(v.x, v.y) for v in boundary.control_vertices()])
        if len(ctrl) < 3 or not (np.abs(ctrl) < _MAX_FINITE).all():
            continue
        size = float(np.ptp(ctrl, axis=0).max())
        if not 0 < size < _MAX_FINITE:
            continue
        flat = np.asarray(
            [(v.x, v.y) for v in boundary.flattening(size / _HATCH_SEGMENTS)]
        )
        if len(flat) >= 3:
            geo.hatch_paths.append(flat[:4096])
            geo.hatch_vertices += len(geo.hatch_paths[-1])


def _add_path(geo: Geometry, pts: list[Vec3], closed: bool, m: Any) -> None:
    if m is not None:
        pts = list(m.transform_vertices(pts))
    pts = [p for p in pts if _finite(p.x, p.y)]
    for p in pts:
        geo.points.append((p.x, p.y))
    seq = pts + [pts[0]] if closed and pts else pts
    for a, b in zip(seq, seq[1:], strict=False):
        geo.lines.append((a.x, a.y, b.x, b.y))


def _log(n: float) -> float:
    return math.log1p(max(n, 0))


def _stats(values: np.ndarray) -> tuple[float, float, float, float]:
    if values.size == 0:
        return 0.0, 0.0, 0.0, 0.0
    return (
        float(values.mean()),
        float(values.std()),
        float(values.min()),
        float(values.max()),
    )


def _symmetry(pts: np.ndarray, tol: float) -> tuple[float, float, float, float]:
    """pca_aspect plus mirror/point symmetry shares, all rotation-invariant."""
    if len(pts) < 3 or tol <= 0:
        return 0.0, 0.0, 0.0, 0.0
    centred = pts - pts.mean(axis=0)
    cov = centred.T @ centred / len(centred)
    evals, evecs = np.linalg.eigh(cov)
    major, minor = evecs[:, 1], evecs[:, 0]
    pca_aspect = float(math.sqrt(max(evals[0], 0) / evals[1])) if evals[1] > 0 else 0.0
    # Principal frame coordinates; the sign of an eigenvector is arbitrary, but a
    # mirror or half-turn test does not depend on it.
    u = centred @ major
    v = centred @ minor
    if len(u) > _SYMMETRY_SAMPLE:
        # A fixed stride (not random) keeps the vector deterministic.
        step = len(u) // _SYMMETRY_SAMPLE + 1
        u_s, v_s = u[::step], v[::step]
    else:
        u_s, v_s = u, v
    grid = (np.round(u / tol), np.round(v / tol))
    su, sv = np.round(u_s / tol), np.round(v_s / tol)
    across_major = _near_share(grid, (su, -sv))
    across_minor = _near_share(grid, (-su, sv))
    half_turn = _near_share(grid, (-su, -sv))
    return pca_aspect, across_major, across_minor, half_turn


def _near_share(
    grid: tuple[np.ndarray, np.ndarray], query: tuple[np.ndarray, np.ndarray]
) -> float:
    """The share of ``query`` cells (integer-valued float arrays) with a
    ``grid`` cell among their nine neighbours."""
    (ga, gb), (qa, qb) = grid, query
    reach = max(float(np.abs(a).max()) for a in (ga, gb, qa, qb)) + 2
    if reach >= 2**30:
        # Cells this far out (a stray point a million drawings away) would
        # overflow the packed keys below; Python ints have no limit.
        cells = {
            (int(a), int(b)) for a, b in zip(ga.tolist(), gb.tolist(), strict=True)
        }
        hits = sum(
            any(
                (int(a) + da, int(b) + db) in cells
                for da in (-1, 0, 1)
                for db in (-1, 0, 1)
            )
            for a, b in zip(qa.tolist(), qb.tolist(), strict=True)
        )
        return hits / len(qa)
    r = int(reach)
    width = 2 * r + 1
    keys = np.unique((ga.astype(np.int64) + r) * width + (gb.astype(np.int64) + r))
    qa, qb = qa.astype(np.int64) + r, qb.astype(np.int64) + r
    hit = np.zeros(len(qa), dtype=bool)
    for da in (-1, 0, 1):
        for db in (-1, 0, 1):
            probe = (qa + da) * width + (qb + db)
            at = np.minimum(np.searchsorted(keys, probe), len(keys) - 1)
            hit |= keys[at] == probe
    return float(hit.mean())


def _patterns(circles: np.ndarray, tol: float) -> tuple[int, int, int, int, float]:
    """Concentric groups and bolt circles from (x, y, r) rows."""
    if len(circles) == 0 or tol <= 0:
        return 0, 0, 0, 0, 0.0
    keys: dict[tuple[int, int], list[float]] = {}
    for x, y, r in circles:
        keys.setdefault((int(round(x / tol)), int(round(y / tol))), []).append(r)
    groups = [rs for rs in keys.values() if len({round(r / tol) for r in rs}) >= 2]
    concentric = len(groups)
    concentric_max = max((len({round(r / tol) for r in g}) for g in groups), default=0)
    # Bolt circles: equal-radius holes whose centres are equidistant from the
    # centre of the pattern (their centroid, or a concentric circle's centre).
    by_radius: dict[int, list[tuple[float, float]]] = {}
    for x, y, r in circles:
        by_radius.setdefault(int(round(r / (tol * 2))), []).append((x, y))
    bolt, bolt_max, bolt_r = 0, 0, 0.0
    for centres in by_radius.values():
        uniq = np.unique(np.round(np.asarray(centres) / tol), axis=0) * tol
        if len(uniq) < 3:
            continue
        c = uniq.mean(axis=0)
        d = np.hypot(*(uniq - c).T)
        if d.mean() > tol * 2 and d.std() < max(tol, 0.02 * d.mean()):
            bolt += 1
            if len(uniq) > bolt_max:
                bolt_max, bolt_r = len(uniq), float(d.mean())
    return concentric, concentric_max, bolt, bolt_max, bolt_r


def dxf_vector(doc: DxfDocument, geo: Geometry, n_entities: int) -> list[float]:
    counts = geo.counts
    total = max(n_entities, 1)
    vec: list[float] = [counts.get(t, 0) / total for t in HIST_TYPES]
    vec.append(max(0.0, 1.0 - sum(vec)))

    pts, circles, lines = geo.point_array, geo.circle_array, geo.line_array
    scale = geo.gyration
    inv = 1.0 / scale if scale else 0.0

    radii = circles[:, 2] * inv if len(circles) else np.zeros(0)
    r_mean, r_std, r_min, r_max = _stats(radii)
    distinct = (
        len(np.unique(np.round(np.log(radii) / 0.01))) if radii.size and inv else 0
    )
    vec += [_log(n_entities), _log(geo.n_circles), _log(geo.n_arcs)]
    vec += [r_mean, r_std, r_min, r_max]
    vec.append(_log(distinct))

    if len(lines):
        dx, dy = lines[:, 2] - lines[:, 0], lines[:, 3] - lines[:, 1]
        lengths = np.hypot(dx, dy)
        l_mean, l_std, _, l_max = _stats(lengths * inv)
        keep = lengths > 0
        w, theta = lengths[keep], np.arctan2(dy[keep], dx[keep])
        if w.sum() > 0:
            # Dominant direction modulo 90 degrees from the weighted mean of 4*theta.
            dom = math.atan2(
                (w * np.sin(4 * theta)).sum(), (w * np.cos(4 * theta)).sum()
            )
            rel = np.mod(theta - dom / 4, math.pi)
            off = np.minimum(
                np.mod(rel, math.pi / 2), math.pi / 2 - np.mod(rel, math.pi / 2)
            )
            ortho = float(w[off < math.radians(2)].sum() / w.sum())
            # Bins centred on multiples of 15 degrees so that the dominant
            # direction never sits on a bin edge (rotation would flip it).
            bins = np.floor(np.mod(rel + math.pi / 24, math.pi) / (math.pi / 12))
            hist = np.bincount(bins.astype(int).clip(0, 11), weights=w, minlength=12)
            p = hist[hist > 0] / hist.sum()
            entropy = float(-(p * np.log(p)).sum() / math.log(12))
        else:
            ortho, entropy = 0.0, 0.0
    else:
        l_mean = l_std = l_max = ortho = entropy = 0.0
    vec += [l_mean, l_std, l_max, ortho, entropy]

    vec += [
        _log(geo.closed_polylines),
        geo.closed_polylines / geo.polylines if geo.polylines else 0.0,
        _log(counts.get("HATCH", 0)),
        _log(counts.get("DIMENSION", 0)),
        _log(counts.get("INSERT", 0)),
        _log(sum(1 for b in doc.blocks if not b.name.startswith("*"))),
        _log(len(geo.layers)),
        _log(geo.texts),
    ]

    if len(pts):
        ext = pts.max(axis=0) - pts.min(axis=0)
        bbox_aspect = float(ext.min() / ext.max()) if ext.max() > 0 else 0.0
    else:
        bbox_aspect = 0.0
    tol = scale * 1e-3
    pca_aspect, sym_major, sym_minor, sym_point = _symmetry(pts, tol)
    conc, conc_max, bolt, bolt_max, bolt_r = _patterns(circles, tol)
    vec += [
        bbox_aspect,
        pca_aspect,
        _log(conc),
        conc_max / 10,
        _log(bolt),
        bolt_max / 12,
        bolt_r * inv,
        sym_major,
        sym_minor,
        sym_point,
    ]
    assert len(vec) == len(DXF_SLOTS)
    return [round(float(x), 6) for x in vec]


def dxf3_vector(
    doc: DxfDocument, geo: Geometry, n_entities: int, texts: list[str]
) -> list[float]:
    """dxf-1, then the picture, words and outline views (``texts``: the
    drawing's text items in walk order); its prefixes are dxf-2 and dxf-1."""
    vec = dxf_vector(doc, geo, n_entities)
    vec += picture.picture_slots(geo.posed)
    names = [
        *texts[: words.MAX_TEXTS],
        *sorted(geo.layers),
        *sorted(n for n in geo.block_names if not n.startswith("*")),
        *sorted(geo.linetypes),
        *sorted(geo.dimstyles),
    ]
    vec += words.words_vector(names)
    assert len(vec) == len(DXF2_SLOTS)
    vec += outline.outline_vector(
        geo.line_array, geo.full_circle_array, geo.arc_array, geo.curve_arrays
    )
    assert len(vec) == len(DXF3_SLOTS)
    # Every slot is computed from finite inputs; the guard keeps a stored
    # vector free of NaN whatever an edge case slips through.
    return [round(float(x), 6) if math.isfinite(x) else 0.0 for x in vec]


def dxf7_vector(
    doc: DxfDocument,
    geo: Geometry,
    n_entities: int,
    texts: list[str],
    tags: list[str],
) -> list[float]:
    """dxf-3, then the names view (``tags``: the attribute tags of the
    drawing's ATTDEF and ATTRIB items) and the hatch slots, which end dxf-4,
    then the size view, which ends dxf-5, then the topology view, which ends
    dxf-6, then the layout view; its prefixes are dxf-6 to dxf-1."""
    vec = dxf3_vector(doc, geo, n_entities, texts)
    vec += names.names_vector(
        {
            "text": texts[: words.MAX_TEXTS],
            "tag": tags[: words.MAX_TEXTS],
            "layer": sorted(geo.layers),
            "block": sorted(n for n in geo.block_names if not n.startswith("*")),
            "linetype": sorted(geo.linetypes),
            "dimstyle": sorted(geo.dimstyles),
            "hatch": geo.hatch_patterns[: words.MAX_TEXTS],
        }
    )
    vec += _hatch_slots(geo)
    assert len(vec) == len(DXF4_SLOTS)
    vec += _size_slots(doc, geo)
    assert len(vec) == len(DXF5_SLOTS)
    vec += topology.topology_vector(
        geo.line_array,
        geo.full_circle_array,
        geo.arc_array,
        geo.curve_arrays,
        geo.gyration,
    )
    assert len(vec) == len(DXF6_SLOTS)
    vec += layout.layout_vector(*geo.distinct, geo.posed)
    assert len(vec) == len(DXF7_SLOTS)
    return [round(float(x), 6) if math.isfinite(x) else 0.0 for x in vec]


_SIZE_FLOOR = 1e-6


def _size_slots(doc: DxfDocument, geo: Geometry) -> list[float]:
    try:
        code = int(doc.header.get("$INSUNITS", 0))
        # 0 is unitless; ezdxf's table also answers some out-of-range codes.
        to_mm = (
            float(
                units.conversion_factor(
                    units.InsertUnits(code), units.InsertUnits.Millimeters
                )
            )
            if 0 < code <= 20
            else 0.0
        )
    except (ValueError, TypeError, IndexError):
        to_mm = 0.0  # a unit ezdxf does not convert, or not a number
    stated = 1.0 if math.isfinite(to_mm) and to_mm > 0 else 0.0
    factor = to_mm if stated else 1.0
    pts = geo.point_array
    if not len(pts):
        return [0.0] * (len(SIZE_SLOTS) - 1) + [stated]
    circles = geo.circle_array
    centred = pts - pts.mean(axis=0)
    cov = centred.T @ centred / len(pts)
    # A circle adds its own second moment, r^2/2 along every axis, as it adds
    # r^2 to the radius of gyration of the geometry slots.
    if len(circles):
        cov += np.eye(2) * (circles[:, 2] ** 2).sum() / (2 * len(pts))
    minor, major = np.linalg.eigvalsh(cov)

    def log_mm(length: float) -> float:
        length *= factor
        return math.log10(max(length, _SIZE_FLOOR)) if math.isfinite(length) else 0.0

    return [
        log_mm(math.sqrt(max(float(major + minor), 0.0))),
        log_mm(math.sqrt(max(float(major), 0.0))),
        log_mm(math.sqrt(max(float(minor), 0.0))),
        stated,
    ]


def _hatch_slots(geo: Geometry) -> list[float]:
    solid = math.log1p(geo.solid_hatches)
    paths = geo.hatch_paths
    if not paths:
        return [solid, 0.0, 0.0, 0.0, 0.0]
    every = np.vstack([geo.point_array, *paths])
    centre = every.mean(axis=0)
    gyr2 = float(((every - centre) ** 2).sum(axis=1).mean())
    areas = np.asarray([_polygon_area(p) for p in paths])
    if not gyr2 > 0 or not math.isfinite(gyr2):
        return [solid, math.log1p(len(paths)), 0.0, 0.0, 0.0]
    centres = np.asarray([p.mean(axis=0) for p in paths])
    total = float(areas.sum())
    hatched = (centres * areas[:, None]).sum(axis=0) / total if total > 0 else centre
    return [
        solid,
        math.log1p(len(paths)),
        math.log1p(total / (math.pi * gyr2)),
        math.log1p(float(areas.mean()) / gyr2),
        float(np.linalg.norm(hatched - centre)) / math.sqrt(gyr2),
    ]


def _polygon_area(p: np.ndarray) -> float:
    x, y = p[:, 0] - p[:, 0].mean(), p[:, 1] - p[:, 1].mean()
    return abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2


def mesh_vector(mesh: Any) -> list[float]:
    verts = np.asarray(mesh.vertices, dtype=float)
    centred = verts - verts.mean(axis=0) if len(verts) else verts
    gyr = float(np.sqrt((centred**2).sum(axis=1).mean())) if len(verts) else 0.0
    if len(verts) >= 3:
        evals = np.sort(np.linalg.eigvalsh(centred.T @ centred / len(centred)))
        major = evals[2] if evals[2] > 0 else 1.0
        mid_major = float(math.sqrt(max(evals[1], 0) / major))
        minor_major = float(math.sqrt(max(evals[0], 0) / major))
    else:
        mid_major = minor_major = 0.0
    area = float(mesh.area)
    watertight = bool(mesh.is_watertight)
    volume = abs(float(mesh.volume)) if watertight else 0.0
    compact = 36 * math.pi * volume**2 / area**3 if area > 0 and watertight else 0.0
    try:
        obb = float(mesh.bounding_box_oriented.volume)
        hull = float(mesh.convex_hull.volume)
    except Exception:  # noqa: BLE001 - qhull refuses flat or degenerate input
        obb = hull = 0.0
    areas = np.asarray(mesh.area_faces)
    vec = [
        _log(len(mesh.vertices)),
        _log(len(mesh.faces)),
        1.0 if watertight else 0.0,
        max(-5.0, min(5.0, mesh.euler_number / 10)),
        _log(len(mesh.split(only_watertight=False)))
        if len(mesh.faces) < 200_000
        else 0.0,
        min(compact, 1.0),
        mid_major,
        minor_major,
        volume / obb if obb > 0 else 0.0,
        volume / hull if hull > 0 else 0.0,
        math.log1p(area / gyr**2) if gyr > 0 else 0.0,
        float((areas <= 1e-12 * max(area, 1e-300)).mean()) if len(areas) else 0.0,
    ]
    assert len(vec) == len(MESH_SLOTS)
    return [round(float(x), 6) if math.isfinite(x) else 0.0 for x in vec]
