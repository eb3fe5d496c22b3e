"""STEP and IGES solids: measures checked against shapes whose volume, area and
faces are known in closed form, and the invariances of the brep-1 and brep-2
vectors."""

from __future__ import annotations

import math
import re

import pytest

from apps.cad.features import MESH_SLOTS, schema
from apps.cad.formats import brep
from apps.cad.formats.brep import BREP2_SLOTS, BREP_SLOTS, BREP_VERSIONS
from apps.cad.pipeline import analyze_bytes, render_preview
from apps.cad.synth import solids as S


def solid_of(content: bytes) -> dict:  # type: ignore[type-arg]
    result = analyze_bytes("part.step", content, preview=False)
    assert result["feature_version"] == "brep-2"
    return result["stats"]["solid"]


def features(content: bytes, version: str) -> list[float]:
    return brep.analyze(brep.load(content, "step"), version)["features"]


def brep2(content: bytes) -> dict[str, float]:
    return dict(
        zip((s.name for s in BREP2_SLOTS), features(content, "brep-2"), strict=True)
    )


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


@pytest.mark.parametrize("version", sorted(BREP_VERSIONS))
@pytest.mark.parametrize("move", MOVES)
def test_brep_vector_is_invariant(move: dict, version: str) -> None:  # type: ignore[type-arg]
    part = S.box_with_hole(12, 25, 31, 5)
    base = features(S.step_bytes(part), version)
    other = features(S.step_bytes(S.transformed(part, **move)), version)
    rotated = "angle" in move
    for slot, a, b in zip(BREP_VERSIONS[version], base, other, strict=True):
        if rotated and slot.rotation == "robust":
            continue
        assert b == pytest.approx(a, rel=1e-5, abs=1e-7), slot.name


@pytest.mark.parametrize("move", MOVES)
def test_brep2_vector_of_a_torus_and_a_cylinder_is_invariant(move: dict) -> None:  # type: ignore[type-arg]
    # Turned parts: two equal moments of inertia, so the principal axes (and
    # the oriented box's frame) are not unique.
    part = S.compound(
        S.torus(10, 2), S.transformed(S.cylinder(3, 12), move=(30.0, 0.0, 0.0))
    )
    base = features(S.step_bytes(part), "brep-2")
    other = features(S.step_bytes(S.transformed(part, **move)), "brep-2")
    rotated = "angle" in move
    for slot, a, b in zip(BREP2_SLOTS, base, other, strict=True):
        if rotated and slot.rotation == "robust":
            continue
        assert b == pytest.approx(a, rel=1e-5, abs=1e-7), slot.name


@pytest.mark.parametrize("version", sorted(BREP_VERSIONS))
def test_every_brep_slot_is_documented_in_the_schema(version: str) -> None:
    slots = schema()[version]
    assert [s["name"] for s in slots] == [s.name for s in BREP_VERSIONS[version]]
    assert all(s["description"] for s in slots)
    assert len({s["name"] for s in slots}) == len(slots)


def test_brep2_shares_the_brep1_solid_slots_and_drops_the_mesh() -> None:
    content = S.step_bytes(S.perforated_plate(3, 4))
    v1, v2 = features(content, "brep-1"), features(content, "brep-2")
    shared = len(BREP_SLOTS) - len(MESH_SLOTS)
    assert [s.name for s in BREP2_SLOTS[:shared]] == [
        s.name for s in BREP_SLOTS[:shared]
    ]
    assert v2[:shared] == v1[:shared]
    assert not any(s.name.startswith("mesh_") for s in BREP2_SLOTS)


def test_analyses_store_brep2_unless_the_deployment_asks_for_brep1(settings) -> None:  # type: ignore[no-untyped-def]
    content = S.step_bytes(S.box_with_hole())
    default = analyze_bytes("a.step", content, preview=False)
    assert default["feature_version"] == "brep-2"
    assert len(default["features"]) == len(BREP2_SLOTS)
    settings.CADML_BREP_FEATURE_VERSION = "brep-1"
    old = analyze_bytes("a.step", content, preview=False)
    assert old["feature_version"] == "brep-1"
    assert old["features"] == features(content, "brep-1")
    # The measures do not depend on the version; each part's vector is the
    # version's (one solid: the whole's).
    for analysis in (old, default):
        (part,) = analysis["stats"]["solid"]["parts"]
        assert part.pop("features") == analysis["features"]
    assert old["stats"] == default["stats"]


def test_brep2_of_a_box_with_a_through_hole_is_exact() -> None:
    v = brep2(S.step_bytes(S.box_with_hole(10, 20, 30, 4)))
    volume = 6000 - math.pi * 2**2 * 30
    assert v["obb_fill"] == pytest.approx(volume / 6000, rel=1e-6)
    assert v["closed"] == 1.0
    # The hole opens in the two end faces.
    assert v["log_inner_loops"] == pytest.approx(math.log1p(2))


def test_brep2_principal_extents_of_a_plain_box_are_its_side_ratios() -> None:
    v = brep2(S.step_bytes(S.box(10, 20, 30)))
    assert v["gyration_mid_major"] == pytest.approx(20 / 30, rel=1e-9)
    assert v["gyration_minor_major"] == pytest.approx(10 / 30, rel=1e-9)
    assert v["obb_fill"] == pytest.approx(1.0, rel=1e-9)
    assert v["log_inner_loops"] == 0.0


def test_brep2_of_a_cylinder_is_exact() -> None:
    r, h = 5.0, 10.0
    v = brep2(S.step_bytes(S.cylinder(r, h)))
    assert v["obb_fill"] == pytest.approx(math.pi / 4, rel=1e-6)
    # Second moments: h^2/12 along the axis, r^2/4 across it.
    major, across = h**2 / 12, r**2 / 4
    assert v["gyration_mid_major"] == pytest.approx(math.sqrt(across / major), rel=1e-6)
    assert v["gyration_minor_major"] == pytest.approx(
        math.sqrt(across / major), rel=1e-6
    )
    assert v["closed"] == 1.0


def test_brep2_of_a_torus_is_exact() -> None:
    big, small = 10.0, 2.0
    v = brep2(S.step_bytes(S.torus(big, small)))
    volume = 2 * math.pi**2 * big * small**2
    side = 2 * (big + small)
    assert v["obb_fill"] == pytest.approx(volume / (side * side * 2 * small), rel=1e-6)
    # Second moments: R^2/2 + 3r^2/8 in the torus plane, r^2/4 along its axis.
    in_plane, along = big**2 / 2 + 3 * small**2 / 8, small**2 / 4
    assert v["gyration_mid_major"] == pytest.approx(1.0, rel=1e-6)
    assert v["gyration_minor_major"] == pytest.approx(
        math.sqrt(along / in_plane), rel=1e-6
    )
    assert v["closed"] == 1.0 and v["log_inner_loops"] == 0.0


def test_a_lone_face_is_not_closed() -> None:
    from OCP.BRepBuilderAPI import BRepBuilderAPI_MakeFace
    from OCP.gp import gp_Pln

    face = BRepBuilderAPI_MakeFace(gp_Pln(), 0.0, 10.0, 0.0, 5.0).Face()
    v = brep2(S.step_bytes(face))
    assert v["closed"] == 0.0
    assert v["log_solids"] == 0.0


TURNED = [
    S.torus(10, 2),
    S.transformed(S.torus(10, 2), axis=(0.0, 1.0, 1.0), angle=1.1, move=(1.0, 2, 3)),
    S.compound(
        S.transformed(S.box_with_hole(12, 25, 31, 5), axis=(1.0, 2, 3), angle=0.7),
        S.transformed(S.torus(6, 1), axis=(1.0, 0, 0), angle=0.3, move=(40.0, 0, 0)),
    ),
]


@pytest.mark.parametrize("shape", TURNED)
def test_boxes_are_the_kernels_own(shape) -> None:  # type: ignore[no-untyped-def]
    from OCP.Bnd import Bnd_Box, Bnd_OBB
    from OCP.BRepBndLib import BRepBndLib

    content = S.step_bytes(shape)
    loaded = brep.load(content, "step")
    box = Bnd_Box()
    BRepBndLib.AddOptimal_s(loaded.shape, box, False, False)
    obb = Bnd_OBB()
    BRepBndLib.AddOBB_s(loaded.shape, obb, False, True, False)
    lo, hi = box.CornerMin(), box.CornerMax()
    kernel_box = [lo.X(), lo.Y(), lo.Z(), hi.X(), hi.Y(), hi.Z()]
    a, b, c = sorted([obb.XHSize(), obb.YHSize(), obb.ZHSize()])
    v = brep2(content)
    assert solid_of(content)["bbox_mm"] == pytest.approx(kernel_box, abs=1e-6)
    # The vector is rounded to 9 decimals.
    assert v["obb_mid_ratio"] == pytest.approx(b / c, abs=1e-9)
    assert v["obb_min_ratio"] == pytest.approx(a / c, abs=1e-9)


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
