"""Text, title block and dimensions as a user reads them off the drawing."""

from __future__ import annotations

import random

import pytest

from apps.cad.dimensions import parse_tokens
from apps.cad.pipeline import analyze_bytes
from apps.cad.synth import PART_CLASSES, generate_part
from tests.cad.conftest import dxf_bytes
from tests.conftest import CORPUS_DIR, require

# The fields the synthetic generator writes into its title blocks.
SYNTH_FIELDS = (
    "drawing_number",
    "part_name",
    "material",
    "scale",
    "revision",
    "date",
    "drawn_by",
    "sheet",
    "weight",
    "company",
)
EXAMPLES = CORPUS_DIR / "ezdxf" / "examples_dxf"


def analyse_corpus(name: str) -> dict:
    path = EXAMPLES / name
    require(path.is_file(), f"DXF corpus not found at {CORPUS_DIR}")
    return analyze_bytes(name, path.read_bytes(), preview=False)


def texts(result: dict) -> list[str]:
    return [t["text"] for t in result["text"]]


def test_mtext_comes_out_as_plain_text_without_format_codes() -> None:
    found = texts(analyse_corpus("mtext_complex_inline_codes.dxf"))
    assert found
    assert all("\\P" not in t and "{\\" not in t for t in found)
    assert any("HEADLINE" in t.upper() for t in found)


def test_table_cells_and_attribs_are_extracted() -> None:
    assert "Title" in texts(analyse_corpus("acad_table_simple.dxf"))
    attribs = analyse_corpus("multi_insert_with_attribs.dxf")["text"]
    assert {"tag": "NAME", "text": "Flag"}.items() <= next(
        t for t in attribs if t.get("tag") == "NAME"
    ).items()


def test_text_in_nested_blocks_is_found_with_world_position() -> None:
    def build(doc, msp):  # type: ignore[no-untyped-def]
        inner = doc.blocks.new("INNER")
        inner.add_text("深层文字", height=2).set_placement((1, 1))
        outer = doc.blocks.new("OUTER")
        outer.add_blockref("INNER", (10, 0))
        msp.add_blockref("OUTER", (100, 200))

    item = next(t for t in analyze_bytes("n.dxf", dxf_bytes(build))["text"])
    assert item["text"] == "深层文字"
    assert (item["x"], item["y"]) == (111, 201)
    assert item["block"] == "INNER"


@pytest.mark.parametrize("version", ["R2000", "R2018"])
def test_chinese_survives_old_and_new_dxf_versions(version: str) -> None:
    def build(doc, msp):  # type: ignore[no-untyped-def]
        msp.add_text("材料", height=3).set_placement((0, 0))
        msp.add_text("45钢", height=3).set_placement((20, 0))
        msp.add_mtext("技术要求\\P调质处理").set_location((0, -20))

    result = analyze_bytes("zh.dxf", dxf_bytes(build, version))
    assert {"材料", "45钢", "技术要求\n调质处理"} <= set(texts(result))
    assert result["title_block"]["material"]["value"] == "45钢"


def test_title_block_from_labels_right_and_below_and_from_attribs() -> None:
    def build(doc, msp):  # type: ignore[no-untyped-def]
        msp.add_text("DWG NO.", height=2.5).set_placement((0, 0))
        msp.add_text("P-1001", height=2.5).set_placement((30, 0))
        msp.add_text("比例", height=2.5).set_placement((0, -20))
        msp.add_text("1:2", height=2.5).set_placement((0, -25))
        msp.add_text("MATERIAL: C45", height=2.5).set_placement((0, -40))
        blk = doc.blocks.new("TB")
        blk.add_attdef("REV", (0, 0))
        ref = msp.add_blockref("TB", (200, 0))
        ref.add_auto_attribs({"REV": "C"})

    tb = analyze_bytes("tb.dxf", dxf_bytes(build))["title_block"]
    assert tb["drawing_number"]["value"] == "P-1001"
    assert tb["drawing_number"]["evidence"]["label"] == "DWG NO."
    assert tb["scale"]["value"] == "1:2"
    assert tb["material"]["value"] == "C45"
    assert tb["revision"]["value"] == "C"
    assert tb["revision"]["confidence"] > tb["scale"]["confidence"]
    assert tb["weight"] is None


@pytest.mark.parametrize("label", PART_CLASSES)
def test_every_title_block_field_of_synthetic_parts_is_found(label: str) -> None:
    result = analyze_bytes("p.dxf", generate_part(label, random.Random(label)))
    tb = result["title_block"]
    written = SYNTH_FIELDS
    assert all(tb[f] and tb[f]["value"] for f in written), tb
    assert all(tb[f]["evidence"]["handle"] for f in written)


def test_dimension_measurement_comes_from_the_geometry() -> None:
    def build(doc, msp):  # type: ignore[no-untyped-def]
        msp.add_linear_dim(base=(0, 10), p1=(0, 0), p2=(42.5, 0)).render()
        d = msp.add_linear_dim(base=(0, -10), p1=(0, 0), p2=(10, 0), text="%%c10 H7")
        d.render()

    dims = analyze_bytes("d.dxf", dxf_bytes(build))["dimensions"]
    got = sorted((d["measurement"], d["text_override"]) for d in dims["entities"])
    assert got == [(10.0, "%%c10 H7"), (42.5, None)]
    kinds = {t["kind"] for t in dims["tokens"]}
    assert {"diameter", "fit"} <= kinds


def test_dimensions_inside_nested_blocks_are_reported() -> None:
    result = analyse_corpus("dimension_in_nested_blocks.dxf")
    assert result["dimensions"]["entities"]
    assert all(d["handle"] for d in result["dimensions"]["entities"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ø12", {"kind": "diameter", "value": 12.0}),
        ("⌀8.5", {"kind": "diameter", "value": 8.5}),
        ("%%c20", {"kind": "diameter", "value": 20.0}),
        ("R5", {"kind": "radius", "value": 5.0}),
        ("M10", {"kind": "thread", "value": 10.0}),
        ("M10x1.5", {"kind": "thread", "value": 10.0, "pitch": 1.5}),
        ("±0.1", {"kind": "tolerance", "upper": 0.1, "lower": -0.1}),
        ("+0.2/-0.1", {"kind": "tolerance", "upper": 0.2, "lower": -0.1}),
        ("Ø20 H7/g6", {"kind": "fit", "hole": "H7", "shaft": "g6"}),
        ("25h6", {"kind": "fit", "value": "h6"}),
        ("Ra 3.2", {"kind": "roughness", "value": 3.2}),
        ("⌖ 0.05 A", {"kind": "gdt", "characteristic": "position"}),
    ],
)
def test_tokens_parsed_from_text(text: str, expected: dict) -> None:
    tokens = parse_tokens(text, "1F")
    assert any(expected.items() <= t.items() for t in tokens), tokens
    assert all(t["handle"] == "1F" for t in tokens)


def test_a_thread_pitch_is_not_mistaken_for_a_fit() -> None:
    assert [t["kind"] for t in parse_tokens("M8x1", None)] == ["thread"]


def test_angular_dimensions_report_degrees_as_ezdxf_measures_them() -> None:
    import ezdxf

    path = EXAMPLES / "uncommon.dxf"
    require(path.is_file(), f"DXF corpus not found at {CORPUS_DIR}")
    doc = ezdxf.readfile(path)
    expected = {
        e.dxf.handle: round(float(e.get_measurement()), 6)
        for e in doc.modelspace().query("DIMENSION")
        if e.dimtype & 0x0F in (2, 5)
    }
    assert expected, "the corpus file has angular dimensions"
    got = {
        d["handle"]: d["measurement"]
        for d in analyse_corpus("uncommon.dxf")["dimensions"]["entities"]
        if d["kind"] in ("angular", "angular_3p")
    }
    assert {h: got.get(h) for h in expected} == expected
    assert all(0 < v <= 360 for v in got.values())
