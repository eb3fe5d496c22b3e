"""A labelled set of title blocks in the layouts and languages engineers use.

Each entry draws one title block the way its standard or its CAD template lays
it out (ruled cells, small labels, larger values; header rows; block attributes;
values inside the label's text; "(Gewicht)" placeholders; label cells left
empty) and says which value each field must come out with. A field absent from
``expected`` must come out empty: reading a label word or a neighbour's value
into it counts against precision.

The layouts follow the published forms (ISO 7200 and its DIN/NF/UNE/UNI/PN/ČSN/
SIST editions, DIN 6771-1, GOST 2.104, GB/T 10609.1, JIS Z 8311, KS B 0001);
their labels are the ones printed on those forms and on the templates shipped
with CAD tools. ``bench/extraction_quality.py`` scores the reader on them.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import ezdxf

# (width, label, value) in a row; value None leaves the cell's value empty.
Row = list[tuple[float, str, str | None]]


@dataclass(frozen=True)
class Case:
    name: str
    language: str
    build: Callable[[Any, Any], None]
    expected: dict[str, str]

    def dxf(self) -> bytes:
        doc = ezdxf.new("R2018")
        self.build(doc, doc.modelspace())
        stream = io.StringIO()
        doc.write(stream)
        return doc.encode(stream.getvalue())


def _rect(msp: Any, x: float, y: float, w: float, h: float) -> None:
    msp.add_lwpolyline([(x, y), (x + w, y), (x + w, y + h), (x, y + h)], close=True)


def _text(msp: Any, s: str, x: float, y: float, h: float, mtext: bool = False) -> None:
    if mtext:
        m = msp.add_mtext(s, dxfattribs={"char_height": h})
        m.set_location((x, y + h))
    else:
        msp.add_text(s, height=h).set_placement((x, y))


def stacked(
    rows: list[Row],
    *,
    x0: float = 230.0,
    y0: float = 10.0,
    row_h: float = 9.0,
    label_h: float = 1.8,
    value_h: float = 3.5,
    mtext: bool = False,
    lines: bool = False,
) -> Callable[[Any, Any], None]:
    """ISO 7200 style: each cell a label at its top left and the value below it.
    Rows are listed top to bottom."""

    def build(doc: Any, msp: Any) -> None:
        _rect(msp, 10, 10, 400, 277)  # the sheet frame
        y = y0 + row_h * len(rows)
        for row in rows:
            y -= row_h
            x = x0
            for w, label, value in row:
                if lines:
                    msp.add_line((x, y), (x + w, y))
                    msp.add_line((x, y + row_h), (x + w, y + row_h))
                    msp.add_line((x, y), (x, y + row_h))
                    msp.add_line((x + w, y), (x + w, y + row_h))
                else:
                    _rect(msp, x, y, w, row_h)
                if label:
                    _text(msp, label, x + 1, y + row_h - 1 - label_h, label_h, mtext)
                if value:
                    _text(msp, value, x + 2, y + 1.5, value_h)
                x += w

    return build


def centred(
    rows: list[Row],
    *,
    x0: float = 230.0,
    y0: float = 10.0,
    row_h: float = 10.0,
    label_h: float = 2.0,
    value_h: float = 3.5,
    right: bool = False,
) -> Callable[[Any, Any], None]:
    """Labels at the cell's top left, values centred in the cell (or flush
    right), as templates with aligned fields place them."""
    from ezdxf.enums import TextEntityAlignment

    def build(doc: Any, msp: Any) -> None:
        y = y0 + row_h * len(rows)
        for row in rows:
            y -= row_h
            x = x0
            for w, label, value in row:
                _rect(msp, x, y, w, row_h)
                _text(msp, label, x + 1, y + row_h - 1 - label_h, label_h)
                if value:
                    if right:
                        at, align = (
                            (x + w - 1.5, y + 2),
                            TextEntityAlignment.BOTTOM_RIGHT,
                        )
                    else:
                        at = (x + w / 2, y + (row_h - label_h) / 2)
                        align = TextEntityAlignment.MIDDLE_CENTER
                    msp.add_text(value, height=value_h).set_placement(at, align=align)
                x += w

    return build


def side_by_side(
    rows: list[list[tuple[float, str | None]]],
    *,
    x0: float = 240.0,
    y0: float = 10.0,
    row_h: float = 7.0,
    h: float = 2.5,
) -> Callable[[Any, Any], None]:
    """Every cell holds one text: label cells followed by their value cells (the
    GB/JIS/KS and many company forms), rows top to bottom."""

    def build(doc: Any, msp: Any) -> None:
        _rect(msp, 10, 10, 400, 277)
        y = y0 + row_h * len(rows)
        for row in rows:
            y -= row_h
            x = x0
            for w, text in row:
                _rect(msp, x, y, w, row_h)
                if text:
                    _text(msp, text, x + 1.5, y + (row_h - h) / 2, h)
                x += w

    return build


def stacked_rows(
    rows: list[list[str]],
    *,
    widths: tuple[float, ...],
    x0: float,
    y0: float,
    row_h: float = 6.0,
    h: float = 2.5,
) -> Callable[[Any, Any], None]:
    """A ruled table, one text a cell, rows top to bottom (revision blocks,
    ANSI header rows with their values beneath)."""

    def build(doc: Any, msp: Any) -> None:
        y = y0 + row_h * len(rows)
        for row in rows:
            y -= row_h
            x = x0
            for w, text in zip(widths, row, strict=True):
                _rect(msp, x, y, w, row_h)
                if text:
                    _text(msp, text, x + 1, y + (row_h - h) / 2, h)
                x += w

    return build


def combine(*builders: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    def build(doc: Any, msp: Any) -> None:
        for b in builders:
            b(doc, msp)

    return build


def attribs(tags: dict[str, str], *, at: tuple[float, float] = (300, 20)) -> Callable:
    def build(doc: Any, msp: Any) -> None:
        blk = doc.blocks.new("SCHRIFTFELD")
        for i, tag in enumerate(tags):
            blk.add_attdef(tag, (0, -i * 5), dxfattribs={"height": 2.5})
        ref = msp.add_blockref("SCHRIFTFELD", at)
        ref.add_auto_attribs(tags)

    return build


def free(texts: list[tuple[str, float, float, float]]) -> Callable:
    """Texts without ruling, (text, x, y, height)."""

    def build(doc: Any, msp: Any) -> None:
        for s, x, y, h in texts:
            _text(msp, s, x, y, h)

    return build


# The form's printed words by language: Russian (GOST 2.104) and Ukrainian
# (DSTU GOST 2.104), the rows' keys named in Russian.
_GOST_PRINTED = {
    "ru": {
        "head:no": "Изм.", "head:sheet": "Лист", "head:doc": "№ докум.",
        "head:sign": "Подп.", "head:date": "Дата", "lit:head": "Лит.",
        "mass:head": "Масса", "scale:head": "Масштаб",
        **{f"{r}:role": r
           for r in ("Разраб.", "Пров.", "Т.контр.", "Н.контр.", "Утв.")},
    },
    "uk": {
        "head:no": "Зм.", "head:sheet": "Арк.", "head:doc": "№ докум.",
        "head:sign": "Підп.", "head:date": "Дата", "lit:head": "Літ.",
        "mass:head": "Маса", "scale:head": "Масштаб",
        "Разраб.:role": "Розроб.", "Пров.:role": "Перев.",
        "Т.контр.:role": "Т.контр.", "Н.контр.:role": "Н.контр.",
        "Утв.:role": "Затв.",
    },
}  # fmt: skip


def gost_form_1(
    cells: dict[str, str | list[str]],
    *,
    x0: float = 225.0,
    y0: float = 5.0,
    language: str = "ru",
) -> Callable[[Any, Any], None]:
    """The GOST 2.104 form 1 main inscription (185 x 55 mm, ESKD drawings):
    its printed labels in ``language``, and ``cells``' texts in the cells it
    names (a list: lines top to bottom; a material's two lines are a
    fraction, with its bar). The name, designation, material and organisation
    cells print no label."""
    # name -> (x, y, width, height) from the inscription's bottom left.
    grid = {
        **{
            f"{role}:{col}": (x, y, w, 5.0)
            for y, role in ((25, "Разраб."), (20, "Пров."), (15, "Т.контр."),
                            (10, ""), (5, "Н.контр."), (0, "Утв."))
            for col, x, w in (("role", 0, 17), ("name", 17, 23), ("sign", 40, 15),
                              ("date", 55, 10))
        },
        **{
            f"change{row}:{col}": (x, 35 + 5 * row, w, 5.0)
            for row in range(4)
            for col, x, w in (("no", 0, 7), ("sheet", 7, 10), ("doc", 17, 23),
                              ("sign", 40, 15), ("date", 55, 10))
        },
        "head:no": (0, 30, 7, 5), "head:sheet": (7, 30, 10, 5),
        "head:doc": (17, 30, 23, 5), "head:sign": (40, 30, 15, 5),
        "head:date": (55, 30, 10, 5),
        "designation": (65, 40, 120, 15),
        "name": (65, 15, 70, 25),
        "material": (65, 0, 70, 15),
        "lit:head": (135, 35, 15, 5), "mass:head": (150, 35, 17, 5),
        "scale:head": (167, 35, 18, 5),
        "lit:1": (135, 20, 5, 15), "lit:2": (140, 20, 5, 15),
        "lit:3": (145, 20, 5, 15), "mass": (150, 20, 17, 15),
        "scale": (167, 20, 18, 15),
        "sheet": (135, 15, 20, 5), "sheets": (155, 15, 30, 5),
        "organisation": (135, 0, 50, 15),
    }  # fmt: skip
    printed = _GOST_PRINTED[language]
    big = {"designation": 7.0, "name": 7.0, "material": 5.0, "organisation": 5.0}

    def build(doc: Any, msp: Any) -> None:
        _rect(msp, 20, 5, 395, 287)  # the A3 sheet's frame
        for key, (x, y, w, h) in grid.items():
            _rect(msp, x0 + x, y0 + y, w, h)
            lines = cells.get(key, printed.get(key))
            if not lines:
                continue
            size = big.get(key, 3.5 if key in cells else 2.5)
            rows = [lines] if isinstance(lines, str) else lines
            top = y0 + y + h / 2 + (len(rows) - 1) * size * 0.8
            for i, line in enumerate(rows):
                _text(msp, line, x0 + x + 1, top - i * size * 1.6 - size / 2, size)
                if key == "material" and i:
                    bar = top - i * size * 1.6 + size * 0.3
                    msp.add_line((x0 + x + 1, bar), (x0 + x + w - 6, bar))

    return build


def din_6771_people(
    x0: float, y0: float, rows: list[tuple[str, str | None, str | None]]
) -> Callable[[Any, Any], None]:
    """The DIN 6771-1 corner: a header row "| Datum | Name" then one row per role
    (Bearb./Gepr./Norm) with date and name columns."""

    def build(doc: Any, msp: Any) -> None:
        widths = (14.0, 18.0, 20.0)
        rh = 5.0
        header = ("", "Datum", "Name")
        table = [header, *rows]
        y = y0 + rh * len(table)
        for row in table:
            y -= rh
            x = x0
            for w, cell in zip(widths, row, strict=True):
                _rect(msp, x, y, w, rh)
                if cell:
                    _text(msp, cell, x + 1, y + 1.2, 2.5)
                x += w

    return build


CASES: list[Case] = [
    Case(
        "iso7200_en",
        "en",
        stacked(
            [
                [
                    (45, "Responsible dept.", "ENG-M"),
                    (45, "Technical reference", "R. Lee"),
                    (45, "Document type", "Part drawing"),
                    (45, "Document status", "Released"),
                ],
                [
                    (45, "Created by", "A. Smith"),
                    (45, "Approved by", "J. Brown"),
                    (90, "Title, Supplementary title", "Pump housing"),
                ],
                [
                    (45, "Legal owner", "Acme Pumps Ltd"),
                    (45, "Identification number", "PH-2041-03"),
                    (22, "Rev.", "B"),
                    (34, "Date of issue", "2024-03-18"),
                    (34, "Sheet", "1/2"),
                ],
            ]
        ),
        {
            "document_type": "Part drawing",
            "drawn_by": "A. Smith",
            "approved_by": "J. Brown",
            "part_name": "Pump housing",
            "company": "Acme Pumps Ltd",
            "drawing_number": "PH-2041-03",
            "revision": "B",
            "date": "2024-03-18",
            "sheet": "1/2",
        },
    ),
    Case(
        "din_en_iso7200_de",
        "de",
        stacked(
            [
                [
                    (45, "Verantwl. Abtlg.", "KON"),
                    (45, "Technische Referenz", "M. Keller"),
                    (45, "Dokumentenart", "Einzelteilzeichnung"),
                    (45, "Dokumentenstatus", "freigegeben"),
                ],
                [
                    (45, "Erstellt durch", "S. Wagner"),
                    (45, "Genehmigt von", "P. Huber"),
                    (90, "Titel, Zusätzlicher Titel", "Lagerdeckel"),
                ],
                [
                    (45, "Werkstoff", "EN-GJL-250"),
                    (45, "Maßstab", "1:2"),
                    (45, "Gewicht", "3,2 kg"),
                    (45, "Allgemeintoleranzen", "ISO 2768-mK"),
                ],
                [
                    (45, "Firma", "Müller Antriebstechnik GmbH"),
                    (45, "Sachnummer/Zeichnungsnummer", "4711-020-01"),
                    (22, "Änd.", "C"),
                    (34, "Ausgabedatum", "12.04.2023"),
                    (34, "Blatt", "1/1"),
                ],
            ]
        ),
        {
            "document_type": "Einzelteilzeichnung",
            "drawn_by": "S. Wagner",
            "approved_by": "P. Huber",
            "part_name": "Lagerdeckel",
            "material": "EN-GJL-250",
            "scale": "1:2",
            "weight": "3,2 kg",
            "general_tolerance": "ISO 2768-mK",
            "company": "Müller Antriebstechnik GmbH",
            "drawing_number": "4711-020-01",
            "date": "12.04.2023",
            "sheet": "1/1",
        },
    ),
    Case(
        "din6771_de",
        "de",
        combine(
            din_6771_people(
                230,
                30,
                [
                    ("Bearb.", "03.02.2022", "Schmidt"),
                    ("Gepr.", "07.02.2022", "Weber"),
                    ("Norm", None, None),
                ],
            ),
            stacked(
                [
                    [(60, "Benennung", "Antriebswelle"), (38, "Maßstab", "2:1")],
                    [(60, "Zeichnungsnummer", "AW-1002"), (38, "Blatt", "1 von 2")],
                    [(60, "Werkstoff", "42CrMo4"), (38, "(Gewicht)", None)],
                    [(60, "Ursprung", None), (38, "Ersatz für", None)],
                ],
                x0=282,
                y0=10,
                row_h=7.0,
            ),
        ),
        {
            "drawn_by": "Schmidt",
            "checked_by": "Weber",
            "date": "03.02.2022",
            "part_name": "Antriebswelle",
            "scale": "2:1",
            "drawing_number": "AW-1002",
            "sheet": "1 von 2",
            "material": "42CrMo4",
        },
    ),
    Case(
        "inline_de",
        "de",
        free(
            [
                ("Massstab 1 : 1", 300, 40, 2.5),
                ("Werkstoff: S235JR", 300, 35, 2.5),
                ("Blatt 2 von 3", 300, 30, 2.5),
                ("Zeichnungsnummer: Z-88-17", 300, 25, 2.5),
            ]
        ),
        {
            "scale": "1 : 1",
            "material": "S235JR",
            "sheet": "2 von 3",
            "drawing_number": "Z-88-17",
        },
    ),
    Case(
        "cartouche_fr",
        "fr",
        stacked(
            [
                [(60, "Désignation", "Support moteur"), (40, "Échelle", "1:5")],
                [(60, "Matière", "EN AW-6061"), (40, "Masse", "0,85 kg")],
                [
                    (30, "Dessiné par", "C. Martin"),
                    (30, "Vérifié par", "L. Petit"),
                    (40, "Date", "15/06/2021"),
                ],
                [
                    (60, "N° de plan", "SM-310-A"),
                    (20, "Indice", "A"),
                    (20, "Feuille", "1/1"),
                ],
            ],
            mtext=True,
        ),
        {
            "part_name": "Support moteur",
            "scale": "1:5",
            "material": "EN AW-6061",
            "weight": "0,85 kg",
            "drawn_by": "C. Martin",
            "checked_by": "L. Petit",
            "date": "15/06/2021",
            "drawing_number": "SM-310-A",
            "revision": "A",
            "sheet": "1/1",
        },
    ),
    Case(
        "cajetin_es",
        "es",
        side_by_side(
            [
                [
                    (25, "Título"),
                    (55, "Brida de acoplamiento"),
                    (18, "Escala"),
                    (22, "1:2"),
                ],
                [(25, "Material"), (55, "AISI 304"), (18, "Hoja"), (22, "1/3")],
                [
                    (25, "Dibujado"),
                    (55, "M. García"),
                    (18, "Fecha"),
                    (22, "2022-11-04"),
                ],
                [(25, "Nº de plano"), (55, "BA-0452"), (18, "Revisión"), (22, "02")],
            ]
        ),
        {
            "part_name": "Brida de acoplamiento",
            "scale": "1:2",
            "material": "AISI 304",
            "sheet": "1/3",
            "drawn_by": "M. García",
            "date": "2022-11-04",
            "drawing_number": "BA-0452",
            "revision": "02",
        },
    ),
    Case(
        "cartiglio_it",
        "it",
        stacked(
            [
                [(70, "Denominazione", "Albero di trasmissione"), (30, "Scala", "1:1")],
                [(70, "Materiale", "C40"), (30, "Foglio", "1/1")],
                [
                    (35, "Disegnato", "G. Rossi"),
                    (35, "Controllato", "F. Bianchi"),
                    (30, "Data", "2020-09-30"),
                ],
                [(70, "Numero disegno", "AT-7730"), (30, "Revisione", "1")],
            ],
            lines=True,
        ),
        {
            "part_name": "Albero di trasmissione",
            "scale": "1:1",
            "material": "C40",
            "sheet": "1/1",
            "drawn_by": "G. Rossi",
            "checked_by": "F. Bianchi",
            "date": "2020-09-30",
            "drawing_number": "AT-7730",
            "revision": "1",
        },
    ),
    Case(
        "legenda_pt",
        "pt",
        side_by_side(
            [
                [
                    (28, "Denominação"),
                    (52, "Suporte de rolamento"),
                    (16, "Escala"),
                    (24, "1:2"),
                ],
                [(28, "Material"), (52, "Aço SAE 1045"), (16, "Folha"), (24, "1/1")],
                [(28, "Desenhado"), (52, "J. Silva"), (16, "Data"), (24, "10/10/2019")],
                [(28, "Nº do desenho"), (52, "SR-019"), (16, "Peso"), (24, "1,4 kg")],
            ]
        ),
        {
            "part_name": "Suporte de rolamento",
            "scale": "1:2",
            "material": "Aço SAE 1045",
            "sheet": "1/1",
            "drawn_by": "J. Silva",
            "date": "10/10/2019",
            "drawing_number": "SR-019",
            "weight": "1,4 kg",
        },
    ),
    Case(
        "stempel_nl",
        "nl",
        stacked(
            [
                [(60, "Benaming", "Lagerbus"), (40, "Schaal", "2:1")],
                [(60, "Materiaal", "CuSn8"), (40, "Blad", "1/1")],
                [
                    (30, "Getekend", "P. de Vries"),
                    (30, "Gecontroleerd", "K. Bakker"),
                    (40, "Datum", "2023-01-20"),
                ],
                [(60, "Tekeningnummer", "LB-2201"), (40, "Revisie", "A")],
            ]
        ),
        {
            "part_name": "Lagerbus",
            "scale": "2:1",
            "material": "CuSn8",
            "sheet": "1/1",
            "drawn_by": "P. de Vries",
            "checked_by": "K. Bakker",
            "date": "2023-01-20",
            "drawing_number": "LB-2201",
            "revision": "A",
        },
    ),
    Case(
        "tabliczka_pl",
        "pl",
        stacked(
            [
                [(60, "Nazwa", "Koło zębate"), (40, "Skala", "1:1")],
                [(60, "Materiał", "18CrNiMo7-6"), (40, "Arkusz", "1/2")],
                [
                    (30, "Rysował", "A. Nowak"),
                    (30, "Sprawdził", "T. Kowalski"),
                    (40, "Data", "05.05.2021"),
                ],
                [(60, "Nr rysunku", "KZ-45-01"), (40, "Masa", "2,7 kg")],
            ]
        ),
        {
            "part_name": "Koło zębate",
            "scale": "1:1",
            "material": "18CrNiMo7-6",
            "sheet": "1/2",
            "drawn_by": "A. Nowak",
            "checked_by": "T. Kowalski",
            "date": "05.05.2021",
            "drawing_number": "KZ-45-01",
            "weight": "2,7 kg",
        },
    ),
    Case(
        "popisove_pole_cs",
        "cs",
        stacked(
            [
                [(60, "Název", "Víko převodovky"), (40, "Měřítko", "1:2")],
                [(60, "Materiál", "11 373"), (40, "List", "1/1")],
                [
                    (30, "Kreslil", "J. Novák"),
                    (30, "Schválil", "P. Dvořák"),
                    (40, "Datum", "2018-02-14"),
                ],
                [(60, "Číslo výkresu", "VP-3-2018"), (40, "Hmotnost", "4,1 kg")],
            ]
        ),
        {
            "part_name": "Víko převodovky",
            "scale": "1:2",
            "material": "11 373",
            "sheet": "1/1",
            "drawn_by": "J. Novák",
            "approved_by": "P. Dvořák",
            "date": "2018-02-14",
            "drawing_number": "VP-3-2018",
            "weight": "4,1 kg",
        },
    ),
    Case(
        "glava_sl",
        "sl",
        stacked(
            [
                [(60, "Naziv", "Nosilec ležaja"), (40, "Merilo", "1:1")],
                [(60, "Material", "S355J2"), (40, "List", "1/1")],
                [
                    (30, "Risal", "M. Kovač"),
                    (30, "Pregledal", "B. Zupan"),
                    (40, "Datum", "21.03.2024"),
                ],
                [(60, "Številka risbe", "NL-100-24"), (40, "Masa", "0,6 kg")],
            ]
        ),
        {
            "part_name": "Nosilec ležaja",
            "scale": "1:1",
            "material": "S355J2",
            "sheet": "1/1",
            "drawn_by": "M. Kovač",
            "checked_by": "B. Zupan",
            "date": "21.03.2024",
            "drawing_number": "NL-100-24",
            "weight": "0,6 kg",
        },
    ),
    Case(
        "gost_2_104_ru",
        "ru",
        side_by_side(
            [
                [
                    (17, "Разраб."),
                    (23, "Иванов"),
                    (15, "Дата"),
                    (15, "12.01.23"),
                    (50, "Вал ведущий"),
                ],
                [
                    (17, "Пров."),
                    (23, "Петров"),
                    (15, None),
                    (15, None),
                    (50, "Сталь 45"),
                ],
                [
                    (17, "Утв."),
                    (23, "Сидоров"),
                    (15, "Масштаб"),
                    (15, "1:1"),
                    (50, "АБВГ.715411.001"),
                ],
                [(17, "Лист"), (23, "1"), (15, "Масса"), (15, "0,42"), (50, None)],
            ],
            x0=235,
        ),
        {
            "drawn_by": "Иванов",
            "checked_by": "Петров",
            "approved_by": "Сидоров",
            "date": "12.01.23",
            "scale": "1:1",
            "sheet": "1",
            "weight": "0,42",
        },
    ),
    Case(
        "gost_2_104_form_1_ru",
        "ru",
        gost_form_1(
            {
                "Разраб.:name": "Иванов",
                "Разраб.:date": "12.01.23",
                "Пров.:name": "Петров",
                "Утв.:name": "Сидоров",
                "designation": "АБВГ.715411.001",
                "name": ["Вал", "ведущий"],
                "material": ["Круг 40-h11 ГОСТ 2590-2006", "Сталь 45 ГОСТ 1050-2013"],
                "mass": "0,85",
                "scale": "1:2",
                "organisation": "ООО «Станкомаш»",
            }
        ),
        {
            "drawn_by": "Иванов",
            "checked_by": "Петров",
            "approved_by": "Сидоров",
            "date": "12.01.23",
            "drawing_number": "АБВГ.715411.001",
            "part_name": "Вал ведущий",
            "material": "Круг 40-h11 ГОСТ 2590-2006 / Сталь 45 ГОСТ 1050-2013",
            "weight": "0,85",
            "scale": "1:2",
            "company": "ООО «Станкомаш»",
        },
    ),
    Case(
        "dstu_gost_2_104_form_1_uk",
        "uk",
        gost_form_1(
            {
                "Разраб.:name": "Коваленко",
                "Разраб.:date": "03.02.24",
                "Пров.:name": "Шевчук",
                "Утв.:name": "Бондар",
                "designation": "КП.110.02.001",
                "name": "Кронштейн",
                "material": "Сталь 20 ГОСТ 1050-2013",
                "mass": "1,2",
                "scale": "1:1",
                "organisation": "ТОВ «Машзавод»",
            },
            language="uk",
        ),
        {
            "drawn_by": "Коваленко",
            "checked_by": "Шевчук",
            "approved_by": "Бондар",
            "date": "03.02.24",
            "drawing_number": "КП.110.02.001",
            "part_name": "Кронштейн",
            "material": "Сталь 20 ГОСТ 1050-2013",
            "weight": "1,2",
            "scale": "1:1",
            "company": "ТОВ «Машзавод»",
        },
    ),
    Case(
        "gb_10609_zh",
        "zh",
        side_by_side(
            [
                [
                    (15, "设计"),
                    (20, "王伟"),
                    (15, "日期"),
                    (25, "2023-06-01"),
                    (15, "名称"),
                    (30, "减速器箱体"),
                ],
                [
                    (15, "审核"),
                    (20, "李强"),
                    (15, "比例"),
                    (25, "1:5"),
                    (15, "图号"),
                    (30, "JSQ-01-00"),
                ],
                [
                    (15, "批准"),
                    (20, "张敏"),
                    (15, "材料"),
                    (25, "HT200"),
                    (15, "重量"),
                    (30, "12.5 kg"),
                ],
            ]
        ),
        {
            "drawn_by": "王伟",
            "checked_by": "李强",
            "approved_by": "张敏",
            "date": "2023-06-01",
            "part_name": "减速器箱体",
            "scale": "1:5",
            "drawing_number": "JSQ-01-00",
            "material": "HT200",
            "weight": "12.5 kg",
        },
    ),
    Case(
        "jis_ja",
        "ja",
        side_by_side(
            [
                [(15, "品名"), (45, "フランジ"), (15, "尺度"), (20, "1:2")],
                [(15, "材質"), (45, "SS400"), (15, "図番"), (20, "FL-2301")],
                [(15, "作成"), (45, "佐藤"), (15, "日付"), (20, "2023/04/10")],
                [(15, "検図"), (45, "鈴木"), (15, "承認"), (20, "高橋")],
            ]
        ),
        {
            "part_name": "フランジ",
            "scale": "1:2",
            "material": "SS400",
            "drawing_number": "FL-2301",
            "drawn_by": "佐藤",
            "date": "2023/04/10",
            "checked_by": "鈴木",
            "approved_by": "高橋",
        },
    ),
    Case(
        "ks_ko",
        "ko",
        side_by_side(
            [
                [(15, "품명"), (45, "축 커플링"), (15, "척도"), (20, "1:1")],
                [(15, "재질"), (45, "SM45C"), (15, "도번"), (20, "KC-118")],
                [(15, "설계"), (45, "김철수"), (15, "일자"), (20, "2022.08.15")],
            ]
        ),
        {
            "part_name": "축 커플링",
            "scale": "1:1",
            "material": "SM45C",
            "drawing_number": "KC-118",
            "drawn_by": "김철수",
            "date": "2022.08.15",
        },
    ),
    Case(
        "attribs_de",
        "de",
        attribs(
            {
                "BENENNUNG": "Zahnrad z=32",
                "ZEICHNUNGSNUMMER": "ZR-32-2",
                "WERKSTOFF": "16MnCr5",
                "MASSSTAB": "1:1",
                "DATUM": "2021-07-07",
            }
        ),
        {
            "part_name": "Zahnrad z=32",
            "drawing_number": "ZR-32-2",
            "material": "16MnCr5",
            "scale": "1:1",
            "date": "2021-07-07",
        },
    ),
    Case(
        "ansi_en",
        "en",
        stacked(
            [
                [(70, "TITLE", "BRACKET, MOUNTING"), (30, "SCALE", "1:1")],
                [(70, "MATERIAL", "6061-T6 ALUMINUM"), (30, "SHEET", "1 OF 1")],
                [
                    (35, "DRAWN", "R. JONES"),
                    (35, "CHECKED", "T. CHEN"),
                    (30, "DATE", "03/14/2022"),
                ],
                [(70, "DWG NO.", "BRK-1001"), (30, "REV", "C")],
                [(70, "FINISH", "Ra 1.6"), (30, "WEIGHT", "0.3 lb")],
            ]
        ),
        {
            "part_name": "BRACKET, MOUNTING",
            "scale": "1:1",
            "material": "6061-T6 ALUMINUM",
            "sheet": "1 OF 1",
            "drawn_by": "R. JONES",
            "checked_by": "T. CHEN",
            "date": "03/14/2022",
            "drawing_number": "BRK-1001",
            "revision": "C",
            "surface_finish": "Ra 1.6",
            "weight": "0.3 lb",
        },
    ),
    Case(
        "gb_sheet_count_zh",
        "zh",
        combine(
            side_by_side(
                [
                    [(15, "名称"), (45, "齿轮轴"), (15, "比例"), (20, "2:1")],
                    [(15, "材料"), (45, "40Cr"), (15, "图号"), (20, "CL-07")],
                    [(15, "标准化"), (45, None), (15, "工艺"), (20, None)],
                ]
            ),
            free([("共 2 张 第 1 张", 320, 40, 2.5)]),
        ),
        {
            "part_name": "齿轮轴",
            "scale": "2:1",
            "material": "40Cr",
            "drawing_number": "CL-07",
            "sheet": "1/2",
        },
    ),
    Case(
        "ansi_revisions_en",
        "en",
        combine(
            # The revision block at the top right: header row, then one row a change.
            stacked_rows(
                [
                    ["REV", "DESCRIPTION", "DATE", "APPROVED"],
                    ["A", "INITIAL RELEASE", "2021-01-10", "J. BROWN"],
                    ["B", "ADD CHAMFER", "2022-03-02", "J. BROWN"],
                ],
                widths=(12, 50, 24, 24),
                x0=300,
                y0=250,
            ),
            free([("THIRD ANGLE PROJECTION", 240, 45, 2.5)]),
            stacked_rows(
                [
                    ["SIZE", "CAGE CODE", "DWG NO", "REV"],
                    ["B", "1ABC2", "HX-5520", "B"],
                    ["SCALE", "1:2", "SHEET", "1 OF 1"],
                ],
                widths=(14, 30, 46, 20),
                x0=300,
                y0=10,
            ),
        ),
        {
            "drawing_number": "HX-5520",
            "revision": "B",
            "scale": "1:2",
            "sheet": "1 OF 1",
            "projection": "third angle",
        },
    ),
    Case(
        "iram_centred_es",
        "es",
        centred(
            [
                [
                    (30, "Fecha", "12/05/2022"),
                    (50, "Denominación", "Eje principal"),
                    (30, "Escala", "1:1"),
                ],
                [
                    (30, "Dibujó", "L. Pérez"),
                    (50, "Material", "SAE 1045"),
                    (30, "Hoja", "1/1"),
                ],
                [
                    (30, "Revisó", "C. Gómez"),
                    (50, "Plano N°", "EP-100"),
                    (30, "Peso", "2,3 kg"),
                ],
            ]
        ),
        {
            "date": "12/05/2022",
            "part_name": "Eje principal",
            "scale": "1:1",
            "drawn_by": "L. Pérez",
            "material": "SAE 1045",
            "sheet": "1/1",
            "checked_by": "C. Gómez",
            "drawing_number": "EP-100",
            "weight": "2,3 kg",
        },
    ),
    Case(
        "flush_right_de",
        "de",
        centred(
            [
                [
                    (40, "Zeichnungs-Nr.", "4100-33"),
                    (60, "Benennung", "Spannpratze"),
                    (30, "Blatt", "1"),
                ],
                [
                    (40, "Werkstoff", "C45E"),
                    (60, "Geprüft", "R. Braun"),
                    (30, "Maßstab", "1:5"),
                ],
            ],
            right=True,
        ),
        {
            "drawing_number": "4100-33",
            "part_name": "Spannpratze",
            "sheet": "1",
            "material": "C45E",
            "checked_by": "R. Braun",
            "scale": "1:5",
        },
    ),
    Case(
        "solidworks_style_en",
        "en",
        combine(
            stacked_rows(
                [
                    ["", "NAME", "SIGNATURE", "DATE"],
                    ["DRAWN", "K. Meyer", "", "2023-05-02"],
                    ["CHK'D", "S. Patel", "", ""],
                    ["APPV'D", "", "", ""],
                    ["MFG", "", "", ""],
                ],
                widths=(16, 24, 22, 22),
                x0=230,
                y0=10,
            ),
            free(
                [
                    ("TITLE:", 316, 34, 2.5),
                    ("HINGE PLATE", 330, 26, 3.5),
                    ("DWG NO.", 316, 18, 2.5),
                    ("HP-3001", 336, 12, 3.5),
                    ("SCALE:1:1", 316, 4, 2.5),
                    ("SHEET 1 OF 1", 370, 4, 2.5),
                    ("MATERIAL:", 230, 44, 2.5),
                    ("<not specified>", 252, 44, 2.5),
                    ("A4", 400, 12, 5),
                ]
            ),
        ),
        {
            "drawn_by": "K. Meyer",
            "checked_by": "S. Patel",
            "date": "2023-05-02",
            "part_name": "HINGE PLATE",
            "drawing_number": "HP-3001",
            "scale": "1:1",
            "sheet": "1 OF 1",
        },
    ),
    Case(
        "gost_changes_ru",
        "ru",
        stacked_rows(
            [
                ["", "", "", "", "", "Лит.", "Масса", "Масштаб"],
                ["Изм.", "Лист", "№ докум.", "Подп.", "Дата", "", "1,8", "1:2"],
                ["Разраб.", "Смирнов", "", "", "", "Лист 1", "Листов 2", ""],
                ["Пров.", "Кузнецов", "", "", "", "", "", ""],
                ["Т.контр.", "", "", "", "", "", "", ""],
                ["Утв.", "Попов", "", "", "", "", "", ""],
            ],
            widths=(14, 22, 22, 14, 14, 16, 20, 20),
            x0=230,
            y0=10,
            row_h=5.0,
        ),
        {
            "weight": "1,8",
            "scale": "1:2",
            "drawn_by": "Смирнов",
            "checked_by": "Кузнецов",
            "approved_by": "Попов",
            "sheet": "1",
        },
    ),
]


def score(
    results: dict[str, dict[str, Any]], cases: Sequence[Any] | None = None
) -> dict[str, Any]:
    """Field-level precision and recall overall, per language and per field.

    A value counts as right when it equals the expected value (surrounding
    spaces ignored); a value where none was expected, or a different value,
    counts as wrong.
    """

    def bucket() -> dict[str, int]:
        return {"right": 0, "wrong": 0, "expected": 0}

    total, by_lang, by_field = bucket(), {}, {}
    misses: list[str] = []
    for case in cases if cases is not None else CASES:
        block = results[case.name]
        for field, got in block.items():
            value = (got or {}).get("value")
            want = case.expected.get(field)
            for b in (
                total,
                by_lang.setdefault(case.language, bucket()),
                by_field.setdefault(field, bucket()),
            ):
                b["expected"] += want is not None
                if value is None:
                    continue
                if want is not None and value.strip() == want:
                    b["right"] += 1
                else:
                    b["wrong"] += 1
            if (value or None) != want:
                misses.append(f"{case.name}.{field}: got {value!r}, want {want!r}")

    def pr(b: dict[str, int]) -> dict[str, float]:
        said = b["right"] + b["wrong"]
        return {
            "precision": round(b["right"] / said, 4) if said else 1.0,
            "recall": round(b["right"] / b["expected"], 4) if b["expected"] else 1.0,
        }

    return {
        **pr(total),
        "cases": len(cases if cases is not None else CASES),
        "languages": {k: pr(v) for k, v in sorted(by_lang.items())},
        "fields": {k: pr(v) for k, v in sorted(by_field.items()) if v["expected"]},
        "misses": misses,
    }
