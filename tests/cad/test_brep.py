"""STEP and IGES solids: measures checked against shapes whose volume, area and
faces are known in closed form, and the brep-1 vector's invariances."""

from __future__ import annotations

import math
import re

import pytest

from apps.cad.features import schema
from apps.cad.formats.brep import BREP_FEATURE_VERSION, BREP_SLOTS
from apps.cad.pipeline import analyze_bytes, render_preview
from apps.cad.synth import solids as S


def solid_of(content: bytes) -> dict:  # type: ignore[type-arg]
    result = analyze_bytes("part.step", content, preview=False)
    assert result["feature_version"] == BREP_FEATURE_VERSION
    return result["stats"]["solid"]


def test_a_box_with_a_through_hole_measures_exactly() -> None:
    s = solid_of(S.step_bytes(S.box_with_hole(10, 20, 30, 4)))
    assert s["volume_mm3"] == pytest.approx(6000 - math.pi * 2**2 * 30, rel=1e-9)
    area = 2 * (200 + 300 + 600) - 2 * math.pi * 2**2 + 2 * math.pi * 2 * 30
    assert s["area_mm2"] == pytest.approx(area, rel=1e-9)
    assert s["faces_by_type"] == {"plane": 6, "cylinder": 1}
    assert s["bbox_mm"] == pytest.approx([0, 0, 0, 10, 20, 30])
    assert s["holes"] == pytest.approx([4.0])
    assert s["genus"] == 1
    assert (s["solids"], s["units"]) == (1, "mm")


def test_a_cylinder_is_a_boss_not_a_hole() -> None:
    s = solid_of(S.step_bytes(S.cylinder(5, 10)))
    assert s["volume_mm3"] == pytest.approx(math.pi * 25 * 10, rel=1e-9)
    assert s["area_mm2"] == pytest.approx(2 * math.pi * 25 + 2 * math.pi * 5 * 10)
    assert s["faces_by_type"] == {"plane": 2, "cylinder": 1}
    assert s["holes"] == [] and s["genus"] == 0


def test_a_torus_has_genus_one() -> None:
    s = solid_of(S.step_bytes(S.torus(10, 2)))
    assert s["volume_mm3"] == pytest.approx(2 * math.pi**2 * 10 * 2**2, rel=1e-9)
    assert s["area_mm2"] == pytest.approx(4 * math.pi**2 * 10 * 2, rel=1e-9)
    assert s["faces_by_type"] == {"torus": 1}
    assert s["genus"] == 1


def test_an_inch_file_is_reported_as_inch_and_measured_in_mm() -> None:
    s = solid_of(S.step_bytes(S.box_with_hole(), unit="INCH"))
    assert s["units"] == "inch"
    assert s["volume_mm3"] == pytest.approx(6000 - math.pi * 4 * 30, rel=1e-9)


def test_a_metre_file_is_reported_as_m_and_measured_in_mm() -> None:
    s = solid_of(S.step_bytes(S.box(10, 20, 30), unit="M"))
    assert s["units"] == "m"
    assert s["volume_mm3"] == pytest.approx(6000, rel=1e-9)


def test_iges_reads_to_the_same_solid_as_step() -> None:
    result = analyze_bytes("part.igs", S.iges_bytes(S.box_with_hole()), preview=False)
    assert result["format"] == "iges"
    s = result["stats"]["solid"]
    assert s["faces_by_type"] == {"plane": 6, "cylinder": 1}
    assert s["volume_mm3"] == pytest.approx(6000 - math.pi * 4 * 30, rel=1e-6)
    step = analyze_bytes("p.step", S.step_bytes(S.box_with_hole()), preview=False)
    assert result["features"] == pytest.approx(step["features"], rel=1e-6, abs=1e-9)


def test_an_assembly_lists_each_solid_with_its_measures() -> None:
    comp = S.compound(
        S.box(1, 2, 3), S.transformed(S.cylinder(1, 2), move=(5.0, 0.0, 0.0))
    )
    s = solid_of(S.step_bytes(comp))
    assert s["solids"] == 2
    assert [p["volume_mm3"] for p in s["parts"]] == pytest.approx([6.0, 2 * math.pi])
    assert s["parts"][1]["bbox_mm"] == pytest.approx([4, -1, 0, 6, 1, 2])
    assert s["volume_mm3"] == pytest.approx(6 + 2 * math.pi)
    assert all(len(p["transform"]) == 3 for p in s["parts"])


MOVES = [
    {"move": (120.0, -45.0, 7.5)},
    {"axis": (1.0, 2.0, 3.0), "angle": 0.7},
    {"axis": (0.0, 1.0, 0.0), "angle": 2.1, "move": (3.0, 3.0, 3.0)},
    {"scale": 3.5},
    {"scale": 0.02},
]


@pytest.mark.parametrize("move", MOVES)
def test_brep_vector_is_invariant(move: dict) -> None:  # type: ignore[type-arg]
    part = S.box_with_hole(12, 25, 31, 5)
    base = analyze_bytes("a", S.step_bytes(part), preview=False)["features"]
    moved = S.step_bytes(S.transformed(part, **move))
    other = analyze_bytes("b", moved, preview=False)["features"]
    rotated = "angle" in move
    for slot, a, b in zip(BREP_SLOTS, base, other, strict=True):
        if rotated and slot.rotation == "robust":
            continue
        assert b == pytest.approx(a, rel=1e-5, abs=1e-7), slot.name


def test_every_brep_slot_is_documented_in_the_schema() -> None:
    slots = schema()[BREP_FEATURE_VERSION]
    assert len(slots) == len(BREP_SLOTS)
    assert all(s["description"] for s in slots)
    assert len({s["name"] for s in slots}) == len(slots)


def test_different_parts_get_different_vectors() -> None:
    a = analyze_bytes("a", S.step_bytes(S.box_with_hole()), preview=False)
    b = analyze_bytes("b", S.step_bytes(S.cylinder(5, 10)), preview=False)
    assert a["features"] != pytest.approx(b["features"])


def test_preview_removes_hidden_lines() -> None:
    # An isometric box shows 9 of its 12 edges; the other 3 are behind it.
    svg = render_preview("box.step", S.step_bytes(S.box(10, 20, 30)))["preview_svg"]
    path = re.search(r'<path fill="none"[^>]* d="([^"]+)"', svg)
    assert path is not None
    assert path.group(1).count("M") == 9


def test_preview_of_a_holed_box_draws_the_hole() -> None:
    plain = render_preview("a", S.step_bytes(S.box(10, 20, 30)))["preview_svg"]
    holed = render_preview("b", S.step_bytes(S.box_with_hole()))["preview_svg"]
    assert holed.count("L") > plain.count("L") + 10  # the circle's segments


def test_a_perforated_plate_counts_every_hole_and_through_hole() -> None:
    s = solid_of(S.step_bytes(S.perforated_plate(3, 4)))
    assert s["holes"] == pytest.approx([4.0] * 12)
    assert s["genus"] == 12
    assert s["faces_by_type"] == {"plane": 6, "cylinder": 12}
    assert s["volume_mm3"] == pytest.approx((36 * 45 - 12 * math.pi * 4) * 5)
