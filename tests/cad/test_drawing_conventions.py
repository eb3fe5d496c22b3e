"""How the generator draws parts as other tools save them (what the default
model learns real drawings from): cut plates with rounded corners, slots and
holes in corners or around a boss; angle brackets as profiles with gussets or
as flat patterns; gear data beside gears. The same seed gives the same file."""

from __future__ import annotations

import functools
import io
import math
import random
from collections.abc import Callable
from typing import Any

import ezdxf
import numpy as np
import pytest

from apps.cad.features import DXF3_VIEWS
from apps.cad.pipeline import analyze_bytes
from apps.cad.synth import generate_part
from apps.cad.synth.generator import Pen, _old_polylines


@functools.cache  # generated gears are slow to draw: once per module
def _drawings(label: str, n: int) -> list[ezdxf.document.Drawing]:
    return [
        ezdxf.read(
            io.StringIO(
                generate_part(label, random.Random(seed), conventions=True).decode(
                    "utf-8", "replace"
                )
            )
        )
        for seed in range(n)
    ]


@pytest.mark.parametrize("label", ["hole_plate", "l_bracket", "spur_gear"])
def test_the_same_seed_gives_the_same_file(label: str) -> None:
    a = generate_part(label, random.Random(5), conventions=True)
    assert a == generate_part(label, random.Random(5), conventions=True)
    assert a != generate_part(label, random.Random(6), conventions=True)


def _bulges(doc: ezdxf.document.Drawing) -> list[float]:
    return [
        b
        for e in doc.modelspace().query("LWPOLYLINE")
        for *_, b in e.get_points("xyb")
        if b
    ]


def test_plates_come_with_rounded_corners_slots_and_holes_as_cut_files_have_them() -> (
    None
):
    docs = _drawings("hole_plate", 40)
    curved = [d for d in docs if _bulges(d) or len(d.modelspace().query("ARC"))]
    # An obround slot: two half circles, as bulges of 1 or as 180-degree ARCs.
    half = [
        d
        for d in docs
        if any(abs(b) == 1.0 for b in _bulges(d))
        or any(
            abs((a.dxf.end_angle - a.dxf.start_angle) % 360 - 180) < 1e-6
            for a in d.modelspace().query("ARC")
        )
    ]
    holed = [d for d in docs if len(d.modelspace().query("CIRCLE")) >= 2]
    assert len(curved) >= 10
    assert len(half) >= 3
    assert len(holed) >= 25  # the rest exploded into LINEs, as some exporters do


def test_brackets_come_as_profiles_and_as_flat_l_shaped_plates() -> None:
    docs = _drawings("l_bracket", 30)
    # The flat pattern: an L of six corners with holes in both arms, no views beside it.
    flat = [
        d
        for d in docs
        if len(d.modelspace().query("CIRCLE")) >= 2
        and not d.modelspace().query("HATCH")
        and len(d.modelspace().query("LWPOLYLINE")) <= 1
    ]
    assert flat
    assert len(flat) < len(docs)


def test_gears_carry_gear_data_text_in_several_languages() -> None:
    words = " ".join(
        t.dxf.text
        for d in _drawings("spur_gear", 40)
        for t in d.modelspace().query("TEXT")
    )
    assert "Number of Teeth" in words or "Number Of Teeth" in words
    assert "Zähnezahl" in words
    assert "齿数" in words


_Q = math.tan(math.radians(22.5))  # the bulge of a quarter circle
# A 100 x 60 plate with corners rounded at radius 10, as (x, y, bulge).
ROUNDED = [(10, 0, 0), (90, 0, _Q), (100, 10, 0), (100, 50, _Q)]
ROUNDED += [(90, 60, 0), (10, 60, _Q), (0, 50, 0), (0, 10, _Q)]


def _vector(
    draw: Callable[[Pen], None], after: Callable[[Any], None] | None = None
) -> np.ndarray:
    doc = ezdxf.new("R2010")
    draw(Pen(doc.modelspace(), random.Random(0), 0.4, {"o": "0", "c": "0"}))
    if after:
        after(doc.modelspace())
    out = io.StringIO()
    doc.write(out)
    vec = analyze_bytes("c.dxf", out.getvalue().encode(), preview=False)["features"]
    return np.asarray(vec, dtype=float)


def test_a_contour_as_one_polyline_or_as_lines_and_arcs_has_one_outer_profile() -> None:
    def drawn(segments: bool) -> Callable[[Pen], None]:
        def draw(pen: Pen) -> None:
            pen.contour(ROUNDED, segments=segments)
            pen.slot((50.0, 30.0), 40.0, 8.0, vertical=False)
            pen.circle((20.0, 30.0), 5.0)

        return draw

    one, parts = _vector(drawn(False)), _vector(drawn(True))
    # The outer profile's slots (not the counts of ARCs, which differ by
    # design: a bulge is not an ARC entity).
    lo = DXF3_VIEWS["outline"][0]
    assert np.abs(one[lo : lo + 13] - parts[lo : lo + 13]).max() < 0.06


def test_an_old_style_polyline_reads_as_the_same_picture_and_profile() -> None:
    def draw(pen: Pen) -> None:
        pen.contour(ROUNDED, segments=False)
        pen.circle((30.0, 30.0), 8.0)

    def old_style(msp: Any) -> None:
        _old_polylines(msp)
        assert msp.query("POLYLINE")
        assert not msp.query("LWPOLYLINE")

    lw, old = _vector(draw), _vector(draw, old_style)
    for view in ("picture", "outline"):
        lo, hi = DXF3_VIEWS[view]
        assert np.abs(lw[lo:hi] - old[lo:hi]).max() < 1e-3, view


def test_one_view_gears_are_often_the_toothed_outline_alone() -> None:
    # As gear generators write them: no bore, no centre lines, no sheet; at
    # most the gear data beside it.
    alone = sum(
        {e.dxftype() for e in d.modelspace()} - {"TEXT"}
        <= {"LWPOLYLINE", "POLYLINE", "LINE", "ARC", "SPLINE"}
        for d in _drawings("spur_gear", 40)
    )
    assert alone >= 6
