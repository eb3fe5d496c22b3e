"""Generated 3D models of other domains: what the default STEP/IGES model
learns a part of its families is not (``not_a_part``), as the 2D model learns
it from ``apps.cad.synth.other``.

Novelty (how far a solid lies from every family's prototype) cannot be the
only guard: real bearings and bolts (fillets, threads, shields) lie as far
from the generated families as real circuit boards and assemblies do
(docs/step-iges.md#other-domains). Each kind below is what such files hold:

- ``board``: a printed circuit board with its components, each component a
  body of its own, as electronics CAD exports them;
- ``heatsink``: a base with a row of fins (pin fins for some), one body;
- ``freeform``: a smooth body lofted through B-spline sections (handles,
  knobs, toys, shells of consumer products);
- ``building``: a floor slab and walls with door and window openings, metres
  across;
- ``assembly``: two to five parts of different families side by side, each a
  body of its own: a file of a machine, not of one part.

``generate_other_solid(rng)`` writes one as STEP (IGES for some), placed,
turned and in millimetres or inches as ``parts3d.generate_solid`` writes the
parts, so nothing but the kind of object tells them apart.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

from apps.cad.synth import parts3d, solids

Point = tuple[float, float]


def board(rng: random.Random) -> Any:
    """A board 1.6 mm thick with corner holes and 8 to 40 components."""
    w, h, t = rng.uniform(30, 160), rng.uniform(20, 100), 1.6
    plate = solids.box(w, h, t)
    m = min(w, h) * 0.08
    holes = [
        parts3d._drill(rng.uniform(1.2, 1.8), (x, y), -1.0, t + 2)
        for x in (m, w - m)
        for y in (m, h - m)
    ]
    plate = parts3d._cut(plate, solids.compound(*holes))
    bodies = [plate]
    for _ in range(rng.randint(8, 40)):
        kind = rng.random()
        if kind < 0.45:  # chips and passives
            a, b = rng.uniform(1.0, 20.0), rng.uniform(0.8, 20.0)
            c = rng.uniform(0.5, 3.0)
            shape = solids.box(a, b, c)
        elif kind < 0.75:  # electrolytic capacitors, crystals
            a = b = rng.uniform(2.0, 6.0)
            shape = solids.cylinder(a, rng.uniform(3.0, 12.0))
        else:  # connectors and headers
            a, b = rng.uniform(5.0, 30.0), rng.uniform(2.5, 6.0)
            shape = solids.box(a, b, rng.uniform(3.0, 9.0))
        x, y = rng.uniform(0, max(w - a, 1.0)), rng.uniform(0, max(h - b, 1.0))
        bodies.append(solids.transformed(shape, move=(x, y, t)))
    return solids.compound(*bodies)


def heatsink(rng: random.Random) -> Any:
    """A base with straight fins (one extruded comb), or with a grid of pins."""
    w, d = rng.uniform(20, 120), rng.uniform(20, 120)
    base, fin_h = rng.uniform(2, 8), rng.uniform(8, 45)
    n = rng.randint(6, 30)
    if rng.random() < 0.25:
        sink = solids.box(w, d, base)
        k = max(3, int(math.sqrt(n * 2)))
        r = min(w, d) / k * 0.25
        pins = [
            solids.transformed(
                solids.cylinder(r, fin_h),
                move=(w * (i + 0.5) / k, d * (j + 0.5) / k, base),
            )
            for i in range(k)
            for j in range(k)
        ]
        return parts3d._fuse(sink, *pins)
    fin = min(w / n * rng.uniform(0.25, 0.5), 2.5)
    pitch = (w - fin) / (n - 1)
    outline: list[Point] = [(0.0, 0.0), (w, 0.0)]
    for i in reversed(range(n)):
        x = i * pitch
        outline += [
            (x + fin, base),
            (x + fin, base + fin_h),
            (x, base + fin_h),
            (x, base),
        ]
    outline[-1] = (0.0, base + fin_h)  # the first fin rises from the base's edge
    return parts3d.extruded(parts3d._polygon(outline), d)


def _closed_curve(
    rng: random.Random, radius: float, z: float, lobes: list[float]
) -> Any:
    from OCP.BRepBuilderAPI import BRepBuilderAPI_MakeEdge, BRepBuilderAPI_MakeWire
    from OCP.collections import HArray1_gp_Pnt
    from OCP.GeomAPI import GeomAPI_Interpolate
    from OCP.gp import gp_Pnt

    n = 12
    pts = HArray1_gp_Pnt(1, n)
    phase = rng.uniform(0, 2 * math.pi)
    for i in range(n):
        a = 2 * math.pi * i / n
        r = radius * (
            1 + sum(c * math.cos((k + 2) * a + phase) for k, c in enumerate(lobes))
        )
        pts.SetValue(i + 1, gp_Pnt(r * math.cos(a), r * math.sin(a) * 0.8, z))
    interp = GeomAPI_Interpolate(pts, True, 1e-6)
    interp.Perform()
    edge = BRepBuilderAPI_MakeEdge(interp.Curve()).Edge()
    return BRepBuilderAPI_MakeWire(edge).Wire()


def freeform(rng: random.Random) -> Any:
    """A smooth body lofted through 4 to 7 closed B-spline sections."""
    from OCP.BRepOffsetAPI import BRepOffsetAPI_ThruSections

    size = rng.uniform(20, 200)
    loft = BRepOffsetAPI_ThruSections(True, False, 1e-6)
    count = rng.randint(4, 7)
    height = size * rng.uniform(0.6, 2.5)
    lobes = [rng.uniform(-0.15, 0.15) for _ in range(rng.randint(1, 3))]
    for i in range(count):
        t = i / (count - 1)
        # Rounded at the ends, fuller in the middle, never a cylinder.
        radius = size / 2 * (0.35 + 0.65 * math.sin(math.pi * (0.15 + 0.7 * t)))
        radius *= rng.uniform(0.8, 1.2)
        loft.AddWire(_closed_curve(rng, radius, height * t, lobes))
    loft.Build()
    return loft.Shape()


def building(rng: random.Random) -> Any:
    """A slab and outer walls with openings, perhaps an inner wall."""
    w, d = rng.uniform(4000, 20000), rng.uniform(4000, 15000)
    wall, height, slab = rng.uniform(150, 400), rng.uniform(2400, 3200), 250.0
    parts = [
        solids.box(w, d, slab),
        solids.box(w, wall, height, at=(0, 0, slab)),
        solids.box(w, wall, height, at=(0, d - wall, slab)),
        solids.box(wall, d, height, at=(0, 0, slab)),
        solids.box(wall, d, height, at=(w - wall, 0, slab)),
    ]
    if rng.random() < 0.6:
        x = rng.uniform(0.3, 0.7) * w
        parts.append(solids.box(wall * 0.6, d, height, at=(x, 0, slab)))
    shell = parts3d._fuse(parts[0], *parts[1:])
    openings = []
    for _ in range(rng.randint(2, 6)):
        door = rng.random() < 0.3
        ow = rng.uniform(800, 1000) if door else rng.uniform(600, 2000)
        oh = 2100 if door else rng.uniform(600, 1400)
        z = slab if door else slab + rng.uniform(800, 1000)
        if rng.random() < 0.5:  # a long wall
            x, y = rng.uniform(wall, w - wall - ow), rng.choice((-1.0, d - wall - 1))
            openings.append(solids.box(ow, wall + 2, oh, at=(x, y, z)))
        else:
            x, y = rng.choice((-1.0, w - wall - 1)), rng.uniform(wall, d - wall - ow)
            openings.append(solids.box(wall + 2, ow, oh, at=(x, y, z)))
    return parts3d._cut(shell, solids.compound(*openings))


def assembly(rng: random.Random) -> Any:
    """Two to five parts of different families in a row, each its own body."""
    families = rng.sample(sorted(parts3d.FAMILIES), rng.randint(2, 5))
    bodies, x = [], 0.0
    for label in families:
        shape = parts3d.build_solid(label, rng)
        lo, hi = _bounds(shape)
        bodies.append(solids.transformed(shape, move=(x - lo[0], -lo[1], -lo[2])))
        x += hi[0] - lo[0] + rng.uniform(2, 30)
    return solids.compound(*bodies)


def _bounds(shape: Any) -> tuple[tuple[float, ...], tuple[float, ...]]:
    from OCP.Bnd import Bnd_Box
    from OCP.BRepBndLib import BRepBndLib

    box = Bnd_Box()
    BRepBndLib.Add_s(shape, box)
    lo, hi = box.CornerMin(), box.CornerMax()
    return (lo.X(), lo.Y(), lo.Z()), (hi.X(), hi.Y(), hi.Z())


KINDS: dict[str, Callable[[random.Random], Any]] = {
    "board": board,
    "heatsink": heatsink,
    "freeform": freeform,
    "building": building,
    "assembly": assembly,
}


def build_other_solid(rng: random.Random, kind: str | None = None) -> Any:
    """One model of ``kind`` (one of ``KINDS`` at random when None)."""
    if kind is None:
        kind = rng.choice(sorted(KINDS))
    try:
        make = KINDS[kind]
    except KeyError:
        raise ValueError(
            f"unknown kind {kind!r}; choose from {sorted(KINDS)}"
        ) from None
    return make(rng)


def generate_other_solid(
    rng: random.Random, kind: str | None = None
) -> tuple[str, bytes]:
    """``(file name, bytes)`` of one model of another domain, written as
    ``parts3d.generate_solid`` writes a part."""
    return parts3d.written(build_other_solid(rng, kind), rng, "model")
