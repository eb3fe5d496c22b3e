"""The dxf-3 outline view: teeth and repeated features show whichever way a
tool writes them, and a plain disc shows none."""

from __future__ import annotations

import math

import pytest
from ezdxf.math import ConstructionArc

from apps.cad.features import DXF7_SLOTS
from apps.cad.pipeline import analyze_bytes
from tests.cad.conftest import dxf_bytes

NAMES = [s.name for s in DXF7_SLOTS]


def outline(content: bytes) -> dict[str, float]:
    v = analyze_bytes("x.dxf", content, preview=False)["features"]
    named = dict(zip(NAMES, v, strict=True))
    return {n: x for n, x in named.items() if n.startswith("out_")}


def tooth_points(z: int, ro: float, rr: float) -> list[tuple[float, float]]:
    w = math.pi / z
    pts = []
    for i in range(z):
        a = 2 * math.pi * i / z
        for f, r in ((-0.55, rr), (-0.3, ro), (0.3, ro), (0.55, rr)):
            pts.append((r * math.cos(a + f * w), r * math.sin(a + f * w)))
    return pts


def polyline_gear(z: int) -> bytes:
    def draw(doc, msp):  # type: ignore[no-untyped-def]
        msp.add_lwpolyline(tooth_points(z, 50.0, 44.0), close=True)
        msp.add_circle((0, 0), 8.0)

    return dxf_bytes(draw)


def arc_spline_gear(z: int, *, in_block: bool = False) -> bytes:
    """Tip and root lands as ARCs, flanks as SPLINEs (as gear generators write
    them), optionally inside a block inserted turned and moved."""
    ro, rr = 50.0, 44.0
    w = math.pi / z

    def teeth(space):  # type: ignore[no-untyped-def]
        for i in range(z):
            a = 2 * math.pi * i / z
            deg = math.degrees
            space.add_arc((0, 0), ro, deg(a - 0.3 * w), deg(a + 0.3 * w))
            space.add_arc((0, 0), rr, deg(a + 0.55 * w), deg(a + 1.45 * w))
            for (r0, b0), (r1, b1) in (
                ((rr, a - 0.55 * w), (ro, a - 0.3 * w)),
                ((ro, a + 0.3 * w), (rr, a + 0.55 * w)),
            ):
                rm, bm = (r0 + r1) / 2, (b0 + b1) / 2
                space.add_spline(
                    [
                        (r0 * math.cos(b0), r0 * math.sin(b0)),
                        (rm * math.cos(bm), rm * math.sin(bm)),
                        (r1 * math.cos(b1), r1 * math.sin(b1)),
                    ]
                )
        space.add_circle((0, 0), 8.0)

    def draw(doc, msp):  # type: ignore[no-untyped-def]
        if in_block:
            block = doc.blocks.new("GEAR")
            teeth(block)
            msp.add_blockref("GEAR", (300, -120), dxfattribs={"rotation": 37})
        else:
            teeth(msp)

    return dxf_bytes(draw)


def arc_flank_gear(z: int) -> bytes:
    """Every edge an ARC: lands about the centre, each flank a short arc
    through three points (Fusion's spur gear and many laser-cut files)."""
    ro, rr = 50.0, 44.0
    w = math.pi / z

    def polar(r: float, b: float) -> tuple[float, float]:
        return (r * math.cos(b), r * math.sin(b))

    def draw(doc, msp):  # type: ignore[no-untyped-def]
        deg = math.degrees
        for i in range(z):
            a = 2 * math.pi * i / z
            msp.add_arc((0, 0), ro, deg(a - 0.3 * w), deg(a + 0.3 * w))
            msp.add_arc((0, 0), rr, deg(a + 0.55 * w), deg(a + 1.45 * w))
            for side in (-1, 1):
                start, end = (
                    polar(rr, a + side * 0.55 * w),
                    polar(ro, a + side * 0.3 * w),
                )
                mid = polar((rr + ro) / 2, a + side * 0.47 * w)
                arc = ConstructionArc.from_3p(start, end, mid)
                if arc.angle_span > 180:  # counter-clockwise the short way
                    arc = ConstructionArc.from_3p(end, start, mid)
                msp.add_arc(arc.center, arc.radius, arc.start_angle, arc.end_angle)
        msp.add_circle((0, 0), 8.0)

    return dxf_bytes(draw)


def disc() -> bytes:
    def draw(doc, msp):  # type: ignore[no-untyped-def]
        msp.add_circle((0, 0), 50.0)
        msp.add_circle((0, 0), 8.0)

    return dxf_bytes(draw)


def tooth_order(slots: dict[str, float]) -> int:
    return round(2 ** (slots["out_peak_order"] * 7))


@pytest.mark.parametrize("z", [12, 24, 60])
def test_a_gear_outline_shows_its_tooth_count_whichever_way_it_is_written(
    z: int,
) -> None:
    poly = outline(polyline_gear(z))
    arcs = outline(arc_spline_gear(z))
    all_arcs = outline(arc_flank_gear(z))
    assert tooth_order(poly) == z
    assert tooth_order(arcs) == z
    assert tooth_order(all_arcs) == z
    # The teeth carry most of the profile's variation.
    assert poly["out_peak_purity"] > 0.8 and arcs["out_peak_purity"] > 0.8
    assert all_arcs["out_peak_purity"] > 0.8


def test_a_plain_disc_has_no_teeth_and_arcs_are_not_read_as_whole_circles() -> None:
    plain = outline(disc())
    gear = outline(arc_spline_gear(24))
    assert plain["out_cv"] < 0.01 and plain["out_peak_amp"] < 0.01
    assert gear["out_peak_amp"] > 10 * max(plain["out_peak_amp"], 1e-3)
    # 48 lands about the centre are arcs, the bore is the one whole circle.
    # (Stored vectors hold six decimals.)
    assert gear["out_concentric_arcs"] == pytest.approx(
        math.log1p(48) / math.log(257), abs=1e-6
    )
    assert gear["out_concentric_circles"] == pytest.approx(
        math.log1p(1) / math.log(257), abs=1e-6
    )
    assert plain["out_concentric_arcs"] == 0.0


def test_arcs_inside_a_turned_block_read_as_drawn_in_place() -> None:
    direct = outline(arc_spline_gear(30))
    inserted = outline(arc_spline_gear(30, in_block=True))
    assert tooth_order(inserted) == 30
    assert inserted["out_concentric_arcs"] == direct["out_concentric_arcs"]
    for name, value in direct.items():
        assert inserted[name] == pytest.approx(value, abs=0.03), name


def test_a_gear_with_densely_written_flanks_is_posed_on_its_centre() -> None:
    """Gear generators write each flank in hundreds of tiny segments and each
    land as one long one: thousands of segments, most of the length in a few.
    The drawing is still centred on the wheel and reads its tooth count."""
    z, ro, rr = 24, 50.0, 44.0
    w = math.pi / z
    pts: list[tuple[float, float]] = []
    for i in range(z):
        a = 2 * math.pi * i / z
        for f0, r0, f1, r1 in ((-0.55, rr, -0.3, ro), (0.3, ro, 0.55, rr)):
            for k in range(120):  # a flank: 120 tiny segments
                f, r = f0 + (f1 - f0) * k / 120, r0 + (r1 - r0) * k / 120
                pts.append((r * math.cos(a + f * w), r * math.sin(a + f * w)))
    content = dxf_bytes(lambda doc, msp: msp.add_lwpolyline(pts, close=True))
    slots = outline(content)
    assert tooth_order(slots) == z
    # Off its centre, a ring's profile is a lopsided order-1 wave.
    assert slots["out_band_1_1"] < 0.05 and slots["out_cv"] < 0.1
