"""STEP and IGES: boundary-representation solids read through OpenCascade.

One module for the format family: detection by content (``is_step``,
``is_iges``), reading (``load``), the ``brep-2`` (and ``brep-1``) feature vector
and the absolute ``solid`` measures (``analyze``), and the hidden-line isometric
preview (``hlr_svg``). Runs inside the isolation worker like the DXF reader;
OpenCascade is imported on first use so that the web process, which only
detects formats, never loads it, and the formats run in a pool of their own.

Lengths are normalised by the solid's radius of gyration (from the inertia
tensor: translation- and rotation-invariant, linear in scale), so every slot but
the axis-aligned bounding box ratios is exactly invariant under translation,
rotation and uniform scale.

``brep-2`` is ``brep-1``'s first 34 slots (the B-rep measures) followed by
measures of the exact solid (its oriented box, the second moments of its
volume, closed shells, inner loops) where ``brep-1`` has the ``mesh-1`` slots
of a tessellation. Tessellating and measuring a mesh is the costliest part of
an analysis, so only ``brep-1`` (``analyze(..., version="brep-1")``, kept for
models trained on it) pays for it.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from apps.cad import dimensions, titleblock
from apps.cad.errors import ResourceLimitExceeded, UnreadableFile
from apps.cad.features import MESH_SLOTS, Slot, mesh_vector
from apps.cad.formats import xcaf
from apps.cad.formats.base import HEAD, Format, Stopwatch
from apps.cad.preview import placeholder

BREP1_FEATURE_VERSION = "brep-1"
BREP2_FEATURE_VERSION = "brep-2"
# The newest version, what ``analyze`` computes unless asked for another; the
# pipeline stores CADML_BREP_FEATURE_VERSION (brep-2 unless a deployment whose
# models still read brep-1 says so).
BREP_FEATURE_VERSION = BREP2_FEATURE_VERSION
# Reading is linear in faces but the validity check, tessellation and HLR are
# not; past this many faces a file is refused before the kernel sees it.
MAX_BREP_FACES = 100_000
SURFACE_TYPES = ("plane", "cylinder", "cone", "sphere", "torus", "bspline", "other")
_INCH_UNIT = re.compile(rb"CONVERSION_BASED_UNIT\s*\(\s*'(INCH|FOOT)'", re.I)
_SI_PREFIX = re.compile(rb"SI_UNIT\s*\(\s*(?:\.(\w+)\.|\$)\s*,\s*\.METRE\.", re.I)
_STEP_PRODUCT = re.compile(
    rb"=\s*PRODUCT\s*\(\s*'((?:[^']|'')*)'\s*,\s*'((?:[^']|'')*)'\s*,\s*'((?:[^']|'')*)'",
    re.I,
)
_STEP_FACE = re.compile(rb"=\s*(?:ADVANCED_FACE|FACE_SURFACE)\s*\(", re.I)
# IGES global section parameter 14: model-space unit flag.
_IGES_UNITS = {
    1: "inch",
    2: "mm",
    3: "other",
    4: "foot",
    5: "mile",
    6: "m",
    7: "km",
    8: "mil",
    9: "micron",
    10: "cm",
    11: "microinch",
}
_MAX_PARTS = 200
_MAX_TEXT = 200
# Exporters put comments (/* ... */) before the header too; the reader takes them.
_STEP_HEADER = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:/\*.*?\*/\s*)*ISO-10303-21\s*;", re.S
)
_IGES_SEQ = re.compile(rb"^[SG][ 0]*[1-9]\d*$")


def is_step(content: bytes) -> bool:
    return _STEP_HEADER.match(content[:HEAD]) is not None


def is_iges(content: bytes) -> bool:
    # IGES is 80-column card images: column 73 names the section (S start,
    # G global, ...) and columns 74-80 number the card within it. The start
    # section comes first and its first card is number 1.
    lines = content[:HEAD].split(b"\n")[:4]
    if len(lines) < 2:
        return False
    cards = [ln.rstrip(b"\r") for ln in lines[:-1]]
    first = cards[0][72:80]
    if first[:1] != b"S" or first[1:].lstrip(b" 0") != b"1":
        return False
    return all(len(c) == 80 and _IGES_SEQ.match(c[72:80]) for c in cards)


def _solid_slots() -> list[Slot]:
    """The slots both versions share (0-33), in order."""
    return [
        Slot("log_faces", "log1p of the number of faces"),
        *(
            Slot(f"face_frac_{t}", f"Share of faces whose surface is a {t}")
            for t in SURFACE_TYPES
        ),
        *(
            Slot(f"area_frac_{t}", f"Share of the surface area on {t} faces")
            for t in SURFACE_TYPES
        ),
        Slot("log_edges", "log1p of the number of distinct edges"),
        Slot("log_vertices", "log1p of the number of distinct vertices"),
        Slot("log_shells", "log1p of the number of shells"),
        Slot("log_solids", "log1p of the number of solids"),
        Slot("volume_rel", "Volume / radius of gyration cubed"),
        Slot("area_rel", "Surface area / radius of gyration squared"),
        Slot("sphericity", "pi^(1/3) (6V)^(2/3) / A: 1 for a sphere, less otherwise"),
        Slot(
            "bbox_mid_ratio",
            "Axis-aligned box: middle / largest extent (the file's own frame)",
            rotation="robust",
        ),
        Slot(
            "bbox_min_ratio",
            "Axis-aligned box: smallest / largest extent (the file's own frame)",
            rotation="robust",
        ),
        Slot("obb_mid_ratio", "Oriented box: middle / largest extent"),
        Slot("obb_min_ratio", "Oriented box: smallest / largest extent"),
        Slot("inertia_min_ratio", "Smallest / largest principal moment of inertia"),
        Slot("inertia_mid_ratio", "Middle / largest principal moment of inertia"),
        Slot("log_holes", "log1p of inner (concave) cylindrical faces"),
        Slot("hole_dia_mean", "Mean hole diameter / radius of gyration"),
        Slot("hole_dia_min", "Smallest hole diameter / radius of gyration"),
        Slot("hole_dia_max", "Largest hole diameter / radius of gyration"),
        Slot("log_genus", "log1p of the genus (through-holes) from Euler's formula"),
        Slot("thin_wall", "2V/A (wall thickness of a plate) / radius of gyration"),
    ]


def _brep1_slots() -> list[Slot]:
    return _solid_slots() + [
        Slot(f"mesh_{m.name}", f"Tessellated solid: {m.description}", m.rotation)
        for m in MESH_SLOTS
    ]


def _brep2_slots() -> list[Slot]:
    return _solid_slots() + [
        Slot("obb_fill", "Volume / oriented box volume (the box of slots 24-25)"),
        Slot(
            "gyration_mid_major",
            "Solid's middle / major principal extent: sqrt of the ratio of its "
            "volume's second moments about the centroid",
        ),
        Slot(
            "gyration_minor_major",
            "Solid's minor / major principal extent: sqrt of the ratio of its "
            "volume's second moments about the centroid",
        ),
        Slot("closed", "1 if every shell is closed (no free edges), else 0"),
        Slot(
            "log_inner_loops",
            "log1p of the faces' inner boundary loops (openings in faces)",
        ),
    ]


BREP_SLOTS = _brep1_slots()  # brep-1
BREP2_SLOTS = _brep2_slots()
BREP_VERSIONS = {BREP1_FEATURE_VERSION: BREP_SLOTS, BREP2_FEATURE_VERSION: BREP2_SLOTS}


@dataclass
class LoadedBrep:
    shape: Any
    fmt: str
    units: str
    products: list[dict[str, str]] = field(default_factory=list)
    # From the XCAF reader, for STEP files with an assembly or PMI: the placed
    # products holding geometry, and the semantic PMI.
    leaves: list[xcaf.Leaf] | None = None
    pmi: dict[str, list[dict[str, Any]]] | None = None


def occ_quiet() -> None:
    # The readers print transfer statistics to stdout: noise in the workers' logs.
    from OCP.Message import Message, Message_Gravity

    printers = Message.DefaultMessenger_s().Printers()
    for i in range(1, printers.Length() + 1):
        printers.Value(i).SetTraceLevel(Message_Gravity.Message_Fail)


def _step_units(content: bytes) -> str:
    head = content[: 4 * 1024 * 1024]
    if m := _INCH_UNIT.search(head):
        return m.group(1).decode().lower()
    if m := _SI_PREFIX.search(head):
        prefix = (m.group(1) or b"").decode().upper()
        return {"MILLI": "mm", "CENTI": "cm", "MICRO": "micron", "KILO": "km"}.get(
            prefix, "m"
        )
    return "mm"


def _iges_units(content: bytes) -> str:
    lines = content[:200_000].splitlines()
    glob = "".join(
        ln[:72].decode("latin-1") for ln in lines if len(ln) >= 73 and ln[72:73] == b"G"
    )
    if not glob:
        return "mm"
    pdelim, rdelim = ",", ";"
    if glob.startswith("1H"):
        pdelim = glob[2]
    params = _split_iges(glob, pdelim, rdelim)
    try:
        return _IGES_UNITS.get(int(float(params[13])), "mm")
    except (IndexError, ValueError):
        return "mm"


def _split_iges(text: str, pdelim: str, rdelim: str) -> list[str]:
    """Split a global section, skipping Hollerith strings (nHxxx)."""
    out: list[str] = []
    i, cur = 0, ""
    while i < len(text):
        m = re.match(r"(\d+)H", text[i:])
        if m and not cur.strip():
            n = int(m.group(1))
            start = i + len(m.group(0))
            cur = text[start : start + n]
            i = start + n
            continue
        ch = text[i]
        if ch in (pdelim, rdelim):
            out.append(cur)
            cur = ""
            if ch == rdelim:
                break
        else:
            cur += ch
        i += 1
    return out


def _check_iges_pointers(content: bytes) -> None:
    """Refuse directory entries that point outside the parameter section: the
    kernel skips them silently and would analyse what is left of the part."""
    lines = [ln.rstrip(b"\r") for ln in content.split(b"\n")]
    directory = [ln for ln in lines if ln[72:73] == b"D"]
    n_params = sum(1 for ln in lines if ln[72:73] == b"P")
    for i in range(0, len(directory) - 1, 2):
        try:
            start = int(directory[i][8:16])
            count = int(directory[i + 1][24:32])
        except ValueError:
            raise UnreadableFile(
                f"IGES directory entry {i + 1} has no numeric parameter pointer."
            ) from None
        if start < 1 or count < 1 or start + count - 1 > n_params:
            raise UnreadableFile(
                f"IGES directory entry {i + 1} points to parameter lines "
                f"{start}-{start + count - 1}, but the file has {n_params}: "
                "the file is truncated or its pointers are broken."
            )


def _unquote(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace").replace("''", "'")
    # ISO 10303-21 encodes non-ASCII as \X2\hhhh...\X0\ and \X\hh.
    text = re.sub(
        r"\\X2\\((?:[0-9A-Fa-f]{4})+)\\X0\\",
        lambda m: bytes.fromhex(m.group(1)).decode("utf-16-be", errors="replace"),
        text,
    )
    return re.sub(r"\\X\\([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), text)


def _step_products(content: bytes) -> list[dict[str, str]]:
    out = []
    for m in _STEP_PRODUCT.finditer(content):
        out.append(
            {
                "id": _unquote(m.group(1)),
                "name": _unquote(m.group(2)),
                "description": _unquote(m.group(3)),
            }
        )
        if len(out) >= _MAX_PARTS:
            break
    return out


def load(content: bytes, fmt: str) -> LoadedBrep:
    """Read a STEP or IGES file into one shape (lengths in mm); 422 if unreadable."""
    if fmt == "step" and len(_STEP_FACE.findall(content)) > MAX_BREP_FACES:
        raise ResourceLimitExceeded(
            f"The model has more than {MAX_BREP_FACES} faces; simplify it or "
            "split the assembly."
        )
    occ_quiet()
    from OCP.IFSelect import IFSelect_ReturnStatus

    if fmt == "step":
        from OCP.STEPControl import STEPControl_Reader

        reader: Any = STEPControl_Reader()
        units, products, suffix = _step_units(content), _step_products(content), ".stp"
    else:
        from OCP.IGESControl import IGESControl_Reader

        _check_iges_pointers(content)
        reader = IGESControl_Reader()
        units, products, suffix = _iges_units(content), [], ".igs"
    product: xcaf.Product | None = None
    fd, path = tempfile.mkstemp(suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        if fmt == "step" and xcaf.wanted(content):
            try:
                status, product = xcaf.read(path)
            except Exception as exc:  # noqa: BLE001 - the kernel raises its own types
                raise _unbuildable(fmt, exc) from exc
        else:
            status = reader.ReadFile(path)
    finally:
        os.unlink(path)
    if status != IFSelect_ReturnStatus.IFSelect_RetDone:
        raise UnreadableFile(
            f"The {fmt.upper()} file could not be parsed (the reader answered "
            f"{status.name}): it is truncated or not valid {fmt.upper()} data."
        )
    if product is not None:
        shape = product.shape
    else:
        try:
            reader.TransferRoots()
            shape = reader.OneShape()
        except Exception as exc:  # noqa: BLE001 - the kernel raises its own types
            raise _unbuildable(fmt, exc) from exc
    n_faces = 0 if shape is None or shape.IsNull() else _count(shape, "FACE")
    if n_faces == 0:
        raise UnreadableFile(
            f"The {fmt.upper()} file holds no surfaces or solids to analyse."
        )
    if n_faces > MAX_BREP_FACES:
        raise ResourceLimitExceeded(
            f"The model has more than {MAX_BREP_FACES} faces; simplify it or "
            "split the assembly."
        )
    _check_valid(shape, fmt)
    return LoadedBrep(
        shape=shape,
        fmt=fmt,
        units=units,
        products=products,
        leaves=product.leaves if product else None,
        pmi=product.pmi if product else None,
    )


def _unbuildable(fmt: str, exc: Exception) -> UnreadableFile:
    return UnreadableFile(
        f"The {fmt.upper()} file's shapes could not be built: {exc}"[:300]
    )


def _check_valid(shape: Any, fmt: str) -> None:
    from OCP.BRepCheck import BRepCheck_Analyzer
    from OCP.TopAbs import TopAbs_FACE, TopAbs_SOLID
    from OCP.TopExp import TopExp_Explorer

    if BRepCheck_Analyzer(shape).IsValid():
        return
    # Say which: the first solid (or else face) the checker rejects.
    for kind, label in ((TopAbs_SOLID, "solid"), (TopAbs_FACE, "face")):
        exp = TopExp_Explorer(shape, kind)
        i = 0
        while exp.More():
            i += 1
            if not BRepCheck_Analyzer(exp.Current()).IsValid():
                raise UnreadableFile(
                    f"The {fmt.upper()} model fails OpenCascade's validity check "
                    f"at {label} {i} (of the file's {_count(shape, label.upper())} "
                    f"{label}s): its geometry and topology disagree."
                )
            exp.Next()
    raise UnreadableFile(
        f"The {fmt.upper()} model fails OpenCascade's validity check (edges or "
        "vertices whose geometry and topology disagree)."
    )


def _count(shape: Any, kind: str) -> int:
    """Distinct sub-shapes of ``kind``: a shared edge counts once, as in the
    model's topology, though the explorer meets it from both faces."""
    from OCP import TopAbs
    from OCP.TopExp import TopExp_Explorer

    exp = TopExp_Explorer(shape, getattr(TopAbs, f"TopAbs_{kind}"))
    # TopoDS hashes follow IsSame(): orientation does not matter.
    seen: set[int] = set()
    while exp.More():
        seen.add(hash(exp.Current()))
        exp.Next()
    return len(seen)


def _surface_kind(adaptor: Any) -> str:
    from OCP.GeomAbs import GeomAbs_SurfaceType as T

    return {
        T.GeomAbs_Plane: "plane",
        T.GeomAbs_Cylinder: "cylinder",
        T.GeomAbs_Cone: "cone",
        T.GeomAbs_Sphere: "sphere",
        T.GeomAbs_Torus: "torus",
        T.GeomAbs_BSplineSurface: "bspline",
        T.GeomAbs_BezierSurface: "bspline",
    }.get(adaptor.GetType(), "other")


@dataclass
class _Faces:
    by_type: dict[str, int]
    area_by_type: dict[str, float]
    hole_diameters: list[float]
    wires: int
    # Every face's area in the explorer's order, shared faces again each time:
    # the sum is the whole shape's surface area, summed as the kernel sums it.
    area: float
    # Each distinct face (by hash) with its surface type and area, for the parts.
    table: dict[int, tuple[str, float]]


def _faces(shape: Any) -> _Faces:
    from OCP.BRepAdaptor import BRepAdaptor_Surface
    from OCP.BRepGProp import BRepGProp, BRepGProp_Face
    from OCP.gp import gp_Pnt, gp_Vec
    from OCP.GProp import GProp_GProps
    from OCP.TopAbs import TopAbs_FACE, TopAbs_WIRE
    from OCP.TopExp import TopExp_Explorer
    from OCP.TopoDS import TopoDS

    by_type = dict.fromkeys(SURFACE_TYPES, 0)
    area_by_type = dict.fromkeys(SURFACE_TYPES, 0.0)
    holes: list[float] = []
    wires = 0
    total = 0.0
    exp = TopExp_Explorer(shape, TopAbs_FACE)
    seen: dict[int, tuple[str, float]] = {}
    while exp.More():
        face = TopoDS.Face(exp.Current())
        exp.Next()
        key = hash(face)
        if key in seen:
            total += seen[key][1]
            continue
        ad = BRepAdaptor_Surface(face)
        kind = _surface_kind(ad)
        by_type[kind] += 1
        props = GProp_GProps()
        BRepGProp.SurfaceProperties_s(face, props)
        face_area = props.Mass()
        seen[key] = (kind, face_area)
        total += face_area
        area_by_type[kind] += face_area
        w = TopExp_Explorer(face, TopAbs_WIRE)
        while w.More():
            wires += 1
            w.Next()
        if kind == "cylinder":
            cyl = ad.Cylinder()
            u = (ad.FirstUParameter() + ad.LastUParameter()) / 2
            v = (ad.FirstVParameter() + ad.LastVParameter()) / 2
            p, n = gp_Pnt(), gp_Vec()
            # BRepGProp_Face's normal follows the face's orientation: pointing
            # out of the material. Towards the axis means a hole, not a boss.
            BRepGProp_Face(face).Normal(u, v, p, n)
            axis = cyl.Axis()
            o, d = axis.Location(), gp_Vec(axis.Direction())
            op = gp_Vec(o, p)
            radial = op - d * op.Dot(d)
            if radial.Magnitude() > 0 and radial.Dot(n) < 0:
                holes.append(2 * cyl.Radius())
    return _Faces(by_type, area_by_type, holes, wires, total, seen)


def _part_faces(
    solid: Any, table: dict[int, tuple[str, float]]
) -> tuple[dict[str, int], float]:
    """Faces by surface type and surface area of one solid, looked up in the
    whole shape's face table (measured only when a face is not in it)."""
    from OCP.BRepAdaptor import BRepAdaptor_Surface
    from OCP.BRepGProp import BRepGProp
    from OCP.GProp import GProp_GProps
    from OCP.TopAbs import TopAbs_FACE
    from OCP.TopExp import TopExp_Explorer
    from OCP.TopoDS import TopoDS

    by_type: dict[str, int] = {}
    area = 0.0
    counted: set[int] = set()
    exp = TopExp_Explorer(solid, TopAbs_FACE)
    while exp.More():
        face = TopoDS.Face(exp.Current())
        exp.Next()
        key = hash(face)
        if key not in table:
            props = GProp_GProps()
            BRepGProp.SurfaceProperties_s(face, props)
            table[key] = (_surface_kind(BRepAdaptor_Surface(face)), props.Mass())
        kind, face_area = table[key]
        area += face_area
        if key not in counted:
            counted.add(key)
            by_type[kind] = by_type.get(kind, 0) + 1
    return by_type, area


def _placement(shape: Any) -> list[list[float]]:
    t = shape.Location().Transformation()
    return [[round(t.Value(r, c), 9) for c in range(1, 5)] for r in range(1, 4)]


def _volume(shape: Any) -> Any:
    from OCP.BRepGProp import BRepGProp
    from OCP.GProp import GProp_GProps

    vol = GProp_GProps()
    BRepGProp.VolumeProperties_s(shape, vol)
    return vol


def _bnd_box(shape: Any, tori: bool = True) -> Any:
    """The exact (optimal) axis-aligned box of ``shape``, as
    ``BRepBndLib.AddOptimal`` computes it.

    The kernel boxes a torus face by sampling it and refining each extreme
    numerically, the slowest face type by far. A whole torus (the face is the
    surface's natural restriction) has a box in closed form: along a unit
    world axis e, centre +- (R sqrt(1 - (a.e)^2) + r), a the torus axis; the
    kernel's box is that, enlarged by its confusion tolerance. So with
    ``tori`` (the shape may hold torus faces) the faces are boxed one by one,
    whole tori in closed form; the union is the shape's box when every edge
    and vertex lies on a face, as the kernel's is."""
    from OCP.Bnd import Bnd_Box
    from OCP.BRepBndLib import BRepBndLib
    from OCP.TopAbs import TopAbs_EDGE, TopAbs_FACE, TopAbs_VERTEX
    from OCP.TopExp import TopExp_Explorer
    from OCP.TopoDS import TopoDS

    box = Bnd_Box()
    if not tori or any(
        TopExp_Explorer(shape, kind, parent).More()
        for kind, parent in ((TopAbs_EDGE, TopAbs_FACE), (TopAbs_VERTEX, TopAbs_EDGE))
    ):
        BRepBndLib.AddOptimal_s(shape, box, False, False)
        return box
    exp = TopExp_Explorer(shape, TopAbs_FACE)
    while exp.More():
        face = TopoDS.Face(exp.Current())
        exp.Next()
        whole = _whole_torus_box(face)
        if whole is None:
            BRepBndLib.AddOptimal_s(face, box, False, False)
        else:
            box.Update(*whole)
    return box


def _whole_torus_box(face: Any) -> tuple[float, ...] | None:
    """(xmin, ymin, zmin, xmax, ymax, zmax) of a face that is a whole ring
    torus, else None."""
    from OCP.BRepAdaptor import BRepAdaptor_Surface
    from OCP.BRepTools import BRepTools
    from OCP.GeomAbs import GeomAbs_SurfaceType
    from OCP.Precision import Precision
    from OCP.TopAbs import TopAbs_EDGE, TopAbs_WIRE
    from OCP.TopExp import TopExp_Explorer

    ad = BRepAdaptor_Surface(face, False)
    if ad.GetType() != GeomAbs_SurfaceType.GeomAbs_Torus:
        return None
    torus = ad.Torus()
    big, small = torus.MajorRadius(), torus.MinorRadius()
    if not big > small > 0 or not (ad.IsUPeriodic() and ad.IsVPeriodic()):
        return None
    # The natural boundary: one wire of the two seams, each met twice.
    wires = TopExp_Explorer(face, TopAbs_WIRE)
    wires.Next()
    edges, n_edges = TopExp_Explorer(face, TopAbs_EDGE), 0
    while edges.More():
        n_edges += 1
        edges.Next()
    umin, umax, vmin, vmax = BRepTools.UVBounds_s(face)
    tol = Precision.PConfusion_s()
    if (
        wires.More()
        or n_edges != 4
        or umax - umin < ad.UPeriod() - tol
        or vmax - vmin < ad.VPeriod() - tol
    ):
        return None
    # The kernel's enlargement of a sampled surface's box (tolerance 0).
    eps = Precision.Confusion_s()
    centre = torus.Location().Coord()
    axis = torus.Axis().Direction().Coord()
    half = [big * math.sqrt(max(0.0, 1 - a * a)) + small + eps for a in axis]
    return (
        *(c - h for c, h in zip(centre, half, strict=True)),
        *(c + h for c, h in zip(centre, half, strict=True)),
    )


def _box_coords(box: Any) -> list[float]:
    lo, hi = box.CornerMin(), box.CornerMax()
    return [round(v, 6) for v in (lo.X(), lo.Y(), lo.Z(), hi.X(), hi.Y(), hi.Z())]


def _bbox(shape: Any) -> list[float]:
    return _box_coords(_bnd_box(shape))


def _solids(shape: Any, limit: int) -> list[Any]:
    from OCP.TopAbs import TopAbs_SOLID
    from OCP.TopExp import TopExp_Explorer

    solids: list[Any] = []
    exp = TopExp_Explorer(shape, TopAbs_SOLID)
    while exp.More() and len(solids) < limit:
        solids.append(exp.Current())
        exp.Next()
    return solids


def _all_in_solids(shape: Any) -> bool:
    """True when every face, edge and vertex belongs to a solid: the shape's
    box is then exactly the union of its solids' boxes."""
    from OCP.TopAbs import TopAbs_EDGE, TopAbs_FACE, TopAbs_SOLID, TopAbs_VERTEX
    from OCP.TopExp import TopExp_Explorer

    return not any(
        TopExp_Explorer(shape, kind, TopAbs_SOLID).More()
        for kind in (TopAbs_FACE, TopAbs_EDGE, TopAbs_VERTEX)
    )


def _obb_extents(
    shape: Any, inertia: Any, whole: Any, *, principal: bool, tori: bool
) -> list[float]:
    """Sorted extents of OpenCascade's optimal oriented box (``Bnd_OBB``).

    On a shape with a face that is not planar the kernel boxes the shape
    exactly (optimal axis-aligned box) in the frame of its principal axes of
    inertia, the world frame when those axes are already the world's. With
    ``principal`` (every face, edge and vertex in a closed solid, so that the
    kernel's inertia is ``inertia``) that is done here with the inertia and
    the world box ``whole`` already measured: the kernel would measure them
    again, and more slowly. Otherwise the kernel's own box."""
    from OCP.Bnd import Bnd_OBB
    from OCP.BRepBndLib import BRepBndLib
    from OCP.gp import gp_Ax3, gp_Dir, gp_Trsf
    from OCP.Precision import Precision
    from OCP.TopLoc import TopLoc_Location

    if not principal:
        obb = Bnd_OBB()
        # Optimal (not PCA-only) so that a turned part gets the same box.
        BRepBndLib.AddOBB_s(shape, obb, False, True, False)
        return sorted([2 * obb.XHSize(), 2 * obb.YHSize(), 2 * obb.ZHSize()])
    axes = inertia.PrincipalProperties()
    first, second = axes.FirstAxisOfInertia(), axes.SecondAxisOfInertia()
    tol = Precision.Angular_s() ** 2

    def along_world_axis(d: Any) -> bool:
        x, y, z = d.X() ** 2, d.Y() ** 2, d.Z() ** 2
        return bool(min(x + y, x + z, y + z) < tol)

    box = whole
    if not (along_world_axis(first) and along_world_axis(second)):
        frame = gp_Ax3(
            inertia.CentreOfMass(),
            gp_Dir(axes.ThirdAxisOfInertia()),
            gp_Dir(first),
        )
        trsf = gp_Trsf()
        trsf.SetTransformation(frame)
        box = _bnd_box(shape.Moved(TopLoc_Location(trsf)), tori)
    lo, hi = box.CornerMin(), box.CornerMax()
    return sorted([hi.X() - lo.X(), hi.Y() - lo.Y(), hi.Z() - lo.Z()])


def _shells_closed(shape: Any) -> bool:
    """True when the shape has shells and none has a free edge."""
    from OCP.BRep import BRep_Tool
    from OCP.TopAbs import TopAbs_SHELL
    from OCP.TopExp import TopExp_Explorer

    exp = TopExp_Explorer(shape, TopAbs_SHELL)
    if not exp.More():
        return False
    while exp.More():
        if not BRep_Tool.IsClosed_s(exp.Current()):
            return False
        exp.Next()
    return True


def _tessellate(shape: Any, size: float) -> Any:
    """A triangle mesh of the shape (``trimesh.Trimesh``) for the mesh slots."""
    import trimesh
    from OCP.BRep import BRep_Tool
    from OCP.BRepMesh import BRepMesh_IncrementalMesh
    from OCP.IMeshTools import IMeshTools_Parameters
    from OCP.TopAbs import TopAbs_FACE, TopAbs_Orientation
    from OCP.TopExp import TopExp_Explorer
    from OCP.TopLoc import TopLoc_Location
    from OCP.TopoDS import TopoDS

    # Deflection relative to the part's size keeps the mesh (and so the mesh
    # slots) the same under uniform scale. No vertices inside planar faces
    # and no surface-deflection refinement: the mesh slots need the shape,
    # not a fine mesh, and a plate with many holes meshes several times faster.
    params = IMeshTools_Parameters()
    params.Deflection = max(size, 1e-9) * 0.05
    params.Angle = 0.6
    params.Relative = False
    params.InParallel = False
    params.ControlSurfaceDeflection = False
    params.InternalVerticesMode = False
    BRepMesh_IncrementalMesh(shape, params)
    verts: list[tuple[float, float, float]] = []
    tris: list[np.ndarray] = []
    exp = TopExp_Explorer(shape, TopAbs_FACE)
    while exp.More():
        face = TopoDS.Face(exp.Current())
        exp.Next()
        loc = TopLoc_Location()
        tri = BRep_Tool.Triangulation_s(face, loc)
        if tri is None:
            continue
        base = len(verts)
        nodes = [tri.Node(i) for i in range(1, tri.NbNodes() + 1)]
        if not loc.IsIdentity():
            trsf = loc.Transformation()
            nodes = [p.Transformed(trsf) for p in nodes]
        verts.extend(p.Coord() for p in nodes)
        idx = np.array(
            [tri.Triangle(i).Get() for i in range(1, tri.NbTriangles() + 1)],
            dtype=np.int64,
        ).reshape(-1, 3)
        if face.Orientation() == TopAbs_Orientation.TopAbs_REVERSED:
            idx = idx[:, [0, 2, 1]]
        tris.append(idx + (base - 1))
    return trimesh.Trimesh(
        vertices=np.array(verts, dtype=float).reshape(-1, 3),
        faces=np.concatenate(tris) if tris else np.zeros((0, 3), dtype=np.int64),
        process=True,
    )


def _log(n: float) -> float:
    return math.log1p(max(n, 0))


def analyze(loaded: LoadedBrep, version: str = BREP_FEATURE_VERSION) -> dict[str, Any]:
    """Features (of ``version``), the ``solid`` measures, parts and text of a
    loaded model."""
    if version not in BREP_VERSIONS:
        raise ValueError(f"unknown B-rep feature version {version!r}")
    shape = loaded.shape
    n_faces = _count(shape, "FACE")
    n_edges = _count(shape, "EDGE")
    n_vertices = _count(shape, "VERTEX")
    n_shells = _count(shape, "SHELL")
    n_solids = _count(shape, "SOLID")
    faces = _faces(shape)
    vprops = _volume(shape)
    volume, area = abs(vprops.Mass()), faces.area
    moments = sorted(abs(m) for m in vprops.PrincipalProperties().Moments())
    # trace(I) = 2 * integral of r^2 dm, with unit density.
    rg = math.sqrt(sum(moments) / (2 * volume)) if volume > 0 else 0.0
    if rg <= 0:
        # A model of surfaces only (no closed solid): size from the area.
        rg = math.sqrt(area) if area > 0 else 1.0
    placed, n_placed = _placed_solids(loaded, n_solids)
    solids = [p.solid for p in placed]
    in_solids = _all_in_solids(shape)
    closed = _shells_closed(shape)
    tori = faces.by_type["torus"] > 0
    # The exact (optimal) box is costly on curved faces: for an assembly, box
    # each solid once (the parts need it) and take the whole as their union.
    boxes = None
    if 1 < len(solids) <= _MAX_PARTS and in_solids and n_placed == n_solids:
        from OCP.Bnd import Bnd_Box

        boxes = [_bnd_box(s, tori) for s in solids]
        whole = Bnd_Box()
        for b in boxes:
            whole.Add(b)
    else:
        whole = _bnd_box(shape, tori)
    bbox = _box_coords(whole)
    ext = sorted(bbox[i + 3] - bbox[i] for i in range(3))
    curved = any(faces.by_type[t] for t in ("cylinder", "cone", "sphere", "torus"))
    obb = _obb_extents(
        shape,
        vprops,
        whole,
        principal=curved and in_solids and closed and n_solids > 0,
        tori=tori,
    )
    # Euler-Poincare for B-reps with inner loops: V - E + 2F - L = 2(S - G).
    euler = n_vertices - n_edges + 2 * n_faces - faces.wires
    genus = max(0, n_shells - euler // 2) if n_solids else 0
    holes = faces.hole_diameters
    hd = np.array(holes, dtype=float) / rg if holes else np.zeros(1)

    def ratio(a: float, b: float) -> float:
        return a / b if b > 0 else 0.0

    vector = [
        _log(n_faces),
        *(ratio(faces.by_type[t], n_faces) for t in SURFACE_TYPES),
        *(ratio(faces.area_by_type[t], area) for t in SURFACE_TYPES),
        _log(n_edges),
        _log(n_vertices),
        _log(n_shells),
        _log(n_solids),
        volume / rg**3,
        area / rg**2,
        ratio(math.pi ** (1 / 3) * (6 * volume) ** (2 / 3), area),
        ratio(ext[1], ext[2]),
        ratio(ext[0], ext[2]),
        ratio(obb[1], obb[2]),
        ratio(obb[0], obb[2]),
        ratio(moments[0], moments[2]),
        ratio(moments[1], moments[2]),
        _log(len(holes)),
        float(hd.mean()),
        float(hd.min()),
        float(hd.max()),
        _log(genus),
        ratio(2 * volume, area) / rg,
    ]
    if version == BREP1_FEATURE_VERSION:
        mesh = _tessellate(shape, rg)
        vector += mesh_vector(mesh) if len(mesh.faces) else [0.0] * len(MESH_SLOTS)
    else:
        # Second moments about the principal axes from the moments of inertia
        # (I_x = m_y + m_z): the largest second moment goes with the smallest
        # moment of inertia.
        half = sum(moments) / 2
        second = [max(half - m, 0.0) for m in moments]
        vector += [
            ratio(volume, obb[0] * obb[1] * obb[2]),
            math.sqrt(ratio(second[1], second[0])),
            math.sqrt(ratio(second[2], second[0])),
            1.0 if closed else 0.0,
            _log(faces.wires - n_faces),
        ]
    vector = [round(float(v), 9) if math.isfinite(v) else 0.0 for v in vector]
    assert len(vector) == len(BREP_VERSIONS[version])
    solid = {
        "volume_mm3": round(volume, 6),
        "area_mm2": round(area, 6),
        "bbox_mm": bbox,
        "faces_by_type": {t: n for t, n in faces.by_type.items() if n},
        "solids": n_solids,
        "shells": n_shells,
        "edges": n_edges,
        "vertices": n_vertices,
        "genus": genus,
        "holes": [round(d, 6) for d in sorted(holes)],
        "units": loaded.units,
        "parts": _parts(
            placed[:_MAX_PARTS],
            loaded,
            (volume, area, bbox, faces),
            boxes if n_placed == n_solids else None,
        ),
        "parts_total": n_placed,
        "parts_omitted": max(0, n_placed - _MAX_PARTS),
    }
    # Each listed part's own vector of the same version, so a part can be
    # classified or compared as a file of its own; a lone solid is the whole.
    for part, p in zip(solid["parts"], placed, strict=False):
        part["features"] = (
            vector
            if n_placed == 1
            else analyze(
                LoadedBrep(shape=p.solid, fmt=loaded.fmt, units=loaded.units),
                version,
            )["features"]
        )
    return {"features": vector, "solid": solid, "text": _texts(loaded)}


@dataclass
class _Placed:
    solid: Any  # located in the file's frame
    name: str | None = None
    instance: str | None = None


def _placed_solids(loaded: LoadedBrep, n_solids: int) -> tuple[list[_Placed], int]:
    """The first ``_MAX_PARTS + 1`` solids with their product names, and how
    many there are. From the XCAF tree when the file was read through it,
    else the shape's solids (named later from the file's products)."""
    from OCP.TopAbs import TopAbs_SOLID
    from OCP.TopExp import TopExp_Explorer

    if loaded.leaves is None:
        return [_Placed(s) for s in _solids(loaded.shape, _MAX_PARTS + 1)], n_solids
    out: list[_Placed] = []
    total = 0
    for leaf in loaded.leaves:
        exp = TopExp_Explorer(leaf.shape, TopAbs_SOLID)
        while exp.More():
            total += 1
            if len(out) <= _MAX_PARTS:
                out.append(_Placed(exp.Current(), leaf.name, leaf.instance))
            exp.Next()
    return out, total


def _parts(
    placed: list[_Placed],
    loaded: LoadedBrep,
    whole: tuple[float, float, list[float], _Faces],
    boxes: list[Any] | None = None,
) -> list[dict[str, Any]]:
    """Each solid with its placement, measures and faces by type. Named after
    its product in the assembly tree when the file has one; else after the
    file's products when there is one product per solid (the common
    single-level assembly)."""
    leaf = [p for p in loaded.products if p["name"] or p["id"]]
    out = []
    for i, p in enumerate(placed):
        s = p.solid
        if len(placed) == 1:
            vol, area, bbox, faces = whole
            by_type = {t: n for t, n in faces.by_type.items() if n}
        else:
            vol = _volume(s).Mass()
            by_type, area = _part_faces(s, whole[3].table)
            bbox = _box_coords(boxes[i]) if boxes else _bbox(s)
        name = p.name
        if loaded.leaves is not None:
            pass  # named by the assembly tree
        elif len(placed) == 1 and leaf:
            name = leaf[-1]["name"] or leaf[-1]["id"]
        elif len(leaf) >= len(placed):
            # Assemblies list the parent product first; the leaves follow.
            name = leaf[len(leaf) - len(placed) + i]["name"]
        out.append(
            {
                "index": i,
                "name": name,
                "instance": p.instance,
                "transform": _placement(s),
                "volume_mm3": round(abs(vol), 6),
                "area_mm2": round(area, 6),
                "bbox_mm": bbox,
                "faces_by_type": {t: by_type[t] for t in SURFACE_TYPES if t in by_type},
            }
        )
    return out


def _texts(loaded: LoadedBrep) -> list[dict[str, Any]]:
    out = []
    for p in loaded.products[:_MAX_TEXT]:
        for kind in ("name", "description"):
            if p[kind]:
                out.append(
                    {
                        "text": p[kind],
                        "type": f"PRODUCT_{kind.upper()}",
                        "source": "step",
                    }
                )
    return out


def hlr_svg(shape: Any, width: int = 400) -> str:
    """An isometric view with hidden lines removed (OpenCascade's HLR)."""
    from OCP.BRepAdaptor import BRepAdaptor_Curve
    from OCP.GCPnts import GCPnts_QuasiUniformDeflection
    from OCP.gp import gp_Ax2, gp_Dir, gp_Pnt
    from OCP.HLRAlgo import HLRAlgo_Projector
    from OCP.HLRBRep import HLRBRep_Algo, HLRBRep_HLRToShape
    from OCP.TopAbs import TopAbs_EDGE
    from OCP.TopExp import TopExp_Explorer
    from OCP.TopoDS import TopoDS

    algo = HLRBRep_Algo()
    algo.Add(shape)
    algo.Projector(
        HLRAlgo_Projector(gp_Ax2(gp_Pnt(0, 0, 0), gp_Dir(1, -1, 1), gp_Dir(1, 1, 0)))
    )
    algo.Update()
    algo.Hide()
    hlr = HLRBRep_HLRToShape(algo)
    polylines: list[np.ndarray] = []
    for compound in (hlr.VCompound(), hlr.OutLineVCompound(), hlr.Rg1LineVCompound()):
        if compound is None or compound.IsNull():
            continue
        exp = TopExp_Explorer(compound, TopAbs_EDGE)
        while exp.More():
            curve = BRepAdaptor_Curve(TopoDS.Edge(exp.Current()))
            exp.Next()
            span = curve.LastParameter() - curve.FirstParameter()
            pts = [curve.Value(curve.FirstParameter())]
            disc = GCPnts_QuasiUniformDeflection(curve, 1e-3 * max(span, 1e-9))
            if disc.IsDone() and disc.NbPoints() >= 2:
                pts = [disc.Value(i) for i in range(1, disc.NbPoints() + 1)]
            else:
                pts.append(curve.Value(curve.LastParameter()))
            polylines.append(np.array([(p.X(), -p.Y()) for p in pts]))
    if not polylines:
        return placeholder("no visible edges")
    allp = np.vstack(polylines)
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    span = float((hi - lo).max()) or 1.0
    scale = (width - 20) / span
    h = int(math.ceil((hi[1] - lo[1]) * scale)) + 20
    d = "".join(
        "M" + "L".join(f"{x:.1f} {y:.1f}" for x, y in (pl - lo) * scale + 10)
        for pl in polylines
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" '
        f'viewBox="0 0 {width} {h}"><path fill="none" stroke="#000000" '
        f'stroke-width="1" stroke-linecap="round" d="{d}"/></svg>'
    )


def analyse(loaded: LoadedBrep, watch: Stopwatch, want_preview: bool) -> dict[str, Any]:
    from django.conf import settings

    version = settings.CADML_BREP_FEATURE_VERSION
    out = analyze(loaded, version)
    watch.lap("features")
    svg = None
    if want_preview:
        try:
            svg = hlr_svg(loaded.shape)
        except Exception as exc:  # noqa: BLE001 - analysable but not drawable is fine
            svg = placeholder(f"no preview: {type(exc).__name__}")
    solid = out["solid"]
    return {
        "recovered": False,
        "fixes": 0,
        "repair_messages": [],
        "feature_version": version,
        "features": out["features"],
        "text": out["text"],
        "title_block": {f: None for f in titleblock.ALL_FIELDS},
        "dimensions": _dimensions(loaded),
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


def _dimensions(loaded: LoadedBrep) -> dict[str, Any]:
    """The drawings' ``dimensions`` structure: AP242 semantic PMI as its
    dimension entities, GD&T frames and datums (each with ``source``
    ``step-pmi``); empty for files without PMI."""
    out = {"entities": [], "tokens": [], **dimensions.annotations([], [])}
    if loaded.pmi:
        out["entities"] = loaded.pmi["entities"]
        out["gdt"] = loaded.pmi["gdt"]
    return out


def preview(loaded: LoadedBrep) -> str:
    return hlr_svg(loaded.shape)


# OpenCascade stays loaded in a worker once imported (a few hundred MB of
# address space): these formats get workers of their own so that drawings keep
# the whole memory cap.
STEP = Format(
    name="step",
    detect=is_step,
    load=partial(load, fmt="step"),
    analyse=analyse,
    preview=preview,
    pool="brep",
    feature_versions=tuple(BREP_VERSIONS),
)
IGES = Format(
    name="iges",
    detect=is_iges,
    load=partial(load, fmt="iges"),
    analyse=analyse,
    preview=preview,
    pool="brep",
    feature_versions=tuple(BREP_VERSIONS),
)
