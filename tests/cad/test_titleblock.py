"""Title blocks read as tables, in the languages engineers label them in."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.cad.extract import labels
from apps.cad.pipeline import analyze_bytes
from apps.cad.text import TextItem
from apps.cad.titleblock import extract
from tests.cad.conftest import dxf_bytes
from tests.cad.titleblock_set import (
    CASES,
    attribs,
    combine,
    free,
    gost_form_1,
    score,
    stacked,
    stacked_rows,
)


def read(case_build) -> dict:  # type: ignore[no-untyped-def]
    return analyze_bytes("tb.dxf", dxf_bytes(case_build), preview=False)["title_block"]


def values(block: dict) -> dict[str, str]:
    return {k: v["value"] for k, v in block.items() if v}


@pytest.fixture(scope="module")
def evaluation() -> dict:
    results = {
        c.name: analyze_bytes(f"{c.name}.dxf", c.dxf(), preview=False)["title_block"]
        for c in CASES
    }
    return score(results)


def test_labelled_set_meets_precision_and_recall_in_every_language(
    evaluation: dict,
) -> None:
    assert len(evaluation["languages"]) >= 5
    assert evaluation["precision"] >= 0.95, evaluation["misses"]
    assert evaluation["recall"] >= 0.85, evaluation["misses"]
    for lang, figures in evaluation["languages"].items():
        assert figures["precision"] >= 0.95, (lang, evaluation["misses"])
        assert figures["recall"] >= 0.85, (lang, evaluation["misses"])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_each_labelled_title_block_reads_exactly(case) -> None:  # type: ignore[no-untyped-def]
    block = analyze_bytes("tb.dxf", case.dxf(), preview=False)["title_block"]
    assert values(block) == case.expected


def test_a_german_din_block_never_returns_a_label_word() -> None:
    block = read(
        stacked(
            [
                [(60, "Benennung", None), (38, "Maßstab", None)],
                [(60, "Ursprung", None), (38, "(Gewicht)", None)],
                [(60, "Zeichnungsnummer", None), (38, "Blatt", None)],
            ]
        )
    )
    assert values(block) == {}


def test_slovenian_labels_with_values_below_in_their_cells() -> None:
    block = read(
        stacked(
            [
                [(60, "Naziv", "Pokrov"), (40, "Merilo", "1:5")],
                [(60, "Številka risbe", "P-77"), (40, "Material", "AlMg3")],
            ]
        )
    )
    assert values(block) == {
        "part_name": "Pokrov",
        "scale": "1:5",
        "drawing_number": "P-77",
        "material": "AlMg3",
    }
    assert block["scale"]["evidence"]["label"] == "Merilo"
    assert block["scale"]["evidence"]["method"] == "same_cell"
    assert (
        block["scale"]["evidence"]["handle"]
        != block["scale"]["evidence"]["label_handle"]
    )


@pytest.mark.parametrize(
    ("title", "material", "drawn", "approved", "owner"),
    [
        (
            "Titoli, titolo supplementare",
            "Materiale della parte",
            "Creato da",
            "Approvato da",
            "Proprietario",
        ),
        (
            "Títulos, título suplementar",
            "Material da peça",
            "Criado por",
            "Aprovado por",
            "Proprietário",
        ),
        (
            "Tytuły, tytuł dodatkowy",
            "Materiał części",
            "Utworzony przez",
            "Zatwierdzony przez",
            "Właściciel",
        ),
        (
            "Titels, aanvullende titel",
            "Materiaal onderdeel",
            "Gemaakt door",
            "Goedgekeurd door",
            "Eigenaar",
        ),
        (
            "Títulos, título suplementario",
            "Material de la pieza",
            "Creado por",
            "Aprobado por",
            "Propietario",
        ),
    ],
)
def test_iso_7200_long_form_labels_in_other_languages(
    title: str, material: str, drawn: str, approved: str, owner: str
) -> None:
    # The long ISO 7200 label phrases that CAD templates print in each language.
    block = read(
        stacked(
            [
                [(70, title, "Flangia"), (40, material, "S235JR")],
                [
                    (40, drawn, "A. Nowak"),
                    (40, approved, "B. Silva"),
                    (40, owner, "ACME"),
                ],
            ]
        )
    )
    assert values(block) == {
        "part_name": "Flangia",
        "material": "S235JR",
        "drawn_by": "A. Nowak",
        "approved_by": "B. Silva",
        "company": "ACME",
    }


@pytest.mark.parametrize(
    ("text", "inline"),
    [
        ("Approvato da", None),
        ("Aprovado por", None),
        ("Gecontroleerd door", None),
        ("Controllato da: L. Bianchi", "L. Bianchi"),
        ("Gez. Da Silva", "Da Silva"),
    ],
)
def test_the_word_for_by_is_never_taken_for_a_name(
    text: str, inline: str | None
) -> None:
    found = labels.match(text)
    assert found is not None and found.inline == inline


def test_a_value_of_the_wrong_shape_is_left_out() -> None:
    # The scale cell holds a date, the sheet cell a word, the title cell a row
    # number: none is taken.
    block = read(
        stacked(
            [[(40, "Scale", "2024-01-01"), (40, "Sheet", "Steel"), (40, "Title", "2")]]
        )
    )
    assert block["scale"] is None and block["sheet"] is None
    assert block["part_name"] is None


@pytest.mark.parametrize(
    ("text", "field", "inline"),
    [
        ("Massstab 1 : 1", "scale", "1 : 1"),
        ("Maßstab", "scale", None),
        ("Échelle : 2:1", "scale", "2:1"),
        ("Blatt 1 von 2", "sheet", "1 von 2"),
        ("比例 1:2", "scale", "1:2"),
        ("축척", "scale", None),
        ("縮尺", "scale", None),
        ("Масштаб", "scale", None),
        ("Številka risbe", "drawing_number", None),
        ("Zeichnungs-Nr.", "drawing_number", None),
        ("Werkstoff:", "material", None),
        ("Maßstab / Scale", "scale", None),
    ],
)
def test_labels_in_many_languages(text: str, field: str, inline: str | None) -> None:
    found = labels.match(text)
    assert found is not None and found.field == field
    assert found.inline == inline


@pytest.mark.parametrize("text", ["Scaled down", "Steel", "1:2", "Materials list."])
def test_plain_words_are_not_labels_with_values(text: str) -> None:
    found = labels.match(text)
    assert found is None or found.inline is None


def test_placeholders_in_parentheses_are_labels_not_values() -> None:
    found = labels.match("(Gewicht)")
    assert found is not None and found.placeholder and found.inline is None


_texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=120
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(_texts, st.floats(-1e6, 1e6), st.floats(-1e6, 1e6)), max_size=40)
)
def test_reader_survives_arbitrary_text(entries: list) -> None:  # type: ignore[type-arg]
    items = [
        TextItem(text=t, kind="TEXT", handle=str(i), layer="0", x=x, y=y, height=2.5)
        for i, (t, x, y) in enumerate(entries)
    ]
    block = extract(items)
    for field in block.values():
        if field is not None:
            assert field["value"].strip()
            assert not labels.is_label(field["value"])


def test_a_title_block_on_a_paperspace_layout_is_read() -> None:
    def build(doc, msp):  # type: ignore[no-untyped-def]
        msp.add_circle((0, 0), 10)
        sheet = doc.layouts.get("Layout1")
        stacked([[(60, "Benennung", "Flansch"), (40, "Maßstab", "1:1")]])(doc, sheet)

    block = read(build)
    assert values(block) == {"part_name": "Flansch", "scale": "1:1"}


def test_attribute_definitions_inside_a_block_are_not_values() -> None:
    def build(doc, msp):  # type: ignore[no-untyped-def]
        stacked([[(60, "Werkstoff", None)]])(doc, msp)
        blk = doc.blocks.new("WS")
        blk.add_attdef("WERKSTOFF_X", (0, 0), text="???", dxfattribs={"height": 3.5})
        ref = msp.add_blockref("WS", (232, 11.5))
        ref.add_auto_attribs({"WERKSTOFF_X": "X5CrNi18-10"})

    assert read(build)["material"]["value"] == "X5CrNi18-10"


def test_the_sheet_frame_is_not_a_cell() -> None:
    # An A4 frame around everything, no title-block ruling: the label pairs by
    # position only, and the note elsewhere in the frame is not its value.
    block = read(
        combine(
            lambda doc, msp: msp.add_lwpolyline(
                [(20, 10), (200, 10), (200, 200), (20, 200)], close=True
            ),
            free(
                [
                    ("Material", 30, 150, 3.5),
                    ("Deburr all edges", 40, 120, 3.5),
                    ("Scale", 30, 30, 3.5),
                    ("1:2", 55, 30, 3.5),
                ]
            ),
        )
    )
    assert values(block) == {"scale": "1:2"}


def test_notes_on_the_sheet_give_units_and_the_general_tolerance() -> None:
    def build(doc, msp):  # type: ignore[no-untyped-def]
        msp.add_circle((0, 0), 10)
        sheet = doc.layouts.get("Layout1")
        sheet.add_text("ALL DIMENSIONS IN MM", height=2.5).set_placement((20, 20))
        sheet.add_text("ISO 2768-mK", height=2.5).set_placement((20, 30))

    result = analyze_bytes("n.dxf", dxf_bytes(build), preview=False)
    assert result["title_block"]["units"]["value"] == "mm"
    general = result["dimensions"]["general_tolerance"]
    assert (general["class"], general["geometrical_class"]) == ("m", "K")


@pytest.mark.parametrize(
    ("text", "field", "inline"),
    [
        ("Werkstoff\nS235JR", "material", "S235JR"),
        ("Maßstab / Scale 1:2", "scale", "1:2"),
        ("Material / Werkstoff: 1.4301", "material", "1.4301"),
        ("Werkstoff\n(Gewicht)", "material", None),
        ("Gezeichnet\nDrawn", "drawn_by", None),
        ("共 2 张 第 1 张", "sheet", "1/2"),
        ("THIRD ANGLE PROJECTION", "projection", "third angle"),
        ("ALL DIMENSIONS IN MM", "units", "mm"),
    ],
)
def test_labels_with_translations_next_lines_and_statements(
    text: str, field: str, inline: str | None
) -> None:
    found = labels.match(text)
    assert found is not None and (found.field, found.inline) == (field, inline)


def test_template_attribute_tags_in_many_spellings() -> None:
    def build(doc, msp):  # type: ignore[no-untyped-def]
        blk = doc.blocks.new("RAHMEN")
        tags = {
            "Zeichnungs-Nr.": "Z-100",
            "TITLE1": "Welle",
            "GEPRUEFT": "Lang",
            "echelle": "1:2",
            "Benennung": "(Benennung)",
        }
        for i, tag in enumerate(tags):
            blk.add_attdef(tag, (0, -i * 5), dxfattribs={"height": 2.5})
        msp.add_blockref("RAHMEN", (300, 40)).add_auto_attribs(tags)

    assert values(read(build)) == {
        "drawing_number": "Z-100",
        "part_name": "Welle",
        "checked_by": "Lang",
        "scale": "1:2",
    }


def test_a_russian_stamp_block_names_its_attributes_in_russian() -> None:
    # ESKD templates insert the main inscription as a block whose attribute
    # tags are the form's words.
    tags = {
        "ОБОЗНАЧЕНИЕ": "АБВГ.715411.001",
        "НАИМЕНОВАНИЕ": "Вал ведущий",
        "МАТЕРИАЛ": "Сталь 45 ГОСТ 1050-2013",
        "МАССА": "0,42",
        "МАСШТАБ": "1:1",
        "РАЗРАБОТАЛ": "Иванов",
        "ПРОВЕРИЛ": "Петров",
    }
    got = values(read(attribs(tags)))
    assert got == {
        "drawing_number": "АБВГ.715411.001",
        "part_name": "Вал ведущий",
        "material": "Сталь 45 ГОСТ 1050-2013",
        "weight": "0,42",
        "scale": "1:1",
        "drawn_by": "Иванов",
        "checked_by": "Петров",
    }


@pytest.mark.parametrize("text", ["DRG. NO.", "Zeichn. Nr.", "Zeichn.Nr.", "DWG.NO."])
def test_abbreviation_dots_and_spaces_vary(text: str) -> None:
    found = labels.match(text)
    assert found is not None and found.field == "drawing_number"


def test_a_lone_unlabelled_date_in_the_title_block_is_its_date() -> None:
    # The date of issue printed in a cell of its own, without "Datum".
    block = read(
        stacked(
            [
                [(60, "Benennung", "Deckel"), (40, "", "2025-03-19")],
                [(60, "Maßstab", "1:2"), (40, "Werkstoff", "S235JR")],
            ]
        )
    )
    assert values(block)["date"] == "2025-03-19"
    assert block["date"]["evidence"]["method"] == "unlabelled_date"


def test_two_unlabelled_dates_leave_the_date_empty() -> None:
    # Which one is the date of issue cannot be told: an empty field beats a
    # wrong one.
    block = read(
        stacked(
            [
                [(60, "Benennung", "Deckel"), (40, "", "2025-03-19")],
                [(60, "Maßstab", "1:2"), (40, "", "2025-04-02")],
            ]
        )
    )
    assert block["date"] is None


def test_a_title_alone_in_the_blocks_largest_cell_is_its_part_name() -> None:
    # ISO 7200 gives the title the largest field; this block prints it with
    # no label word, as the PathDxf2GCode drawings do.
    block = read(
        stacked(
            [
                [(40, "Maßstab", "1:2"), (40, "Werkstoff", "S235JR"), (40, "", "")],
                [(120, "", "Lagerdeckel mit Bohrung")],
            ]
        )
    )
    assert values(block)["part_name"] == "Lagerdeckel mit Bohrung"
    assert block["part_name"]["evidence"]["method"] == "unlabelled_title"
    assert values(block)["material"] == "S235JR"


def test_a_small_unknown_word_over_the_unlabelled_title_is_its_label() -> None:
    # A template's own spelling of the label ("Tittle") in small letters
    # over the title: the title is the large text alone.
    block = read(
        stacked(
            [
                [(40, "Maßstab", "1:2"), (40, "Werkstoff", "S235JR"), (40, "", "")],
                [(120, "Tittle", "FLOOR PLAN & ROOF FRAMING")],
            ]
        )
    )
    assert values(block)["part_name"] == "FLOOR PLAN & ROOF FRAMING"


def test_a_template_field_holding_its_own_label_is_empty() -> None:
    # A Brazilian NBR 10068 template: "TITULO" printed where the title goes.
    block = read(
        stacked([[(60, "Título:", "TITULO"), (40, "Escala:", "1:1")]], mtext=True)
    )
    assert block["part_name"] is None
    assert values(block)["scale"] == "1:1"


def test_a_column_of_names_under_a_name_header_is_a_legend_not_a_title() -> None:
    # A landscape plan's plant legend: "名称" (name) over a column of trees.
    legend = [["名称"], ["榉树"], ["桂花"], ["银杏"]]
    block = read(stacked_rows(legend, widths=(30,), x0=100, y0=100))
    assert block["part_name"] is None
    # One name under the header, a label under it: the title block's.
    single = [["名称"], ["轴承座"], ["材料"], ["HT200"]]
    block = read(stacked_rows(single, widths=(30,), x0=100, y0=100))
    assert values(block)["part_name"] == "轴承座"


def test_a_schedules_header_row_gives_no_title() -> None:
    # A door and window schedule: "DESCRIPTION" heads a column, "Nos." the
    # count column beside it.
    schedule = [
        ["TYPE", "SIZE", "DESCRIPTION", "Nos."],
        ["D1", "1500x2100", "ALUMINUM GLAZED SLIDING DOOR", "01"],
        ["D2", "1150x2100", "TIMBER DOOR", "02"],
    ]
    block = read(stacked_rows(schedule, widths=(15, 25, 60, 10), x0=100, y0=100))
    assert block["part_name"] is None


def test_an_attribute_printing_its_label_gives_the_value_alone() -> None:
    block = read(attribs({"SCALE": "Scale    1：1", "DRAWN_BY": "J. Müller"}))
    assert values(block)["scale"] == "1：1"
    assert values(block)["drawn_by"] == "J. Müller"


def test_a_label_word_opening_a_phrase_gives_no_value() -> None:
    # An axis caption of a chart, not a title block's description.
    block = read(free([("Description of magnitude (#units)", 10, 10, 2.5)]))
    assert block["part_name"] is None


def test_no_unlabelled_title_among_hundreds_of_labels() -> None:
    # A sheet of hundreds of labelled cells is a table, not a title block:
    # its largest cell is not read as a title (nor is every cell compared).
    rows = [[(40, "Maßstab", "1:2"), (40, "Werkstoff", "S235JR")]] * 60
    block = read(stacked([*rows, [(120, "", "Lagerdeckel mit Bohrung")]]))
    assert block["part_name"] is None


def test_no_unlabelled_title_when_no_cell_stands_out() -> None:
    # Two unlabelled names in cells of one size: which is the title (and
    # which the owner) cannot be told.
    block = read(
        stacked(
            [
                [(60, "Maßstab", "1:2"), (60, "Werkstoff", "S235JR")],
                [(60, "", "Lagerdeckel"), (60, "", "Stellwerk GmbH")],
            ]
        )
    )
    assert block["part_name"] is None


def test_the_largest_cell_holding_a_labelled_value_is_no_title() -> None:
    block = read(
        stacked(
            [
                [(40, "Maßstab", "1:2"), (40, "Datum", "2025-03-19")],
                [(120, "Firma", "Stellwerk GmbH")],
            ]
        )
    )
    assert values(block)["company"] == "Stellwerk GmbH"
    assert block["part_name"] is None


def test_an_unlabelled_title_needs_a_block_of_read_labels() -> None:
    # One label is no title block: a large framed text elsewhere (a view's
    # caption box) is not a title.
    block = read(
        stacked([[(40, "Maßstab", "1:2"), (40, "", "")], [(120, "", "Lagerdeckel")]])
    )
    assert block["part_name"] is None


def test_a_date_or_scale_alone_in_the_largest_cell_is_no_title() -> None:
    block = read(
        stacked(
            [
                [(40, "Maßstab", "1:2"), (40, "Werkstoff", "S235JR")],
                [(120, "", "2025-03-19")],
            ]
        )
    )
    assert block["part_name"] is None


def test_a_sheet_zone_letter_is_never_a_company_or_a_name() -> None:
    # "Owner" and "Drawn by" left empty; the frame's zone letter "D" sits in
    # the next cell along.
    block = read(
        stacked([[(50, "Owner", None), (10, "", "D"), (50, "Drawn by", None)]])
    )
    assert block["company"] is None
    assert block["drawn_by"] is None


def test_a_scale_split_into_a_fixed_prefix_and_its_denominator_is_joined() -> None:
    # An architect's sheet: "Scale:  1:" printed by the template, "75" typed
    # into the drawing on the same baseline; the date written out in words.
    def build(doc, msp):  # type: ignore[no-untyped-def]
        msp.add_text("Scale:       1:", height=10).set_placement((4, 769))
        msp.add_text("75", height=10).set_placement((144, 769))
        msp.add_text("Date:", height=10).set_placement((4, 707))
        msp.add_text("21st September 2010", height=10).set_placement((30, 691.7))

    block = read(build)
    assert values(block) == {"scale": "1:75", "date": "21st September 2010"}


@pytest.mark.parametrize("text", ["XXX", "X", "00/00/00", "XXX - 00/00/00", "xx"])
def test_an_unfilled_templates_fill_marks_are_placeholders(text: str) -> None:
    assert labels.is_placeholder(text)


@pytest.mark.parametrize("text", ["0", "10", "X1", "2025-03-19", "Xaver"])
def test_values_that_merely_contain_x_or_zero_are_not_fill_marks(text: str) -> None:
    assert not labels.is_placeholder(text)


def test_the_rest_of_a_label_list_or_another_label_is_no_inline_value() -> None:
    # An unfilled template's header texts: nothing in them is a value.
    def build(doc, msp):  # type: ignore[no-untyped-def]
        msp.add_text("Title/Name, designation, material, dimension etc", height=2.5)
        msp.add_text("Approved by - date", height=2.5).set_placement((0, 20))
        msp.add_text("Revision note", height=2.5).set_placement((0, 40))

    assert values(read(build)) == {}


def test_an_empty_din_information_box_has_no_values() -> None:
    # xfig's DIN title block as it ships, nothing filled in: "Erstellt für:"
    # (made for a customer) and "Erstellt am:" are labels, not a drawer "für:"
    # or "am:".
    def build(doc, msp):  # type: ignore[no-untyped-def]
        for i, text in enumerate(
            ["Maßstab:", "Werkstoff:", "Bezeichnung:", "Anzahl:", "Erstellt für:"]
            + ["Bearb.", "Gepr.", "Norm", "Datum", "Name", "Erstellt am:"]
        ):
            msp.add_text(text, height=2.5).set_placement((0, 10 * i))

    assert values(read(build)) == {}


def test_a_filled_made_for_line_is_not_the_drawer() -> None:
    def build(doc, msp):  # type: ignore[no-untyped-def]
        msp.add_text("Erstellt für: Muster GmbH", height=2.5)
        msp.add_text("Erstellt von: K. Knaak", height=2.5).set_placement((0, 10))

    assert values(read(build)) == {"drawn_by": "K. Knaak"}


def test_a_revision_tables_header_row_has_no_values() -> None:
    # "Rev." over "No." in one cell, then "Drawn" and "App.": the header of a
    # revision table in a Korean drawing's title block, nothing filled in.
    def build(doc, msp):  # type: ignore[no-untyped-def]
        for x in (0, 10, 20, 30):
            msp.add_line((x, 0), (x, 10))
        for y in (0, 10):
            msp.add_line((0, y), (30, y))
        msp.add_text("Rev.", height=1.5).set_placement((1, 6))
        msp.add_text("No.", height=1.5).set_placement((1, 2))
        msp.add_text("Drawn", height=1.5).set_placement((11, 4))
        msp.add_text("App.", height=1.5).set_placement((21, 4))

    assert values(read(build)) == {}


def test_an_attribute_left_at_its_own_name_is_no_value() -> None:
    # NBR 10068's template: the title attribute TITULO holds "TITULO".
    def build(doc, msp):  # type: ignore[no-untyped-def]
        msp.add_attdef("TITULO", (0, 0), text="TITULO", dxfattribs={"height": 2.5})
        msp.add_attdef("ESCALA", (0, 10), text="1:1", dxfattribs={"height": 2.5})

    assert values(read(build)) == {"scale": "1:1"}


def test_a_one_digit_drawing_number_beside_its_label_is_read() -> None:
    # An engineer's sheet numbers its drawings 1, 2, 3: the digit on the
    # label's baseline, or in its cell, is the drawing number.
    def build(doc, msp):  # type: ignore[no-untyped-def]
        msp.add_text("Drawing No.", height=10).set_placement((4, 878))
        msp.add_text("1", height=10).set_placement((144, 878))
        msp.add_text("Title:", height=10).set_placement((4, 847))
        msp.add_text("East Elevation", height=10).set_placement((30, 831))

    block = read(build)
    assert values(block) == {"drawing_number": "1", "part_name": "East Elevation"}
    cell = read(stacked([[(60, "Zeichnungsnummer", "3"), (40, "Maßstab", "1:2")]]))
    assert values(cell)["drawing_number"] == "3"


def test_a_frame_zone_digit_below_an_empty_drawing_number_is_not_read() -> None:
    # The label's own cell is empty; the frame's zone numbers run along the
    # margin below it.
    def build(doc, msp):  # type: ignore[no-untyped-def]
        msp.add_text("Drawing No.", height=2.5).set_placement((100, 12))
        for k in range(4):
            msp.add_text(str(k + 1), height=2.5).set_placement((100 + 50 * k, 3))

    assert read(build)["drawing_number"] is None


def test_a_gost_inscription_is_read_by_its_form() -> None:
    """The form's cells bound its values: a drawing's line crossing the name,
    an export's material split into pieces ("Х", "12", "МФ") and wrapped onto
    a second line, and a variants table's own "Масса" column beside a mass
    cell that says "see the table" give the name, the material as written
    and no mass rather than one version's."""

    def extra(doc, msp) -> None:  # type: ignore[no-untyped-def]
        msp.add_line((330, 8), (330, 50))  # a view's line through the name
        for text, x in (("Сталь", 292.0), ("Х", 312.0), ("12", 315.5), ("МФ", 321.5)):
            msp.add_text(text, height=5).set_placement((x, 13.5))
        msp.add_text("ГОСТ 5950-2000", height=5).set_placement((292, 6.5))

    block = read(
        combine(
            gost_form_1({"designation": "22/02", "name": "Нож", "mass": "см. табл"}),
            stacked_rows(
                [["Обозначение", "Масса"], ["22/02-01", "0,38"], ["22/02-02", "0,41"]],
                widths=(40, 20),
                x0=40,
                y0=200,
            ),
            extra,
        )
    )
    got = values(block)
    assert got["part_name"] == "Нож"
    assert got["drawing_number"] == "22/02"
    assert got["material"] == "Сталь Х12МФ ГОСТ 5950-2000"
    assert "weight" not in got
