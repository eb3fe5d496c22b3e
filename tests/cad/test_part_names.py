"""The part family a drawing's own file name or title block names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.cad.part_names import (
    FAMILY_WORDS,
    drawing_name,
    drawing_words,
    name_parts,
    name_words,
    named_family,
)
from apps.cad.synth import PART_CLASSES


def family(file_name: str | None, title: str | None = None) -> str | None:
    named = named_family(file_name=file_name, title=title)
    return named.family if named else None


def test_every_family_the_default_model_knows_has_names() -> None:
    assert set(FAMILY_WORDS) == set(PART_CLASSES)


@pytest.mark.parametrize(
    ("file_name", "expected"),
    [
        ("Flansch_DN50_PN16.dxf", "flange"),
        ("gear_20mm.dxf", "spur_gear"),
        ("gearDXF_100T_module1.dxf", "spur_gear"),
        ("BottomPlate.DXF", "hole_plate"),
        ("M6_Nut.dxf", "hex_nut"),
        ("M3Nut.dxf", "hex_nut"),
        ("équerre.dxf", "l_bracket"),
        ("Riemenscheibe.dxf", "pulley"),
        ("mxl_17_tooth_10_7mm.dxf", "pulley"),
        ("HTD-5M 24T.dxf", "pulley"),
        ("C:\\parts\\Welle_42CrMo4.dwg", "stepped_shaft"),
        ("zobnik z32.dxf", "spur_gear"),
        ("rodamiento 6204.dxf", "ball_bearing"),
        # German compounds by their last word.
        ("Lagergehäuse.dxf", "housing"),
        ("Sechskantschraube M8x40.dxf", "hex_bolt"),
        ("Unterlegscheibe.dxf", "washer"),
        # Standards.
        ("ISO 4017 M8x30.dxf", "hex_bolt"),
        ("bolt_DIN934.dxf", "hex_nut"),
        ("EN-1092-1 type 01.dxf", "flange"),
        ("ISO 10642 M5x16.dxf", "hex_bolt"),
        ("DIN985_M8.dxf", "hex_nut"),
        ("ISO-7093-1 8.dxf", "washer"),
        ("ISO 8752 4x20.dxf", "dowel_pin"),
        ("DIN 2098 1,6x12x40.dxf", "compression_spring"),
        ("ISO 4379 C20x26x30.dxf", "bushing"),
        ("DIN EN 1663 - M16 - N.STEP", "hex_nut"),
        ("ISO 4162 M10x40.dxf", "hex_bolt"),
        ("DIN6921_M8x25.step", "hex_bolt"),
        # The last family word is the part.
        ("bearing housing.dxf", "housing"),
        # The same words in their part's sense.
        ("drive shaft.dxf", "stepped_shaft"),
        ("base plate.dxf", "hole_plate"),
        ("Zylinderstift ISO 2338.dxf", "dowel_pin"),
        ("washer M8 dryer-side.dxf", "washer"),
        ("pulley_bracket.dxf", "l_bracket"),
        # Chinese and Japanese, by the longest word at each place.
        ("齿轮.dxf", "spur_gear"),
        ("轴承座_图纸.dxf", "housing"),
        ("深沟球轴承6204.dxf", "ball_bearing"),
        ("齿轮轴.dxf", "stepped_shaft"),
        ("ボルト M8.dxf", "hex_bolt"),
        ("ﾎﾞﾙﾄ.dxf", "hex_bolt"),
        ("gear_螺栓.dxf", "hex_bolt"),
        # Polish, Czech and Slovak.
        ("Łożysko 6204-2RS.dxf", "ball_bearing"),
        ("Kołnierz DN50.dxf", "flange"),
        ("Tuleja łożyska.dxf", "bushing"),
        ("Šroub M8x20.dxf", "hex_bolt"),
        ("Příruba.dxf", "flange"),
        # Russian, Ukrainian and Serbian; "ё" written or not.
        ("Вал_ступенчатый.dxf", "stepped_shaft"),
        ("Фланец DN50 PN16.dxf", "flange"),
        ("Шестерня z=32 m=2.dxf", "spur_gear"),
        ("Шестерёнка.dxf", "spur_gear"),
        ("шестеренка.dxf", "spur_gear"),
        ("Кронштейн крепления двигателя.dxf", "l_bracket"),
        ("Шайбы.dxf", "washer"),
        ("Підшипник 6204.dxf", "ball_bearing"),
        ("Опруга.dxf", "compression_spring"),
        # A Cyrillic name puts its part first: a housing of a bearing, a
        # shaft with its gear cut on it.
        ("Корпус подшипника.dxf", "housing"),
        ("Вал-шестерня.dxf", "stepped_shaft"),
        ("Вал шестерни.dxf", "stepped_shaft"),
        # GOST standards, in Cyrillic or Latin letters.
        ("Гайка М8 ГОСТ 5915-70.dxf", "hex_nut"),
        ("Болт ГОСТ 7798-70 М12х40.dxf", "hex_bolt"),
        ("GOST 11371-78 8.dxf", "washer"),
    ],
)
def test_a_file_name_names_its_family(file_name: str, expected: str) -> None:
    assert family(file_name) == expected


@pytest.mark.parametrize(
    "file_name",
    [
        "drawing.dxf",
        "part-0042.dxf",
        # A count glued to its number is no name: a 40-pin chip is no pin.
        "dip_40pin.dxf",
        "conn_molex_5pin.dxf",
        # English words are not compounds.
        "Template.dxf",
        # Shrubs, electrical panels.
        "garden bush.dxf",
        "panel_2up.dxf",
        "坐标图.dxf",
        None,
        # A family word in a sense no part has: a name can make a drawing a
        # part, so a lift plan or a lightning symbol must not name one.
        "elevator_shaft.dxf",
        "Load-Bearing Wall.dxf",
        "lightning bolt.dxf",
        "landing gear.dxf",
        "dish washer.dxf",
        # Laundries, beds, kitchens and door sills of floor plans.
        "washer_dryer.dxf",
        "Washer Machine 60x60.dxf",
        "box spring queen.dxf",
        "rolling pin.dxf",
        "sill plate.dxf",
        "name plate.dxf",
        "social housing block B.dxf",
        # German compounds whose last word misleads: a key, a pencil, a
        # socket, a floor slab.
        "Passfeder DIN 6885 A8x7x40.dxf",
        "Bleistift.dxf",
        "Klinkenbuchse 3,5mm.dxf",
        "Bodenplatte EG.dxf",
        # A rampart, a campus building, a ship's propeller; "of the shaft"
        # is a drawing of one, but which part of it the name does not say.
        "Земляной вал.dxf",
        "Жилой корпус Б.dxf",
        "Гребной винт.dxf",
        "Чертёж вала.dxf",
        "План 1 этажа.dxf",
    ],
)
def test_a_name_that_names_no_part_is_no_evidence(file_name: str | None) -> None:
    assert family(file_name) is None


def test_the_title_block_and_the_file_name_must_agree() -> None:
    named = named_family(file_name="0815.dxf", title="STIRNRAD z=32 m=2")
    assert named is not None
    assert (named.family, named.word, named.found_in) == (
        "spur_gear",
        "stirnrad",
        "title block",
    )
    assert family("washer.dxf", "FLANGE DN50") is None
    assert family("a.dxf", "名称：法兰盘") == "flange"
    assert family("flange.dxf", "FLANGE DN50") == "flange"
    # The word as written, in lower case, whatever it was matched as.
    for file_name, title, word in (
        ("0815.dxf", "КРОНШТЕЙН", "кронштейн"),
        ("Łożysko_6204.dxf", None, "łożysko"),
        ("Lagergehäuse.dxf", None, "lagergehäuse"),
        ("Шестерёнка.dxf", None, "шестерёнка"),
    ):
        named = named_family(file_name=file_name, title=title)
        assert named is not None and named.word == word


@given(st.one_of(st.none(), st.text()), st.one_of(st.none(), st.text()))
def test_any_name_and_title_answer_a_known_family_or_none(
    file_name: str | None, title: str | None
) -> None:
    named = named_family(file_name=file_name, title=title)
    assert named is None or named.family in FAMILY_WORDS


def test_a_numbered_files_words_come_from_its_title() -> None:
    # The whole title is read, "/" and all: it is no path.
    name = drawing_name("drawings/A-10442.dxf", "Lagerdeckel / Bearing cover")
    assert name_words(name) == ("lagerdeckel", "bearing", "cover")
    assert name_parts(name) == ("drawings/A-10442.dxf", "Lagerdeckel / Bearing cover")
    words, in_title = drawing_words("Deckel-A-10442.dxf", "Lagerdeckel Deckel")
    assert words == ("deckel", "lagerdeckel")
    assert in_title == {"lagerdeckel"}


def test_a_file_name_cannot_pass_for_a_title() -> None:
    # A line break in an uploaded file's name is no title block.
    name = drawing_name("plate\nflange.dxf", None)
    assert name_parts(name) == ("plate flange.dxf", None)
    assert drawing_name("A-1.dxf", "  ") == "A-1.dxf"
