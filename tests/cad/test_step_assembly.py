"""STEP assemblies (each part named and placed, measured on its own) and AP242
semantic PMI (dimensions, tolerances, datums) read through OpenCascade's XCAF.
The files are written by the same kernel's XCAF writer."""

from __future__ import annotations

import math

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.cad.pipeline import analyze_bytes
from apps.cad.synth import solids as S

QUARTER = math.pi / 2


def solid_of(content: bytes) -> dict:  # type: ignore[type-arg]
    return analyze_bytes("asm.step", content, preview=False)["stats"]["solid"]


def flat(part: dict) -> list[float]:  # type: ignore[type-arg]
    return [v for row in part["transform"] for v in row]


@pytest.fixture(scope="module")
def bracket() -> bytes:
    return S.assembly_step_bytes(
        "Bracket assembly",
        [
            ("Base plate", S.box(10, 20, 30), [{"move": (100.0, 0.0, 0.0)}]),
            (
                "Pin",
                S.cylinder(2, 8),
                [
                    {"move": (0.0, 50.0, 5.0), "angle": QUARTER},
                    {"move": (0.0, -50.0, 0.0)},
                ],
            ),
        ],
    )


def test_each_part_of_an_assembly_has_its_name_and_placement(bracket: bytes) -> None:
    s = solid_of(bracket)
    parts = s["parts"]
    assert [p["name"] for p in parts] == ["Base plate", "Pin", "Pin"]
    assert (s["parts_total"], s["parts_omitted"], s["solids"]) == (3, 0, 3)
    # 3x4 row-major: rotation, then the translation in the last column.
    assert flat(parts[0]) == pytest.approx(
        [1, 0, 0, 100, 0, 1, 0, 0, 0, 0, 1, 0], abs=1e-9
    )
    assert flat(parts[1]) == pytest.approx(
        [0, -1, 0, 0, 1, 0, 0, 50, 0, 0, 1, 5], abs=1e-9
    )
    assert flat(parts[2]) == pytest.approx(
        [1, 0, 0, 0, 0, 1, 0, -50, 0, 0, 1, 0], abs=1e-9
    )
    assert parts[2]["bbox_mm"] == pytest.approx([-2, -52, 0, 2, -48, 8], abs=1e-6)


def test_each_part_is_measured_on_its_own_and_the_whole_is_their_sum(
    bracket: bytes,
) -> None:
    s = solid_of(bracket)
    pin = math.pi * 2**2 * 8
    assert [p["volume_mm3"] for p in s["parts"]] == pytest.approx([6000, pin, pin])
    assert s["parts"][0]["area_mm2"] == pytest.approx(2 * (200 + 300 + 600))
    assert s["parts"][1]["area_mm2"] == pytest.approx(
        2 * math.pi * 4 + 2 * math.pi * 2 * 8
    )
    assert [p["faces_by_type"] for p in s["parts"]] == [
        {"plane": 6},
        {"plane": 2, "cylinder": 1},
        {"plane": 2, "cylinder": 1},
    ]
    assert s["volume_mm3"] == pytest.approx(6000 + 2 * pin)
    assert s["faces_by_type"] == {"plane": 10, "cylinder": 2}


def test_the_whole_assembly_gets_the_features_of_the_same_solids_unnamed(
    bracket: bytes,
) -> None:
    loose = S.step_bytes(
        S.compound(
            S.transformed(S.box(10, 20, 30), move=(100.0, 0.0, 0.0)),
            S.transformed(S.cylinder(2, 8), move=(0.0, 50.0, 5.0), angle=QUARTER),
            S.transformed(S.cylinder(2, 8), move=(0.0, -50.0, 0.0)),
        )
    )
    asm = analyze_bytes("asm.step", bracket, preview=False)
    plain = analyze_bytes("loose.step", loose, preview=False)
    assert asm["features"] == pytest.approx(plain["features"], rel=1e-9, abs=1e-12)


def test_each_part_carries_the_vector_it_would_have_as_a_file_of_its_own(
    bracket: bytes,
) -> None:
    whole = analyze_bytes("asm.step", bracket, preview=False)
    parts = whole["stats"]["solid"]["parts"]
    alone = {
        "Base plate": analyze_bytes("b.step", S.step_bytes(S.box(10, 20, 30)))[
            "features"
        ],
        "Pin": analyze_bytes("p.step", S.step_bytes(S.cylinder(2, 8)))["features"],
    }
    for part in parts:
        assert len(part["features"]) == len(whole["features"])
        # Placement moves and turns a part; its vector stays its own.
        assert part["features"] == pytest.approx(alone[part["name"]], abs=1e-4)
    assert parts[0]["features"] != whole["features"]
    # A file of one solid: its one part is the whole.
    single = analyze_bytes("p.step", S.step_bytes(S.cylinder(2, 8)), preview=False)
    assert single["stats"]["solid"]["parts"][0]["features"] == single["features"]


def test_a_large_assembly_lists_the_first_parts_and_says_how_many_are_left_out() -> (
    None
):
    moves = [{"move": (3.0 * i, 0.0, 0.0)} for i in range(205)]
    s = solid_of(S.assembly_step_bytes("Rack", [("Cube", S.box(1, 1, 1), moves)]))
    assert (s["parts_total"], s["parts_omitted"], len(s["parts"])) == (205, 5, 200)
    assert s["parts"][199]["transform"][0][3] == pytest.approx(597.0)
    assert s["volume_mm3"] == pytest.approx(205.0)


def test_non_ascii_part_names_come_back_whole() -> None:
    content = S.assembly_step_bytes(
        "Baugruppe", [("Grundplatte Ø10 – Stahl", S.box(1, 2, 3), [{}])]
    )
    assert solid_of(content)["parts"][0]["name"] == "Grundplatte Ø10 – Stahl"


@pytest.fixture(scope="module")
def block_with_pmi() -> bytes:
    # box_with_hole's faces in the explorer's order: 0-5 the box's planes
    # (4 is the bottom, z = 0), 6 the hole.
    return S.pmi_step_bytes(
        S.box_with_hole(10, 20, 30, 4),
        "Block",
        dimensions=[(6, "Size_Diameter", 4.0, 0.1, -0.05)],
        datums=[(4, "A")],
        tolerances=[(6, "Perpendicularity", 0.02, ["A"]), (4, "Flatness", 0.01, [])],
    )


@pytest.mark.django_db
def test_ap242_pmi_comes_back_through_the_upload_api_as_dimensions(
    api_client_a, settings, block_with_pmi
) -> None:  # type: ignore[no-untyped-def]
    settings.CADML_PREDICTOR = None
    r = api_client_a.post(
        "/api/v2/drawings",
        {"file": SimpleUploadedFile("block.stp", block_with_pmi)},
        format="multipart",
    )
    assert r.status_code == 201, r.json()
    analysis = r.json()["data"]["analysis"]
    dims = analysis["dimensions"]
    [dia] = dims["entities"]
    assert dia["kind"] == "diameter" and dia["measurement"] == pytest.approx(4.0)
    assert (dia["upper"], dia["lower"]) == pytest.approx((0.1, -0.05))
    assert dia["applies_to"] == ["cylinder face"]
    assert dia["source"] == "step-pmi"
    gdt = analysis["gdt"]
    frames = {f["characteristic"]: f for f in gdt if f["kind"] == "frame"}
    assert frames["perpendicularity"]["value"] == pytest.approx(0.02)
    assert [d["label"] for d in frames["perpendicularity"]["datums"]] == ["A"]
    assert frames["flatness"]["value"] == pytest.approx(0.01)
    assert frames["flatness"]["applies_to"] == ["plane face"]
    [datum] = [f for f in gdt if f["kind"] == "datum"]
    assert (datum["label"], datum["applies_to"]) == ("A", ["plane face"])
    assert {f["source"] for f in gdt} == {"step-pmi"}
    # The PMI does not change what the solid measures.
    assert analysis["stats"]["solid"]["faces_by_type"] == {
        "plane": 6,
        "cylinder": 1,
    }


def test_a_step_file_without_pmi_has_empty_dimensions() -> None:
    result = analyze_bytes("p.step", S.step_bytes(S.box(1, 2, 3)), preview=False)
    assert result["dimensions"]["entities"] == []
    assert result["dimensions"]["gdt"] == []


def nested_assembly() -> bytes:
    """A top assembly placing a sub-assembly (moved 100 along x) that places
    one pin (turned a quarter about z, moved 10 along y): written with
    OpenCascade's XCAF document and STEP writer directly."""
    import os
    import tempfile

    from OCP.gp import gp_Ax1, gp_Dir, gp_Pnt, gp_Trsf, gp_Vec
    from OCP.STEPCAFControl import STEPCAFControl_Writer
    from OCP.TCollection import TCollection_ExtendedString
    from OCP.TDataStd import TDataStd_Name
    from OCP.TDocStd import TDocStd_Document
    from OCP.TopLoc import TopLoc_Location
    from OCP.XCAFApp import XCAFApp_Application
    from OCP.XCAFDoc import XCAFDoc_DocumentTool

    doc = TDocStd_Document(TCollection_ExtendedString("XmlXCAF"))
    XCAFApp_Application.GetApplication_s().InitDocument(doc)
    tool = XCAFDoc_DocumentTool.ShapeTool_s(doc.Main())
    top, sub = tool.NewShape(), tool.NewShape()
    pin = tool.AddShape(S.cylinder(1, 4), False)
    for label, name in ((top, "Machine"), (sub, "Pin holder"), (pin, "Pin")):
        TDataStd_Name.Set_s(label, TCollection_ExtendedString(name))
    turn, up, right = gp_Trsf(), gp_Trsf(), gp_Trsf()
    turn.SetRotation(gp_Ax1(gp_Pnt(0, 0, 0), gp_Dir(0, 0, 1)), QUARTER)
    up.SetTranslation(gp_Vec(0, 10, 0))
    right.SetTranslation(gp_Vec(100, 0, 0))
    tool.AddComponent(sub, pin, TopLoc_Location(up * turn))
    tool.AddComponent(top, sub, TopLoc_Location(right))
    tool.UpdateAssemblies()
    writer = STEPCAFControl_Writer()
    writer.Transfer(doc)
    fd, path = tempfile.mkstemp(suffix=".stp")
    os.close(fd)
    try:
        writer.Write(path)
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(path)


def test_nested_placements_are_composed() -> None:
    [pin] = solid_of(nested_assembly())["parts"]
    assert pin["name"] == "Pin"
    assert flat(pin) == pytest.approx(
        [0, -1, 0, 100, 1, 0, 0, 10, 0, 0, 1, 0], abs=1e-9
    )
    assert pin["bbox_mm"] == pytest.approx([99, 9, 0, 101, 11, 4], abs=1e-6)
