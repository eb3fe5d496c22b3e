"""Tolerances, ISO 286 fits, threads, GD&T and surface finish off real drawing
entities, and parsers that hold up against hostile text."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.cad.dimensions import annotations
from apps.cad.extract import gdt, iso286, roughness, threads, tolerances
from apps.cad.pipeline import analyze_bytes
from apps.cad.text import TextItem
from tests.cad.conftest import dxf_bytes


def annotated_drawing(doc, msp) -> None:  # type: ignore[no-untyped-def]
    msp.add_linear_dim(base=(0, 10), p1=(0, 0), p2=(20, 0), text="%%c<> H7/g6").render()
    msp.add_linear_dim(
        base=(0, 30),
        p1=(0, 0),
        p2=(40, 0),
        override={"dimtol": 1, "dimtp": 0.1, "dimtm": 0.05},
    ).render()
    msp.add_linear_dim(
        base=(0, 50), p1=(0, 0), p2=(30, 0), text="<>\\S+0.2^-0.1;"
    ).render()
    msp.add_text("4x M6-6H", height=2.5).set_placement((0, -20))
    msp.add_text("Allgemeintoleranz ISO 2768-mK", height=2.5).set_placement((0, -30))
    msp.add_mtext("Übrige Flächen Ra 6,3").set_location((0, -40))
    msp.add_text("Ø12 H7", height=2.5).set_placement((60, -20))
    msp.new_entity(
        "TOLERANCE",
        {
            "content": "{\\Fgdt;j}%%v{\\Fgdt;n}0.05{\\Fgdt;m}%%v%%vA%%vB%%vC",
            "insert": (0, -50),
        },
    )


@pytest.fixture(scope="module")
def result() -> dict:
    return analyze_bytes("a.dxf", dxf_bytes(annotated_drawing), preview=False)


def test_dimension_entities_carry_their_tolerances(result: dict) -> None:
    by_value = {d["measurement"]: d for d in result["dimensions"]["entities"]}
    fit = by_value[20.0]["fit"]
    assert (fit["hole"], fit["shaft"]) == ("H7", "g6")
    assert fit["hole_deviations"] == [0.021, 0.0]
    assert fit["shaft_deviations"] == [-0.007, -0.02]
    assert fit["clearance"] == [0.007, 0.041]
    styled = by_value[40.0]
    assert (styled["upper"], styled["lower"]) == (0.1, -0.05)
    assert styled["tolerance_source"] == "dimstyle"
    stacked = by_value[30.0]
    assert (stacked["upper"], stacked["lower"]) == (0.2, -0.1)
    assert stacked["tolerance_source"] == "text"


def test_threads_gdt_finish_and_general_tolerance_are_found(result: dict) -> None:
    d = result["dimensions"]
    thread = next(t for t in d["threads"] if t["system"] == "metric")
    assert thread | {"handle": None} == thread | {
        "designation": "4x M6-6H",
        "nominal_diameter": 6.0,
        "pitch": 1.0,
        "tolerance_class": "6H",
        "internal": True,
        "count": 4,
        "handle": None,
    }
    frame = next(f for f in d["gdt"] if f["kind"] == "frame")
    assert frame["characteristic"] == "position"
    assert (frame["value"], frame["diameter"], frame["modifiers"]) == (
        0.05,
        True,
        ["MMC"],
    )
    assert [x["label"] for x in frame["datums"]] == ["A", "B", "C"]
    assert frame["handle"]
    assert d["surface_finish"][0]["value"] == 6.3
    assert d["surface_finish"][0]["default"] is True
    general = d["general_tolerance"]
    assert (general["standard"], general["class"], general["geometrical_class"]) == (
        "ISO 2768",
        "m",
        "K",
    )
    sized = next(s for s in d["toleranced"] if s.get("tolerance_class") == "H7")
    assert (sized["nominal"], sized["upper"], sized["lower"]) == (12.0, 0.018, 0.0)


# Deviations as printed in ISO 286-2's tables (mm).
@pytest.mark.parametrize(
    ("cls", "size", "expected"),
    [
        ("H7", 20, (0.021, 0.0)),
        ("g6", 20, (-0.007, -0.020)),
        ("f7", 40, (-0.025, -0.050)),
        ("k6", 50, (0.018, 0.002)),
        ("P7", 15, (-0.011, -0.029)),
        ("s6", 25, (0.048, 0.035)),
        ("js6", 25, (0.0065, -0.0065)),
        ("js7", 25, (0.010, -0.010)),
        ("N7", 20, (-0.007, -0.028)),
        ("M7", 20, (0.0, -0.021)),
        ("K7", 20, (0.006, -0.015)),
        ("u6", 30, (0.061, 0.048)),
        ("U7", 30, (-0.040, -0.061)),
        ("H11", 100, (0.220, 0.0)),
        ("c11", 10, (-0.080, -0.170)),
        ("F7", 10, (0.028, 0.013)),
        ("G7", 10, (0.020, 0.005)),
        ("d9", 50, (-0.080, -0.142)),
        ("J7", 20, (0.012, -0.009)),
        ("j6", 20, (0.009, -0.004)),
        ("p6", 100, (0.059, 0.037)),
        ("r6", 60, (0.060, 0.041)),
        ("t6", 40, (0.064, 0.048)),
        ("h9", 3, (0.0, -0.025)),
        ("H7", 30, (0.021, 0.0)),  # 30 is "over 18 up to 30"
        ("H7", 30.5, (0.025, 0.0)),
    ],
)
def test_iso_286_deviations(cls: str, size: float, expected: tuple) -> None:
    assert iso286.deviations(cls, size) == expected


@pytest.mark.parametrize(
    ("cls", "size"), [("H7", 0), ("H7", 501), ("Q7", 10), ("x6", 10)]
)
def test_outside_the_tables_there_are_no_deviations(cls: str, size: float) -> None:
    assert iso286.deviations(cls, size) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25 ±0.1", {"nominal": 25.0, "upper": 0.1, "lower": -0.1}),
        ("40 +0,2 -0,1", {"nominal": 40.0, "upper": 0.2, "lower": -0.1}),
        ("50 0/-0.1", {"nominal": 50.0, "upper": 0.0, "lower": -0.1}),
        ("%%c25h6", {"kind": "diameter", "upper": 0.0, "lower": -0.013}),
        ("4x Ø8.5 H7", {"count": 4, "nominal": 8.5, "upper": 0.015, "lower": 0.0}),
        (
            "12.021/12.000",
            {"kind": "limits", "upper_limit": 12.021, "lower_limit": 12.0},
        ),
        ("R5 ±0.2", {"kind": "radius", "nominal": 5.0, "upper": 0.2}),
        # ESKD stacks one deviation and leaves the zero one blank.
        ("Ø40\\S+0,025^ ;", {"nominal": 40.0, "upper": 0.025, "lower": 0.0}),
        ("Ø40\\S^ -0,039;", {"nominal": 40.0, "upper": 0.0, "lower": -0.039}),
        # A sheet's thickness.
        ("t2 ±0.1", {"nominal": 2.0, "upper": 0.1, "lower": -0.1}),
        # A reference size, starred.
        ("34*\\S^ -0,023;", {"nominal": 34.0, "upper": 0.0, "lower": -0.023}),
    ],
)
def test_toleranced_sizes_from_text(text: str, expected: dict) -> None:
    got = tolerances.parse_size(text)
    assert got is not None and expected.items() <= got.items(), got


@pytest.mark.parametrize(
    "text", ["25", "M8x1.25", "Scale 1:2", "2024-01-05", "R5", "2\n\nL1", "20 W7"]
)
def test_plain_numbers_are_not_tolerances(text: str) -> None:
    assert tolerances.parse_size(text) is None


@pytest.mark.parametrize("text", ["H7/h6", "H12, h14", "PH14, h14", "Ø20 H14"])
def test_a_fit_or_a_class_is_no_general_tolerance(text: str) -> None:
    assert tolerances.parse_general(text) is None


def test_a_symbol_printed_for_a_size_keeps_its_deviations() -> None:
    """ "d1" over "+0,1": the size is in a table, the deviations on the
    dimension (``dimension_set`` draws one)."""
    assert tolerances.symbol_deviations("d1\\H0.65x;\\S+0,1^ ;") == (0.1, 0.0)
    assert tolerances.symbol_deviations("B\\S^ -0,03;") == (0.0, -0.03)
    assert tolerances.symbol_deviations("\\S1/2;") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("M8", {"nominal_diameter": 8.0, "pitch": 1.25, "fine": False}),
        ("M10x1-6g", {"pitch": 1.0, "fine": True, "tolerance_class": "6g"}),
        ("1/4-20 UNC-2A", {"series": "UNC", "tpi": 20, "nominal_diameter": 6.35}),
        ("#10-32 UNF", {"series": "UNF", "tpi": 32}),
        ("G 1/2 A", {"series": "G", "nominal_inch": "1/2", "tolerance_class": "A"}),
        ("Rp 3/8", {"series": "Rp", "nominal_inch": "3/8"}),
        ("1/2-14 NPT", {"series": "NPT", "tpi": 14}),
    ],
)
def test_thread_callouts(text: str, expected: dict) -> None:
    found = threads.parse(text)
    assert len(found) == 1 and expected.items() <= found[0].items(), found


def test_a_radius_is_not_a_pipe_thread() -> None:
    assert threads.parse("R5") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2x45°", {"size": 2.0, "angle": 45.0}),
        ("C1.5", {"size": 1.5, "angle": 45.0}),
        ("4x 1x30°", {"count": 4, "size": 1.0, "angle": 30.0}),
    ],
)
def test_chamfers(text: str, expected: dict) -> None:
    got = tolerances.parse_chamfer(text)
    assert got is not None and expected.items() <= got.items()


@pytest.mark.parametrize(
    ("text", "std", "cls"),
    [
        ("ISO 2768-m", "ISO 2768", "m"),
        ("DIN ISO 2768-mK", "DIN ISO 2768", "m"),
        ("Freimaßtoleranz DIN 7168-f", "DIN 7168", "f"),
        ("TOLERANCES ISO 2768-1 c", "ISO 2768-1", "c"),
        # ESKD: holes H14, shafts h14, the rest ±IT14/2 (often in pieces).
        (
            "Неуказанные предельные отклонения размеров: H14, h14, ±IT14/2.",
            "GOST 25670",
            "H14/h14",
        ),
        ("2. H12; h12;", "GOST 25670", "H12/h12"),
    ],
)
def test_general_tolerance_notes(text: str, std: str, cls: str) -> None:
    got = tolerances.parse_general(text)
    assert got is not None and (got["standard"], got["class"]) == (std, cls)


def test_unicode_feature_control_frames() -> None:
    (frame,) = gdt.from_text("⊥ 0.1 A")
    assert (frame["characteristic"], frame["value"]) == ("perpendicularity", 0.1)
    assert frame["datums"] == [{"label": "A", "modifiers": []}]


def test_surface_finish_in_a_symbol_block_is_a_bare_number() -> None:
    assert roughness.parse("3,2", in_symbol=True)[0]["value"] == 3.2
    assert roughness.parse("3,2") == []


_hostile = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
        st.sampled_from(list("Ø±+-/^#xX×°%%cpMHhgRaz0123456789.,;\\S{}|ⓂⒶ⌖⊥МНхd")),
    ),
    max_size=300,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_hostile)
def test_parsers_never_raise_on_hostile_text(text: str) -> None:
    read = tolerances.latin_lookalikes(text)
    assert len(read) == len(text)
    deviations = tolerances.symbol_deviations(read)
    assert deviations is None or all(math.isfinite(d) for d in deviations)
    tolerances.parse_size(text, nominal=12.5)
    tolerances.parse_chamfer(text)
    tolerances.parse_hole(text)
    tolerances.parse_general(text)
    threads.parse(text)
    roughness.parse(text, in_symbol=True)
    gdt.from_text(text)
    gdt.from_tolerance_entity(text)


def _numbers(value: object) -> list[float]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    return [value] if isinstance(value, float) else []


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 400), st.sampled_from(["±", "+", "-", "/", "H7/g", "x", "Ø"]))
def test_absurd_tolerance_strings_give_finite_numbers(digits: int, glue: str) -> None:
    """JSON columns take no infinities: a 400-digit size must not become one."""
    big = "9" * digits
    text = f"Ø{big} {glue}{big} M{big} 1/{big}-{big} UNC Ra {big} ⊥ {big} A {big}x45°"
    found = [
        tolerances.parse_size(text),
        tolerances.parse_chamfer(text),
        tolerances.parse_hole(text),
        threads.parse(text),
        roughness.parse(text),
        gdt.from_text(text),
    ]
    assert all(math.isfinite(n) for n in _numbers(found))


def test_a_hundred_thousand_texts_give_bounded_output() -> None:
    items = [
        TextItem(
            text=f"Ø{i % 90 + 1} H7 M{i % 20 + 3} Ra 3.2 ⊥ 0.1 A",
            kind="TEXT",
            handle=hex(i),
            layer="0",
            x=float(i),
            y=0.0,
            height=2.5,
        )
        for i in range(100_000)
    ]
    out = annotations(items, [])
    # Bounded output is what keeps a hostile file from filling the database.
    assert all(len(out[k]) == 2_000 for k in ("toleranced", "threads", "gdt"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("⌴ Ø11 ↧ 6.4", {"kind": "counterbore", "diameter": 11.0, "depth": 6.4}),
        ("CBORE Ø11 DP 6", {"kind": "counterbore", "diameter": 11.0, "depth": 6.0}),
        ("⌵ Ø10 x 90°", {"kind": "countersink", "diameter": 10.0, "angle": 90.0}),
        ("CSK %%c10 X 90%%d", {"kind": "countersink", "angle": 90.0}),
    ],
)
def test_counterbores_and_countersinks(text: str, expected: dict) -> None:
    got = tolerances.parse_hole(text)
    assert got is not None and expected.items() <= got.items(), got


def test_datum_feature_symbol_blocks_are_datums() -> None:
    def build(doc, msp):  # type: ignore[no-untyped-def]
        blk = doc.blocks.new("DATUM_TRIANGLE")
        blk.add_attdef("DATUM", (0, 0), dxfattribs={"height": 3.5})
        msp.add_blockref("DATUM_TRIANGLE", (50, 50)).add_auto_attribs({"DATUM": "B"})
        msp.add_text("⌴ Ø11 ↧ 6.4", height=2.5).set_placement((0, 0))

    d = analyze_bytes("d.dxf", dxf_bytes(build), preview=False)["dimensions"]
    assert {"kind": "datum", "label": "B"}.items() <= d["gdt"][0].items()
    assert d["toleranced"][0]["kind"] == "counterbore"


_entity_text = st.lists(
    st.one_of(
        st.characters(
            codec="utf-8", exclude_categories=("Cs",), exclude_characters="\r\n"
        ),
        st.sampled_from([*"\x00\x01\x1f\x7fØ±^#\\S;{}%cvM", "%%v", "\\Fgdt;"]),
    ),
    min_size=1,
    max_size=40,
).map("".join)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_entity_text, min_size=1, max_size=8), _entity_text)
def test_drawings_with_hostile_text_and_tolerance_frames_analyse(
    texts: list[str], frame: str
) -> None:
    def build(doc, msp):  # type: ignore[no-untyped-def]
        for i, t in enumerate(texts):
            msp.add_text(t, height=2.5).set_placement((i * 10, 0))
            msp.add_mtext(t).set_location((i * 10, 20))
        msp.new_entity("TOLERANCE", {"content": frame, "insert": (0, -10)})
        blk = doc.blocks.new("TB")
        blk.add_attdef("MATERIAL", (0, 0))
        msp.add_blockref("TB", (0, 50)).add_auto_attribs({"MATERIAL": texts[0]})

    try:
        content = dxf_bytes(build)
    except (ValueError, UnicodeError):
        return  # ezdxf will not write it: no such drawing to read
    result = analyze_bytes("h.dxf", content, preview=False)
    for field in result["title_block"].values():
        assert field is None or "\x00" not in field["value"]


def test_labelled_dimension_entities_read_exactly() -> None:
    from tests.cad import dimension_set

    result = analyze_bytes("dims.dxf", dimension_set.dxf(), preview=False)
    scored = dimension_set.score(result["dimensions"]["entities"])
    assert scored["exact"] == 1.0, scored["misses"]


def test_sizes_typed_with_cyrillic_letters_are_read() -> None:
    """A Russian keyboard types "М8-6Н" and "Ø20Н7" with Cyrillic letters
    that look Latin; words are left as written."""

    def drawing(doc, msp) -> None:  # type: ignore[no-untyped-def]
        msp.add_linear_dim(base=(0, 10), p1=(0, 0), p2=(20, 0), text="%%c<>Н7").render()
        msp.add_text("2 отв. М6-7Н", height=2.5).set_placement((0, -20))
        msp.add_text("М10х1,25-6g", height=2.5).set_placement((0, -30))
        msp.add_text("Н12, h12, ±IT12/2", height=2.5).set_placement((0, -40))

    dims = analyze_bytes("ru.dxf", dxf_bytes(drawing), preview=False)["dimensions"]
    (entity,) = dims["entities"]
    assert entity["tolerance_class"] == "H7"
    assert (entity["upper"], entity["lower"]) == (0.021, 0.0)
    found = {(t["nominal_diameter"], t.get("tolerance_class")) for t in dims["threads"]}
    assert found == {(6.0, "7H"), (10.0, "6g")}
    assert dims["general_tolerance"]["class"] == "H12/h12"
