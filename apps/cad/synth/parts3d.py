"""Synthetic 3D solids of the 2D generator's part families, built with
OpenCascade (the kernel that reads uploads) and written as STEP or IGES.

``generate_solid(label, rng)`` returns ``(name, bytes)``: one part of
``PART_CLASSES`` with random proportions, counts (holes, teeth, balls, turns),
length unit (mm or inch), orientation and position; about one file in five is
IGES. The same ``rng`` state gives the same bytes. ``build_solid`` returns the
shape itself, before it is placed and written.

Each family is built the way CAD users model it (revolved profiles for turned
parts, extruded profiles for prismatic ones, Boolean holes), never finer than
it needs: the default 3D model's training set is generated on demand, so every
solid takes a fraction of a second.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Sequence
from typing import Any

from apps.cad.synth import solids
from apps.cad.synth.generator import PART_CLASSES

Point = tuple[float, float]
# A profile item: a point reached by a straight edge, or ("arc", mid, end).
Item = Point | tuple[str, Point, Point]

IGES_SHARE = 0.2
INCH_SHARE = 0.25


# --- profiles ------------------------------------------------------------------


def _wire(items: Sequence[Item], to3d: Callable[[Point], Any]) -> Any:
    """A closed wire through ``items`` (the first one a point), closed by a
    straight edge back to the start unless it ends there."""
    from OCP.BRepBuilderAPI import BRepBuilderAPI_MakeEdge, BRepBuilderAPI_MakeWire
    from OCP.GC import GC_MakeArcOfCircle

    start = items[0]
    assert isinstance(start[0], float | int)
    wire = BRepBuilderAPI_MakeWire()
    current: Point = start
    for item in [*items[1:], start]:
        if isinstance(item[0], str):
            _, mid, end = item
            arc = GC_MakeArcOfCircle(to3d(current), to3d(mid), to3d(end)).Value()
            wire.Add(BRepBuilderAPI_MakeEdge(arc).Edge())
            current = end
        else:
            point: Point = item
            if math.dist(point, current) > 1e-9:
                wire.Add(BRepBuilderAPI_MakeEdge(to3d(current), to3d(point)).Edge())
            current = point
    return wire.Wire()


def _xy(p: Point) -> Any:
    from OCP.gp import gp_Pnt

    return gp_Pnt(p[0], p[1], 0.0)


def _rz(p: Point) -> Any:
    from OCP.gp import gp_Pnt

    return gp_Pnt(p[0], 0.0, p[1])


def revolved(profile: Sequence[Item]) -> Any:
    """The solid swept by a closed ``(r, z)`` profile turning about Z."""
    from OCP.BRepBuilderAPI import BRepBuilderAPI_MakeFace
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeRevol
    from OCP.gp import gp_Ax1, gp_Dir, gp_Pnt

    face = BRepBuilderAPI_MakeFace(_wire(profile, _rz)).Face()
    axis = gp_Ax1(gp_Pnt(0, 0, 0), gp_Dir(0, 0, 1))
    return BRepPrimAPI_MakeRevol(face, axis, 2 * math.pi).Shape()


def extruded(outline: Any, height: float, holes: Sequence[Any] = ()) -> Any:
    """A closed XY wire (with inner wires ``holes``) extruded along +Z."""
    from OCP.BRepBuilderAPI import BRepBuilderAPI_MakeFace
    from OCP.BRepPrimAPI import BRepPrimAPI_MakePrism
    from OCP.gp import gp_Vec

    maker = BRepBuilderAPI_MakeFace(outline)
    for hole in holes:
        maker.Add(hole)
    return BRepPrimAPI_MakePrism(maker.Face(), gp_Vec(0, 0, height)).Shape()


def _polygon(points: Sequence[Point]) -> Any:
    return _wire(list(points), _xy)


def _circle(r: float, centre: Point = (0.0, 0.0), *, reverse: bool = False) -> Any:
    from OCP.BRepBuilderAPI import BRepBuilderAPI_MakeEdge, BRepBuilderAPI_MakeWire
    from OCP.gp import gp_Ax2, gp_Circ, gp_Dir, gp_Pnt

    axis = gp_Dir(0, 0, -1 if reverse else 1)
    circ = gp_Circ(gp_Ax2(gp_Pnt(centre[0], centre[1], 0), axis), r)
    return BRepBuilderAPI_MakeWire(BRepBuilderAPI_MakeEdge(circ).Edge()).Wire()


def _hexagon(across_flats: float) -> list[Point]:
    r = across_flats / math.sqrt(3)
    return [
        (r * math.cos(math.pi / 3 * k), r * math.sin(math.pi / 3 * k)) for k in range(6)
    ]


def _cut(shape: Any, *tools: Any) -> Any:
    from OCP.BRepAlgoAPI import BRepAlgoAPI_Cut

    for tool in tools:
        shape = BRepAlgoAPI_Cut(shape, tool).Shape()
    return shape


def _fuse(shape: Any, *others: Any) -> Any:
    from OCP.BRepAlgoAPI import BRepAlgoAPI_Fuse

    for other in others:
        shape = BRepAlgoAPI_Fuse(shape, other).Shape()
    return _unified(shape)


def _unified(shape: Any) -> Any:
    """Faces split by a Boolean merged back, as a modeller would store them."""
    from OCP.ShapeUpgrade import ShapeUpgrade_UnifySameDomain

    unify = ShapeUpgrade_UnifySameDomain(shape, True, True, False)
    unify.Build()
    return unify.Shape()


def _drill(r: float, at: Point, z0: float, length: float, axis: str = "z") -> Any:
    """A cylinder of radius ``r`` through ``at`` along ``axis`` from ``z0``."""
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeCylinder
    from OCP.gp import gp_Ax2, gp_Dir, gp_Pnt

    a, b = at
    if axis == "z":
        ax = gp_Ax2(gp_Pnt(a, b, z0), gp_Dir(0, 0, 1))
    elif axis == "x":
        ax = gp_Ax2(gp_Pnt(z0, a, b), gp_Dir(1, 0, 0))
    else:
        ax = gp_Ax2(gp_Pnt(a, z0, b), gp_Dir(0, 1, 0))
    return BRepPrimAPI_MakeCylinder(ax, r, length).Shape()


def _circle_of_holes(
    n: int, pcd: float, r: float, z0: float, length: float, phase: float = 0.0
) -> Any:
    return solids.compound(
        *(
            _drill(
                r,
                (
                    pcd / 2 * math.cos(phase + 2 * math.pi * k / n),
                    pcd / 2 * math.sin(phase + 2 * math.pi * k / n),
                ),
                z0,
                length,
            )
            for k in range(n)
        )
    )


def _chamfer_edges(shape: Any, size: float, pick: Callable[[Any], bool]) -> Any:
    """``shape`` with a chamfer of ``size`` on the circular edges ``pick`` keeps
    (given each edge's centre of mass); unchanged if the kernel cannot."""
    return _edge_op(shape, size, pick, fillet=False)


def _fillet_edges(shape: Any, radius: float, pick: Callable[[Any], bool]) -> Any:
    return _edge_op(shape, radius, pick, fillet=True)


def _edge_op(shape: Any, size: float, pick: Callable[[Any], bool], fillet: bool) -> Any:
    from OCP.BRepFilletAPI import BRepFilletAPI_MakeChamfer, BRepFilletAPI_MakeFillet
    from OCP.BRepGProp import BRepGProp
    from OCP.GProp import GProp_GProps
    from OCP.TopAbs import TopAbs_EDGE
    from OCP.TopExp import TopExp_Explorer
    from OCP.TopoDS import TopoDS

    maker = (
        BRepFilletAPI_MakeFillet(shape) if fillet else BRepFilletAPI_MakeChamfer(shape)
    )
    exp = TopExp_Explorer(shape, TopAbs_EDGE)
    seen = 0
    while exp.More():
        edge = TopoDS.Edge(exp.Current())
        props = GProp_GProps()
        BRepGProp.LinearProperties_s(edge, props)
        if pick(props.CentreOfMass()):
            maker.Add(size, edge)
            seen += 1
        exp.Next()
    if not seen:
        return shape
    try:
        maker.Build()
        if maker.IsDone():
            return maker.Shape()
    except Exception:  # noqa: BLE001, S110 - the kernel refuses some; keep the part
        pass
    return shape


# --- families ---------------------------------------------------------------------


def flange(rng: random.Random) -> Any:
    d = rng.uniform(60, 300)
    t = d * rng.uniform(0.08, 0.2)
    bore = d * rng.uniform(0.2, 0.45)
    hub_d = min(d * 0.8, bore * rng.uniform(1.4, 1.9))
    hub_h = t * rng.uniform(0.0, 2.5) if rng.random() < 0.7 else 0.0
    profile: list[Item] = [(bore / 2, 0.0), (d / 2, 0.0), (d / 2, t)]
    if hub_h > 0.5:
        profile += [(hub_d / 2, t), (hub_d / 2, t + hub_h), (bore / 2, t + hub_h)]
    else:
        profile += [(bore / 2, t)]
    if rng.random() < 0.4:  # a raised face on the other side
        rf = (hub_d / 2 + d / 2) / 2 if hub_h <= 0.5 else (bore / 2 + hub_d / 2) / 2
        rf = max(rf, bore / 2 + 1.0)
        profile = [(bore / 2, -t * 0.1), (rf, -t * 0.1), (rf, 0.0), *profile[1:]]
    body = revolved(profile)
    n = rng.choice([3, 4, 4, 6, 6, 8, 8, 12])
    pcd = max(hub_d, bore) / 2 + d / 2
    hole_r = min((d / 2 - pcd / 2) * rng.uniform(0.35, 0.6), pcd * math.pi / n / 3)
    return _cut(body, _circle_of_holes(n, pcd, hole_r, -t, 4 * t + hub_h))


def spur_gear(rng: random.Random) -> Any:
    z = rng.randint(12, 48)
    module = rng.choice([0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0])
    rp = module * z / 2
    alpha = math.radians(rng.choice([20.0, 20.0, 14.5, 25.0]))
    rb = rp * math.cos(alpha)
    ra = rp + module
    rf = rp - 1.25 * module
    width = module * rng.uniform(4, 12)

    def inv(r: float) -> float:
        """The involute function at radius ``r`` (0 on the base circle)."""
        a = math.acos(min(1.0, rb / r))
        return math.tan(a) - a

    def polar(r: float, a: float) -> Point:
        return (r * math.cos(a), r * math.sin(a))

    beta = math.pi / (2 * z) + inv(rp)  # tooth half-angle on the base circle
    foot = beta - inv(max(rb, rf))  # half-angle where a flank meets the root
    flank_radii = [max(rb, rf) + (ra - max(rb, rf)) * i / 5 for i in range(6)]
    items: list[Any] = []
    for k in range(z):
        c = 2 * math.pi * k / z
        right = [polar(r, c - beta + inv(r)) for r in flank_radii]
        left = [polar(r, c + beta - inv(r)) for r in reversed(flank_radii)]
        if not items:
            items.append(polar(rf, c - foot))
        else:
            items.append(("arc", polar(rf, c - math.pi / z), polar(rf, c - foot)))
        if rf < rb:  # a radial flank below the base circle
            items.append(right[0])
        items.append(("spline", right, right[-1]))
        items.append(("arc", polar(ra, c), left[0]))
        items.append(("spline", left, left[-1]))
        if rf < rb:
            items.append(polar(rf, c + foot))
    items.append(("arc", polar(rf, -math.pi / z), items[0]))
    if rng.random() < 0.25:
        # Straight flanks, as simplified gear models draw them.
        items = [p if not isinstance(p[0], str) else p[2] for p in items]
        items = [p for i, p in enumerate(items) if i == 0 or p != items[i - 1]]
    outline = _gear_wire(items)
    bore = rf * rng.uniform(0.2, 0.5)
    body = extruded(outline, width, [_circle(bore, reverse=True)])
    if rng.random() < 0.5:
        # Exporters often store extruded flanks as B-spline surfaces.
        from OCP.ShapeCustom import ShapeCustom

        body = ShapeCustom.ConvertToBSpline_s(body, True, False, False)
    if rng.random() < 0.4:  # a hub on one side
        hub = revolved(
            [
                (bore, width),
                (rf * 0.6, width),
                (rf * 0.6, width * 1.6),
                (bore, width * 1.6),
            ]
        )
        body = _fuse(body, hub)
    if rng.random() < 0.3 and rf > 3 * bore:  # lightening holes in the web
        n = rng.choice([4, 5, 6])
        body = _cut(
            body, _circle_of_holes(n, rf + bore, (rf - bore) * 0.25, -1, width * 3)
        )
    return body


def _gear_wire(items: list[Any]) -> Any:
    """Like ``_wire`` with ``("spline", points, end)`` items too (interpolated
    through ``points``, the involute flanks)."""
    from OCP.BRepBuilderAPI import BRepBuilderAPI_MakeEdge, BRepBuilderAPI_MakeWire
    from OCP.collections import Array1_gp_Pnt
    from OCP.GC import GC_MakeArcOfCircle
    from OCP.GeomAPI import GeomAPI_PointsToBSpline

    wire = BRepBuilderAPI_MakeWire()
    current = items[0]
    for item in items[1:]:
        if isinstance(item[0], str) and item[0] == "arc":
            curve = GC_MakeArcOfCircle(_xy(current), _xy(item[1]), _xy(item[2])).Value()
            wire.Add(BRepBuilderAPI_MakeEdge(curve).Edge())
            current = item[2]
        elif isinstance(item[0], str):
            pts = Array1_gp_Pnt(1, len(item[1]))
            for i, p in enumerate(item[1], 1):
                pts.SetValue(i, _xy(p))
            curve = GeomAPI_PointsToBSpline(pts).Curve()
            wire.Add(BRepBuilderAPI_MakeEdge(curve).Edge())
            current = item[2]
        else:
            wire.Add(BRepBuilderAPI_MakeEdge(_xy(current), _xy(item)).Edge())
            current = item
    return wire.Wire()


def stepped_shaft(rng: random.Random) -> Any:
    steps = rng.randint(2, 6)
    d0 = rng.uniform(8, 80)
    radii = []
    r = d0 / 2
    for _ in range(steps):
        radii.append(r)
        r = max(d0 * 0.15, r * rng.uniform(0.7, 1.3))
    # Often largest in the middle (a shoulder), as turned shafts are.
    if rng.random() < 0.6:
        radii.sort()
        radii = radii[::2] + radii[1::2][::-1]
    lengths = [d0 * rng.uniform(0.5, 3.0) for _ in radii]
    chamfer = min(radii) * rng.uniform(0.05, 0.2) if rng.random() < 0.7 else 0.0
    profile: list[Item] = [(0.0, 0.0), (radii[0] - chamfer, 0.0)]
    z = 0.0
    for i, (ri, li) in enumerate(zip(radii, lengths, strict=True)):
        if i == 0:
            profile.append((ri, chamfer))
        else:
            profile.append((ri, z))
        z += li
        if i == len(radii) - 1:
            profile += [(ri, z - chamfer), (ri - chamfer, z)]
        else:
            profile.append((ri, z))
    profile.append((0.0, z))
    shaft = revolved(profile)
    if rng.random() < 0.5:  # a keyway on the widest step
        i = radii.index(max(radii))
        r = radii[i]
        z0 = sum(lengths[:i]) + lengths[i] * 0.2
        key_w, key_l = r * 0.5, lengths[i] * 0.6
        key = solids.box(r, key_w, key_l, at=(r * 0.7, -key_w / 2, z0))
        shaft = _cut(shaft, key)
    if rng.random() < 0.3:  # a centre hole
        shaft = _cut(shaft, _drill(min(radii) * 0.3, (0, 0), -1, min(lengths)))
    return shaft


def l_bracket(rng: random.Random) -> Any:
    a = rng.uniform(30, 150)
    b = a * rng.uniform(0.5, 1.5)
    t = min(a, b) * rng.uniform(0.06, 0.18)
    w = rng.uniform(0.4, 1.5) * a
    ri = t * rng.uniform(0.5, 1.5) if rng.random() < 0.6 else 0.0
    # L in XZ: leg along X (length a) and leg up Z (height b), extruded along Y.
    profile: list[Item] = [(0.0, 0.0), (a, 0.0), (a, t)]
    if ri > 0:
        k = 1 - math.sqrt(0.5)
        profile += [
            (t + ri, t),
            ("arc", (t + ri * k, t + ri * k), (t, t + ri)),
        ]
    else:
        profile += [(t, t)]
    profile += [(t, b), (0.0, b)]
    from OCP.BRepBuilderAPI import BRepBuilderAPI_MakeFace
    from OCP.BRepPrimAPI import BRepPrimAPI_MakePrism
    from OCP.gp import gp_Vec

    face = BRepBuilderAPI_MakeFace(_wire(profile, _rz)).Face()
    body = BRepPrimAPI_MakePrism(face, gp_Vec(0, w, 0)).Shape()
    holes = []
    n1, n2 = rng.randint(1, 3), rng.randint(1, 3)
    hr = min(
        t * rng.uniform(0.4, 0.9), w / (max(n1, n2) + 1) * 0.35, (min(a, b) - t) * 0.2
    )
    for i in range(n1):
        holes.append(
            _drill(
                hr,
                (t + (a - t) * rng.uniform(0.45, 0.75), w * (i + 1) / (n1 + 1)),
                -1,
                t + 2,
                "z",
            )
        )
    for i in range(n2):
        holes.append(
            _drill(
                hr,
                (w * (i + 1) / (n2 + 1), t + (b - t) * rng.uniform(0.45, 0.75)),
                -1,
                t + 2,
                "x",
            )
        )
    # _drill's "z" takes (x, y); "x" takes (y, z).
    body = _cut(body, solids.compound(*holes))
    if rng.random() < 0.4:
        body = _fillet_edges(
            body, t * 0.4, lambda c: c.X() > a - 1e-6 or c.Z() > b - 1e-6
        )
    return body


def hole_plate(rng: random.Random) -> Any:
    w = rng.uniform(40, 300)
    h = w * rng.uniform(0.3, 1.0)
    t = min(w, h) * rng.uniform(0.03, 0.15)
    rc = min(w, h) * rng.uniform(0.03, 0.15) if rng.random() < 0.5 else 0.0
    if rc > 0:
        k = 1 - math.sqrt(0.5)
        outline = _polygon_rounded(w, h, rc, k)
    else:
        outline = _polygon([(0, 0), (w, 0), (w, h), (0, h)])
    body = extruded(outline, t)
    holes = []
    if rng.random() < 0.5:  # a grid
        nx, ny = rng.randint(1, 6), rng.randint(1, 4)
        hr = min(w / (nx + 1), h / (ny + 1)) * rng.uniform(0.1, 0.3)
        for i in range(nx):
            for j in range(ny):
                holes.append(
                    _drill(
                        hr, (w * (i + 1) / (nx + 1), h * (j + 1) / (ny + 1)), -1, t + 2
                    )
                )
    else:  # corners and maybe a centre hole
        m = min(w, h) * rng.uniform(0.1, 0.2)
        hr = m * rng.uniform(0.3, 0.6)
        for x, y in [(m, m), (w - m, m), (w - m, h - m), (m, h - m)]:
            holes.append(_drill(hr, (x, y), -1, t + 2))
        if rng.random() < 0.6:
            holes.append(
                _drill(min(w, h) * rng.uniform(0.1, 0.3), (w / 2, h / 2), -1, t + 2)
            )
    return _cut(body, solids.compound(*holes))


def _polygon_rounded(w: float, h: float, r: float, k: float) -> Any:
    return _wire(
        [
            (r, 0.0),
            (w - r, 0.0),
            ("arc", (w - r * k, r * k), (w, r)),
            (w, h - r),
            ("arc", (w - r * k, h - r * k), (w - r, h)),
            (r, h),
            ("arc", (r * k, h - r * k), (0.0, h - r)),
            (0.0, r),
            ("arc", (r * k, r * k), (r, 0.0)),
        ],
        _xy,
    )


def washer(rng: random.Random) -> Any:
    d = rng.uniform(4, 60)
    di = d * rng.uniform(0.4, 0.6)
    t = d * rng.uniform(0.05, 0.12)
    c = t * 0.3 if rng.random() < 0.3 else 0.0
    profile: list[Item] = [
        (di / 2, 0.0),
        (d / 2 - c, 0.0),
        (d / 2, c),
        (d / 2, t),
        (di / 2, t),
    ]
    return revolved(profile)


def bushing(rng: random.Random) -> Any:
    d = rng.uniform(6, 80)
    di = d * rng.uniform(0.55, 0.85)
    length = d * rng.uniform(0.6, 2.5)
    c = (d - di) / 2 * 0.2
    if rng.random() < 0.5:  # a flanged bushing
        df = d * rng.uniform(1.2, 1.6)
        tf = (d - di) / 2 * rng.uniform(0.8, 1.5)
        profile: list[Item] = [
            (di / 2, 0.0),
            (df / 2, 0.0),
            (df / 2, tf),
            (d / 2, tf),
            (d / 2, length - c),
            (d / 2 - c, length),
            (di / 2, length),
        ]
    else:
        profile = [
            (di / 2, 0.0),
            (d / 2 - c, 0.0),
            (d / 2, c),
            (d / 2, length - c),
            (d / 2 - c, length),
            (di / 2, length),
        ]
    body = revolved(profile)
    if rng.random() < 0.25:  # a lubrication hole
        body = _cut(body, _drill((d - di) * 0.3, (0.0, length / 2), 0, d, "x"))
    return body


def hex_nut(rng: random.Random) -> Any:
    m = rng.uniform(3, 48)
    s = m * rng.uniform(1.5, 1.8)
    h = m * rng.uniform(0.5, 0.95)
    outer = _polygon(_hexagon(s))
    body = extruded(outer, h, [_circle(m * 0.85 / 2, reverse=True)])
    if rng.random() < 0.7:  # the 30-degree chamfer of the corners
        chamfer = revolved(_corner_chamfer(s, h, both=True))
        from OCP.BRepAlgoAPI import BRepAlgoAPI_Common

        body = _unified(BRepAlgoAPI_Common(body, chamfer).Shape())
    if rng.random() < 0.2:  # a flange nut
        body = _fuse(
            body,
            revolved(
                [
                    (m * 0.45, 0.0),
                    (s * 0.7, 0.0),
                    (s * 0.7, h * 0.15),
                    (m * 0.45, h * 0.15),
                ]
            ),
        )
    return body


def _corner_chamfer(s: float, h: float, *, both: bool) -> list[Item]:
    """The (r, z) profile of a body of revolution that, intersected with a hex
    prism of across-flats ``s`` and height ``h``, chamfers its corners at 30
    degrees from the end face (both ends or the top only)."""
    r0, e = s / 2 * 0.95, s / math.sqrt(3) * 1.02
    rise = (e - r0) * math.tan(math.radians(30))
    bottom: list[Item] = (
        [(0.0, 0.0), (r0, 0.0), (e, rise)] if both else [(0.0, 0.0), (e, 0.0)]
    )
    return [*bottom, (e, h - rise), (r0, h), (0.0, h)]


def pulley(rng: random.Random) -> Any:
    d = rng.uniform(30, 300)
    grooves = rng.choice([1, 1, 1, 2, 3, 4])
    gw = d * rng.uniform(0.06, 0.12)
    depth = gw * rng.uniform(0.6, 1.0)
    width = grooves * gw + gw * 0.6
    bore = d * rng.uniform(0.1, 0.25)
    hub_r = min(bore * rng.uniform(1.6, 2.2), d / 2 - depth - gw * 0.3)
    profile: list[Item] = [
        (bore, -width * 0.3),
        (hub_r, -width * 0.3),
        (hub_r, 0.0),
        (d / 2, 0.0),
    ]
    z = gw * 0.3
    profile.append((d / 2, z))
    for _ in range(grooves):
        if rng.random() < 0.8:  # a V groove
            profile += [
                (d / 2 - depth, z + gw * 0.35),
                (d / 2 - depth, z + gw * 0.65),
                (d / 2, z + gw),
            ]
        else:  # a round groove (rope)
            profile += [("arc", (d / 2 - gw / 2, z + gw / 2), (d / 2, z + gw))]
        z += gw
    profile += [
        (d / 2, width),
        (hub_r, width),
        (hub_r, width * 1.3),
        (bore, width * 1.3),
    ]
    body = revolved(profile)
    if rng.random() < 0.3 and d / 2 - depth > hub_r * 2.2:
        n = rng.choice([4, 5, 6])
        body = _cut(
            body,
            _circle_of_holes(
                n,
                d / 2 - depth + hub_r,
                (d / 2 - depth - hub_r) * 0.25,
                -width,
                width * 3,
            ),
        )
    return body


def housing(rng: random.Random) -> Any:
    bore = rng.uniform(15, 120)
    w = bore * rng.uniform(1.6, 2.5)
    h = bore * rng.uniform(1.6, 2.2)
    depth = w * rng.uniform(0.6, 1.2)
    if rng.random() < 0.5:
        # A pillow block: a base plate and a boss around a bore along Y.
        boss_r = bore / 2 * rng.uniform(1.4, 1.9)
        length = 2 * boss_r + bore * rng.uniform(1.0, 2.5)
        base_t = h * rng.uniform(0.15, 0.3)
        base = solids.box(length, depth, base_t, at=(-length / 2, -depth / 2, 0))
        axis_h = max(boss_r, base_t + boss_r * 0.5)
        boss = _drill(boss_r, (0.0, axis_h), -depth / 2, depth, "y")
        web = solids.box(2 * boss_r, depth, axis_h, at=(-boss_r, -depth / 2, 0))
        body = _fuse(base, web, boss)
        body = _cut(body, _drill(bore / 2, (0.0, axis_h), -depth, depth * 3, "y"))
        hr = base_t * rng.uniform(0.3, 0.6)
        xs = [
            -(length / 2 - (length / 2 - boss_r) / 2),
            length / 2 - (length / 2 - boss_r) / 2,
        ]
        body = _cut(
            body, solids.compound(*(_drill(hr, (x, 0.0), -1, base_t + 2) for x in xs))
        )
        return body
    # A gearbox-like block: a box with a blind or through bore, bolt holes
    # around it and a cavity from the back.
    body = solids.box(w, h, depth, at=(-w / 2, -h / 2, 0))
    through = rng.random() < 0.6
    body = _cut(
        body, _drill(bore / 2, (0, 0), -1 if through else depth * 0.3, depth + 2)
    )
    if not through:
        body = _cut(
            body,
            solids.box(
                w * 0.8,
                h * 0.8,
                depth * 0.3 + 1,
                at=(-w / 2 + w * 0.1, -h / 2 + h * 0.1, -1),
            ),
        )
    n = rng.choice([4, 4, 6, 8])
    hr = (min(w, h) / 2 - bore / 2) * rng.uniform(0.12, 0.25)
    pcd = bore + (min(w, h) - bore) / 2
    body = _cut(body, _circle_of_holes(n, pcd, hr, depth * 0.6, depth, math.pi / n))
    return body


def hex_bolt(rng: random.Random) -> Any:
    m = rng.uniform(3, 36)
    s = m * rng.uniform(1.5, 1.8)
    k = m * rng.uniform(0.6, 0.75)
    length = m * rng.uniform(2, 10)
    head = extruded(_polygon(_hexagon(s)), k)
    if rng.random() < 0.6:
        chamfer = revolved(_corner_chamfer(s, k, both=False))
        from OCP.BRepAlgoAPI import BRepAlgoAPI_Common

        head = _unified(BRepAlgoAPI_Common(head, chamfer).Shape())
    c = m * 0.1
    shank_profile: list[Item] = [
        (0.0, k - 0.01 * m),
        (m / 2, k - 0.01 * m),
        (m / 2, k + length - c),
        (m / 2 - c, k + length),
        (0.0, k + length),
    ]
    if rng.random() < 0.5:  # a thinner threaded part
        r2 = m / 2 * 0.92
        zt = k + length * rng.uniform(0.2, 0.7)
        shank_profile = [
            *shank_profile[:2],
            (m / 2, zt),
            (r2, zt + c),
            (r2, k + length - c),
            (r2 - c, k + length),
            (0.0, k + length),
        ]
    return _fuse(head, revolved(shank_profile))


def ball_bearing(rng: random.Random) -> Any:
    d = rng.uniform(10, 60)  # bore
    big_d = d * rng.uniform(1.8, 2.8)
    b = (big_d - d) / 2 * rng.uniform(0.7, 1.0)
    pitch_r = (d + big_d) / 4
    ball_r = (big_d - d) / 4 * rng.uniform(0.45, 0.6)
    ring = (big_d - d) / 2
    n = max(6, min(int(math.pi * pitch_r / (ball_r * 1.25)), rng.randint(7, 16)))
    c = ring * 0.05
    groove = ball_r * 1.04
    gz = b / 2
    # Inner and outer rings with a circular groove (torus faces) for the balls.
    inner_top = pitch_r - ball_r * 0.55
    outer_bottom = pitch_r + ball_r * 0.55
    dz = math.sqrt(max(groove**2 - (pitch_r - inner_top) ** 2, 0.01))
    inner = revolved(
        [
            (d / 2 + c, 0.0),
            (inner_top, 0.0),
            (inner_top, gz - dz),
            ("arc", (pitch_r - groove, gz), (inner_top, gz + dz)),
            (inner_top, b),
            (d / 2 + c, b),
            (d / 2, b - c),
            (d / 2, c),
        ]
    )
    outer = revolved(
        [
            (outer_bottom, 0.0),
            (big_d / 2 - c, 0.0),
            (big_d / 2, c),
            (big_d / 2, b - c),
            (big_d / 2 - c, b),
            (outer_bottom, b),
            (outer_bottom, gz + dz),
            ("arc", (pitch_r + groove, gz), (outer_bottom, gz - dz)),
        ]
    )
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeSphere
    from OCP.gp import gp_Pnt

    balls = [
        BRepPrimAPI_MakeSphere(
            gp_Pnt(
                pitch_r * math.cos(2 * math.pi * i / n),
                pitch_r * math.sin(2 * math.pi * i / n),
                gz,
            ),
            ball_r,
        ).Shape()
        for i in range(n)
    ]
    parts = [inner, outer, *balls]
    if rng.random() < 0.3:  # shields closing the gap on both sides
        for z0 in (b * 0.02, b * 0.9):
            parts.append(
                revolved(
                    [
                        (inner_top + 0.02 * ring, z0),
                        (outer_bottom - 0.02 * ring, z0),
                        (outer_bottom - 0.02 * ring, z0 + b * 0.05),
                        (inner_top + 0.02 * ring, z0 + b * 0.05),
                    ]
                )
            )
    return solids.compound(*parts)


def compression_spring(rng: random.Random) -> Any:
    from OCP.BRepBuilderAPI import BRepBuilderAPI_MakeEdge, BRepBuilderAPI_MakeWire
    from OCP.BRepLib import BRepLib
    from OCP.BRepOffsetAPI import BRepOffsetAPI_MakePipeShell
    from OCP.Geom import Geom_CylindricalSurface
    from OCP.Geom2d import Geom2d_Line
    from OCP.gp import gp_Ax2, gp_Ax3, gp_Circ, gp_Dir, gp_Dir2d, gp_Pnt, gp_Pnt2d

    d_mean = rng.uniform(5, 60)
    wire_d = d_mean * rng.uniform(0.08, 0.2)
    pitch = wire_d * rng.uniform(1.3, 3.0)
    turns = rng.uniform(3, 12)
    r = d_mean / 2
    surf = Geom_CylindricalSurface(gp_Ax3(gp_Pnt(0, 0, 0), gp_Dir(0, 0, 1)), r)
    line = Geom2d_Line(gp_Pnt2d(0, 0), gp_Dir2d(2 * math.pi, pitch))
    edge = BRepBuilderAPI_MakeEdge(
        line, surf, 0, turns * math.hypot(2 * math.pi, pitch)
    ).Edge()
    BRepLib.BuildCurves3d_s(edge)
    spine = BRepBuilderAPI_MakeWire(edge).Wire()
    # The wire's section, square to the helix at its start.
    tangent = gp_Dir(0, 2 * math.pi * r, pitch)
    circle = gp_Circ(gp_Ax2(gp_Pnt(r, 0, 0), tangent), wire_d / 2)
    section = BRepBuilderAPI_MakeWire(BRepBuilderAPI_MakeEdge(circle).Edge()).Wire()
    pipe = BRepOffsetAPI_MakePipeShell(spine)
    pipe.SetMode(gp_Dir(0, 0, 1))
    pipe.Add(section)
    pipe.Build()
    pipe.MakeSolid()
    return pipe.Shape()


def dowel_pin(rng: random.Random) -> Any:
    d = rng.uniform(1.5, 25)
    length = d * rng.uniform(2.5, 10)
    r = d / 2
    ends = rng.choice(["chamfer", "chamfer", "round", "flat", "mixed"])
    c = d * rng.uniform(0.08, 0.2)
    bottom: list[Item]
    top: list[Item]
    if ends == "flat":
        bottom, top = [(0.0, 0.0), (r, 0.0)], [(r, length), (0.0, length)]
    elif ends == "round":
        k = math.sqrt(0.5)
        bottom = [(0.0, 0.0), ("arc", (r * k, r - r * k), (r, r))]
        top = [(r, length - r), ("arc", (r * k, length - r + r * k), (0.0, length))]
    else:
        bottom = [(0.0, 0.0), (r - c, 0.0), (r, c)]
        if ends == "mixed":  # a domed end: a spherical cap centred on the axis
            big = r * rng.uniform(1.2, 2.0)
            z0 = length - big
            top = [
                (r, z0 + math.sqrt(big**2 - r**2)),
                ("arc", (r / 2, z0 + math.sqrt(big**2 - r**2 / 4)), (0.0, length)),
            ]
        else:
            top = [(r, length - c), (r - c, length), (0.0, length)]
    pin = revolved([*bottom, *top])
    if rng.random() < 0.15:  # a pull-out pin with a tapped hole
        pin = _cut(pin, _drill(r * 0.4, (0, 0), length - r * 2, r * 3))
    return pin


FAMILIES: dict[str, Callable[[random.Random], Any]] = {
    "flange": flange,
    "spur_gear": spur_gear,
    "stepped_shaft": stepped_shaft,
    "l_bracket": l_bracket,
    "hole_plate": hole_plate,
    "washer": washer,
    "bushing": bushing,
    "hex_nut": hex_nut,
    "pulley": pulley,
    "housing": housing,
    "hex_bolt": hex_bolt,
    "ball_bearing": ball_bearing,
    "compression_spring": compression_spring,
    "dowel_pin": dowel_pin,
}
assert set(FAMILIES) == set(PART_CLASSES)


def build_solid(label: str, rng: random.Random) -> Any:
    """The part ``label`` in its own frame (axis along Z where it has one)."""
    try:
        family = FAMILIES[label]
    except KeyError:
        raise ValueError(f"unknown part class {label!r}") from None
    return family(rng)


def _placed(shape: Any, rng: random.Random) -> Any:
    """Half the parts turned a multiple of 90 degrees (files usually keep a
    part's axes on the world's), the others to any orientation; all moved."""
    move = tuple(rng.uniform(-200, 200) for _ in range(3))
    if rng.random() < 0.5:
        axis = rng.choice([(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)])
        angle = rng.choice([0.0, 0.5, 1.0, 1.5]) * math.pi
    else:
        v = [rng.gauss(0, 1) for _ in range(3)]
        n = math.sqrt(sum(c * c for c in v)) or 1.0
        axis = (v[0] / n, v[1] / n, v[2] / n)
        angle = rng.uniform(0, 2 * math.pi)
    return solids.transformed(shape, move=move, axis=axis, angle=angle)  # type: ignore[arg-type]


def generate_solid(label: str, rng: random.Random) -> tuple[str, bytes]:
    """``(file name, bytes)`` of one part of ``label``: STEP, or IGES for about
    one in five; in inches for about one in four."""
    from apps.cad.formats.brep import occ_quiet

    occ_quiet()
    return written(build_solid(label, rng), rng, label)


def written(shape: Any, rng: random.Random, stem: str) -> tuple[str, bytes]:
    """``shape`` placed (``_placed``) and written as ``stem``.step, or as
    IGES for about one in five; in inches for about one in four."""
    from apps.cad.formats.brep import occ_quiet

    occ_quiet()
    shape = _placed(shape, rng)
    unit = "INCH" if rng.random() < INCH_SHARE else "MM"
    if rng.random() < IGES_SHARE:
        # Some Boolean results (gears with a hub or holes, walls with
        # openings) fail OpenCascade's own IGES round trip, or its IGES
        # writer outright (its exceptions share no base but Exception): those
        # are written as STEP instead.
        try:
            content = solids.iges_bytes(shape, unit=unit)
        except Exception:  # noqa: BLE001 - see above
            content = None
        if content is not None and _iges_reads_valid(content):
            return f"{stem}.igs", _stable(content)
    return f"{stem}.step", _stable(solids.step_bytes(shape, unit=unit, product="part"))


_STEP_TIME = re.compile(rb"(FILE_NAME\('[^']*',')\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
_IGES_TIME = re.compile(rb"15H\d{8}\.\d{6}")
# Names and ids the writer numbers per process: products "part 3" (a
# compound's solids "part 3.1", ...) and assembly usage occurrences.
_STEP_PRODUCT = re.compile(rb"'part \d+(\.\d+)?'")
_STEP_USAGE = re.compile(rb"(NEXT_ASSEMBLY_USAGE_OCCURRENCE\(')\d+'")


def _stable(content: bytes) -> bytes:
    """The writers stamp the time and number products per process: fixed
    ones keep the bytes a function of the seed (same length for the time, so
    IGES's fixed columns hold)."""
    content = _STEP_TIME.sub(rb"\g<1>2024-01-01T00:00:00", content, count=1)
    content = _STEP_PRODUCT.sub(
        lambda m: b"'part" + (m.group(1) or b"") + b"'", content
    )
    usage = iter(range(1, 1 << 30))
    content = _STEP_USAGE.sub(
        lambda m: m.group(1) + str(next(usage)).encode() + b"'", content
    )
    return _IGES_TIME.sub(b"15H20240101.000000", content)


def _iges_reads_valid(content: bytes) -> bool:
    from OCP.BRepCheck import BRepCheck_Analyzer
    from OCP.IFSelect import IFSelect_RetDone
    from OCP.IGESControl import IGESControl_Reader

    def read(path: str) -> bool:
        reader = IGESControl_Reader()
        if reader.ReadFile(path) != IFSelect_RetDone:
            return False
        reader.TransferRoots()
        shape = reader.OneShape()
        return not shape.IsNull() and BRepCheck_Analyzer(shape).IsValid()

    return solids.read_back(content, ".igs", read)
