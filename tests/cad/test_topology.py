"""The dxf-6 topology view: a part's closed outline, a symbol's leads in the
air and a table's strokes ending on others read differently, whichever way a
tool writes the same strokes."""

from __future__ import annotations

import math

import pytest

from apps.cad.features import DXF7_SLOTS
from apps.cad.pipeline import analyze_bytes
from tests.cad.conftest import dxf_bytes

NAMES = [s.name for s in DXF7_SLOTS]
PLATE = [(0, 0), (120, 0), (120, 80), (0, 80)]
HOLES = [(15, 15), (105, 15), (105, 65), (15, 65)]


def topology(content: bytes) -> dict[str, float]:
    v = analyze_bytes("x.dxf", content, preview=False)["features"]
    named = dict(zip(NAMES, v, strict=True))
    return {n: x for n, x in named.items() if n.startswith("topo_")}


def plate(how: str) -> bytes:
    """A plate with rounded-off corners (one ARC each) and four holes."""

    def draw(doc, msp):  # type: ignore[no-untyped-def]
        r = 8.0
        corners = [(r, r), (120 - r, r), (120 - r, 80 - r), (r, 80 - r)]
        starts = (180, 270, 0, 90)
        if how == "polyline":
            # The same outline as one bulged LWPOLYLINE (bulge tan(90/4)).
            b = math.tan(math.radians(90) / 4)
            msp.add_lwpolyline(
                [
                    (r, 0, 0),
                    (120 - r, 0, b),
                    (120, r, 0),
                    (120, 80 - r, b),
                    (120 - r, 80, 0),
                    (r, 80, b),
                    (0, 80 - r, 0),
                    (0, r, b),
                ],
                format="xyb",
                close=True,
            )
        else:
            for (cx, cy), a in zip(corners, starts, strict=True):
                msp.add_arc((cx, cy), r, a, a + 90)
            edges = [
                ((r, 0), (120 - r, 0)),
                ((120, r), (120, 80 - r)),
                ((120 - r, 80), (r, 80)),
                ((0, 80 - r), (0, r)),
            ]
            for a, b in edges:
                if how == "reversed":
                    a, b = b, a  # drawn the other way round
                msp.add_line(a, b)
        for c in HOLES:
            msp.add_circle(c, 4.0)

    return dxf_bytes(draw)


def symbol() -> bytes:
    """A resistor as schematics draw it: a box and two leads ending in the air."""

    def draw(doc, msp):  # type: ignore[no-untyped-def]
        msp.add_lwpolyline([(20, -6), (60, -6), (60, 6), (20, 6)], close=True)
        msp.add_line((0, 0), (20, 0))
        msp.add_line((60, 0), (80, 0))

    return dxf_bytes(draw)


def table() -> bytes:
    """A title-block table: a frame and rules that end on it."""

    def draw(doc, msp):  # type: ignore[no-untyped-def]
        msp.add_lwpolyline([(0, 0), (180, 0), (180, 40), (0, 40)], close=True)
        for y in (10, 20, 30):
            msp.add_line((0, y), (180, y))
        for x in (60, 120):
            msp.add_line((x, 0), (x, 40))

    return dxf_bytes(draw)


@pytest.mark.parametrize("how", ["lines", "reversed", "polyline"])
def test_a_plate_outline_is_closed_however_it_is_written(how: str) -> None:
    t = topology(plate(how))
    assert t["topo_free_end_share"] == 0
    assert t["topo_closed_length_share"] == pytest.approx(1.0)
    assert t["topo_t_share"] == 0
    # The outline and four holes, and the outline is most of the length.
    assert t["topo_log_components"] == pytest.approx(math.log1p(5))
    assert t["topo_largest_share"] > 0.7


def test_a_symbols_leads_end_in_the_air_and_a_tables_rules_end_on_others() -> None:
    part, resistor, rules = (
        topology(plate("lines")),
        topology(symbol()),
        topology(table()),
    )
    # Two of the resistor's four lead ends touch nothing; the other two end on
    # its box (a T), as do all a table's rules.
    assert resistor["topo_free_end_share"] > 0.1
    assert resistor["topo_closed_length_share"] < part["topo_closed_length_share"]
    assert resistor["topo_t_share"] == pytest.approx(0.5)
    assert rules["topo_t_share"] == pytest.approx(1.0)
    assert rules["topo_free_end_share"] > 0.1


def test_no_strokes_gives_the_neutral_values_and_circles_alone_are_closed() -> None:
    def text_only(doc, msp):  # type: ignore[no-untyped-def]
        msp.add_text("NOTES ONLY", height=5)

    def washer(doc, msp):  # type: ignore[no-untyped-def]
        msp.add_circle((0, 0), 20.0)
        msp.add_circle((0, 0), 10.0)

    assert set(topology(dxf_bytes(text_only)).values()) == {0.0}
    ring = topology(dxf_bytes(washer))
    assert ring["topo_free_end_share"] == 0 and ring["topo_closed_length_share"] == 1
    assert ring["topo_largest_share"] == pytest.approx(2 / 3, abs=1e-6)
