"""Title block fields, read as a table.

Sources, in order of trust (``confidence`` is this ranking, not a probability):
an ATTRIB whose tag names the field (0.95); a value written inside its label's
text, "Massstab 1 : 1" (0.9); the value in the label's own ruled cell (0.85); in
the next cell to the right (0.75); in the cell under a column header (0.7);
without a ruled grid, a value right of the label on its baseline (0.6) or just
below it (0.5). A candidate that is itself a label, or has not the shape of the
field (a scale that is not "n:m", a name that is a date), is passed over: an
empty field is better than a wrong one.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from typing import Any

from apps.cad.extract import labels
from apps.cad.extract.cells import REACH, Cell, Grid
from apps.cad.extract.labels import FIELDS as ALL_FIELDS
from apps.cad.extract.labels import Label
from apps.cad.text import CHAR_W, TextItem

__all__ = ["ALL_FIELDS", "FIELDS", "extract", "merge"]

# The fields v1 had, in its order; what tabular exports (batch results) list.
# Analyses carry ALL_FIELDS.
FIELDS = (
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

_TAG_NAMES: dict[str, tuple[str, ...]] = {
    "drawing_number": (
        "DWG_NO",
        "DWGNO",
        "DRAWING_NUMBER",
        "DRAWINGNO",
        "DRG_NO",
        "PART_NO",
        "PARTNO",
        "NUMBER",
        "DOC_NO",
        "DOCNO",
        "ZEICHNUNGSNUMMER",
        "ZNR",
        "ZEICHNR",
        "SACHNUMMER",
        "IDENT_NO",
    ),
    "part_name": (
        "PART_NAME",
        "PARTNAME",
        "TITLE",
        "NAME",
        "DESCRIPTION",
        "BENENNUNG",
        "TITEL",
        "DESIGNATION",
    ),
    "supplementary_title": ("SUBTITLE", "SUPPLEMENTARY_TITLE", "TITLE2", "ZUSATZ"),
    "material": ("MATERIAL", "MAT", "MATL", "WERKSTOFF"),
    "scale": ("SCALE", "MASSSTAB", "MAßSTAB"),
    "revision": ("REV", "REVISION", "INDEX"),
    "date": ("DATE", "DATUM", "ISSUE_DATE"),
    "drawn_by": ("DRAWN", "DRAWN_BY", "DRAWNBY", "AUTHOR", "DESIGNER", "CREATED_BY"),
    "checked_by": ("CHECKED", "CHECKED_BY", "CHECKEDBY", "CHECKER"),
    "approved_by": ("APPROVED", "APPROVED_BY", "APPROVEDBY", "APPROVER"),
    "sheet": ("SHEET", "SHEETS", "BLATT"),
    "weight": ("WEIGHT", "MASS", "GEWICHT"),
    "company": ("COMPANY", "CLIENT", "OWNER", "FIRMA"),
    "document_type": ("DOCUMENT_TYPE", "DOCTYPE", "DOC_TYPE"),
    "projection": ("PROJECTION",),
    "general_tolerance": ("GENERAL_TOLERANCE", "TOLERANCE", "TOLERANCES"),
    "surface_finish": ("SURFACE_FINISH", "FINISH", "SURFACE"),
    "units": ("UNITS", "UNIT"),
}
_MORE_TAGS: dict[str, tuple[str, ...]] = {
    "drawing_number": (
        "DWG_NUMBER",
        "DRAWING_NO",
        "DWG#",
        "PART_NUMBER",
        "ZEICHNUNGSNR",
        "ZEICHNUNGS_NR",
        "SACHNR",
        "TEILENR",
        "NUMERO_PLAN",
        "N_PLAN",
        "TUHAO",
        "图号",
        "図番",
        "도번",
        # Russian and Ukrainian templates (ESKD stamps as blocks).
        "ОБОЗНАЧЕНИЕ",
        "ОБОЗН",
        "ПОЗНАЧЕННЯ",
    ),
    "part_name": (
        "TITLE_1",
        "BEZEICHNUNG",
        "TITRE",
        "TITULO",
        "TITOLO",
        "图名",
        "名称",
        "品名",
        "НАИМЕНОВАНИЕ",
        "НАИМ",
        "НАЙМЕНУВАННЯ",
    ),
    "material": (
        "MATERIALE",
        "MATIERE",
        "材料",
        "材質",
        "재질",
        "МАТЕРИАЛ",
        "МАТЕРІАЛ",
    ),
    "scale": (
        "ECHELLE",
        "ESCALA",
        "SCALA",
        "MASSTAB",
        "比例",
        "尺度",
        "축척",
        "МАСШТАБ",
    ),
    "revision": ("REV_NO", "REVNO", "ISSUE", "AENDERUNG", "INDICE"),
    "sheet": (
        "SHEET_NO",
        "SHT",
        "BLATT_NR",
        "FEUILLE",
        "HOJA",
        "FOGLIO",
        "ЛИСТ",
        "АРКУШ",
    ),
    "date": ("ДАТА",),
    "drawn_by": (
        "ERSTELLER",
        "BEARBEITER",
        "GEZEICHNET",
        "DESSINE",
        "DIBUJADO",
        "DISEGNATO",
        "РАЗРАБОТАЛ",
        "РАЗРАБ",
        "РОЗРОБИВ",
    ),
    "checked_by": (
        "CHK_BY",
        "GEPRUEFT",
        "GEPRÜFT",
        "VERIFIE",
        "REVISADO",
        "CONTROLLATO",
        "ПРОВЕРИЛ",
        "ПРОВ",
        "ПЕРЕВІРИВ",
    ),
    "approved_by": (
        "APP_BY",
        "APPR_BY",
        "FREIGEGEBEN",
        "APPROUVE",
        "APROBADO",
        "APPROVATO",
        "УТВЕРДИЛ",
        "УТВ",
        "ЗАТВЕРДИВ",
    ),
    "weight": ("MASSE", "POIDS", "PESO", "МАССА", "МАСА"),
    "company": (
        "FIRMENNAME",
        "SOCIETE",
        "EMPRESA",
        "AZIENDA",
        "ОРГАНИЗАЦИЯ",
        "ПРЕДПРИЯТИЕ",
        "ОРГАНІЗАЦІЯ",
    ),
}


def _plain(text: str) -> str:
    """Without case or accents: "TITULO" and "título" are one word."""
    decomposed = unicodedata.normalize("NFKD", text.strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _tag_key(tag: str) -> str:
    """'DWG-No.', 'dwg_no', 'TITLE1': one spelling per tag (trailing digits of
    numbered template tags dropped)."""
    key = tag.upper().replace(" ", "_").replace("-", "_").replace(".", "")
    return key.rstrip("0123456789_") or key


_TAG_FIELD = {
    _tag_key(tag): f
    for names in (_TAG_NAMES, _MORE_TAGS)
    for f, tags in names.items()
    for tag in tags
}
# Fields whose value may stand in a column under their header.
_TABULAR = frozenset(
    {
        "date",
        "drawn_by",
        "checked_by",
        "approved_by",
        "revision",
        "scale",
        "weight",
        "sheet",
        "material",
        "drawing_number",
    }
)
# Column headers that make a row the head of a revision table.
_CHANGE_WORDS = frozenset(
    {
        "description",
        "description of change",
        "change",
        "änderung",
        "änd",
        "zust",
        "zustand",
        "modification",
        "modif",
        "ecn",
        "eco",
        "изм",
        "зм",
        "标记",
        "更改文件号",
        "改訂記事",
        "記事",
        "변경",
    }
)
# Largest title-block cell, in heights of its label text.
CELL_MAX_W = 60.0
CELL_MAX_H = 15.0
# Only short texts can be labels or values; more are ignored for pairing.
MAX_CANDIDATES = 20_000
_SCALE_HEAD = re.compile(r"\d+(?:[.,]\d+)?\s*[:/]")
_SCALE_TAIL = re.compile(r"\d+(?:[.,]\d+)?")
# How far (in text heights) from a read label an unlabelled date may sit and
# still belong to the same title block.
UNLABELLED_REACH = 20
# ISO 7200 gives the title the block's largest field; a cell is read as the
# unlabelled title only when it is this much larger than any other cell that
# holds text in the same block (two of equal size say nothing).
TITLE_CELL_LEAD = 1.5
# An unlabelled title is a line or a few, not a note.
TITLE_MAX_LINES = 3
# Texts in the title cell this much smaller than its tallest are its label.
TITLE_HEIGHT_SHARE = 0.75
# A title block prints a few dozen labels; hundreds are a table or a legend.
TITLE_MAX_LABELS = 100


# A GOST 2.104 (ESKD) main inscription prints no label over the part's name,
# its designation, its material and the organisation: the form's cells are
# found from its header row "Лит. | Масса | Масштаб" (``gost_inscription``).
_GOST_HEAD = ("лит", "масса")
# The same form in Ukrainian (DSTU GOST 2.104): "Літ. | Маса | Масштаб".
_GOST_WORDS = {"літ": "лит", "маса": "масса", "розроб": "разраб"}
GOST_CONFIDENCE = 0.8


def _gost_word(text: str) -> str:
    """A GOST form's printed word, in Russian ("Літ." reads "лит")."""
    word = _plain(text).rstrip(".")
    return _GOST_WORDS.get(word, word)


def _joined(line: list[TextItem]) -> str:
    """One line's texts left to right: a space between words, none where a
    text goes on where the last one ended (an export that writes "Х12МФ" as
    "Х", "12" and "МФ")."""
    out, end = "", None
    for it in sorted(line, key=lambda o: o.x):
        piece = it.text.strip()
        if not piece:
            continue
        h = it.height if it.height > 0 else 2.5
        if out and (end is None or it.x - end >= 0.3 * h):
            out += " "
        out += piece
        end = it.x + len(it.text) * h * CHAR_W
    return out


def _anchor(it: TextItem) -> tuple[float, float]:
    """A point inside the text's box: its middle where the text reader worked it
    out from the alignment, else just right of and above a TEXT's baseline
    start (or below an MTEXT's top left corner)."""
    if it.cx is not None and it.cy is not None:
        return it.cx, it.cy
    h = it.height if it.height > 0 else 2.5
    dy = -0.4 * h if it.kind == "MTEXT" else 0.4 * h
    return it.x + 0.3 * h, it.y + dy


def _cell_sized(cell: Cell, h: float) -> bool:
    """Whether a ruled box is a title-block cell for text of height ``h``, not
    the sheet frame or a view border around it."""
    return (cell.x1 - cell.x0) <= CELL_MAX_W * h and (
        cell.y1 - cell.y0
    ) <= CELL_MAX_H * h


class _Reader:
    def __init__(self, items: list[TextItem], grid: Grid | None) -> None:
        self.grid = grid
        # An ATTDEF inside a block is the template's definition, never shown
        # where the block is inserted (its ATTRIB is).
        self.items = [
            it
            for it in items
            if len(it.text) <= 80
            and it.kind != "DIMENSION"
            and not (it.kind == "ATTDEF" and it.block)
        ][:MAX_CANDIDATES]
        self.items.sort(key=lambda it: it.x)
        self.xs = [it.x for it in self.items]
        self.label_of: dict[int, Label | None] = {}
        self.cells: dict[int, Cell | None] = {}
        self.found: dict[str, dict[str, Any]] = {}
        # Fields whose own cell holds text that is no such value.
        self.withheld: set[str] = set()

    def label(self, it: TextItem) -> Label | None:
        key = id(it)
        if key not in self.label_of:
            self.label_of[key] = labels.match(it.text)
        return self.label_of[key]

    def cell(self, it: TextItem) -> Cell | None:
        key = id(it)
        if key not in self.cells:
            if self.grid is None:
                self.cells[key] = None
            else:
                h = it.height if it.height > 0 else 2.5
                x, y = _anchor(it)
                self.cells[key] = self.grid.cell_at(x, y, REACH * h)
        return self.cells[key]

    def near(self, x0: float, x1: float, y0: float, y1: float) -> list[TextItem]:
        lo = bisect.bisect_left(self.xs, x0)
        hi = bisect.bisect_right(self.xs, x1)
        return [it for it in self.items[lo:hi] if y0 <= it.y <= y1]

    def offer(
        self,
        field: str,
        value: str,
        conf: float,
        handle: str | None,
        label: str,
        label_handle: str | None,
        method: str,
    ) -> None:
        value = value.strip()
        if not value:
            return
        if label and _plain(value) == _plain(label).rstrip(" :："):
            return  # a template's field holding its own label ("Título:" TITULO)
        current = self.found.get(field)
        if current is None or conf > current["confidence"]:
            self.found[field] = {
                "value": value,
                "confidence": conf,
                "evidence": {
                    "handle": handle,
                    "label": label,
                    "label_handle": label_handle,
                    "method": method,
                },
            }

    def value_text(self, it: TextItem, field: str, *, paired: bool = False) -> bool:
        """Whether ``it`` can be read as a value of ``field`` (``paired``: it
        is the label's own, ``labels.conforms``)."""
        lab = self.label(it)
        if lab is not None or labels.is_placeholder(it.text):
            return False
        return labels.conforms(field, it.text, paired=paired)

    def _in_cell(self, cell: Cell, h: float) -> list[TextItem]:
        pad = 0.5 * h
        found = self.near(cell.x0 - pad, cell.x1, cell.y0 - pad, cell.y1)
        return [
            it
            for it in found
            if cell.x0 <= _anchor(it)[0] <= cell.x1
            and cell.y0 <= _anchor(it)[1] <= cell.y1
        ]

    def in_revision_header(self, it: TextItem, h: float) -> bool:
        """Whether ``it`` heads a column of a revision table: its row also names
        the change ("DESCRIPTION", "Änderung", "Zust.")."""
        for o in self.near(it.x - 60 * h, it.x + 60 * h, it.y - 0.5 * h, it.y + h):
            lab = None if o is it else self.label(o)
            if lab is None or lab.inline is not None:
                continue
            word = lab.label.casefold().rstrip(".")
            if word in _CHANGE_WORDS:
                return True
        return False

    def in_label_row(self, it: TextItem, h: float) -> bool:
        """Whether other labels share ``it``'s row (a table's header row)."""
        for o in self.near(it.x - 40 * h, it.x + 40 * h, it.y - 0.5 * h, it.y + h):
            lab = None if o is it else self.label(o)
            if lab is not None and lab.inline is None:
                return True
        return False

    def header_row(self, it: TextItem, h: float) -> bool:
        """Whether ``it`` sits in a row of column headers ("Datum | Name")."""
        for o in self.near(it.x - 40 * h, it.x + 40 * h, it.y - 0.5 * h, it.y + h):
            lab = None if o is it else self.label(o)
            if lab is not None and lab.inline is None and lab.field in (None, "date"):
                return True
        return False

    def pair(self, it: TextItem, lab: Label) -> None:
        field = lab.field
        assert field is not None
        h = it.height if it.height > 0 else 2.5
        # "Name" heads the column of people's names in a DIN table; it names
        # the part only where no such header row is around it.
        if lab.label.casefold() == "name" and self.header_row(it, h):
            return
        tol = 0.3 * h
        cell = self.cell(it)
        if cell is not None and _cell_sized(cell, h):
            # 1. In the label's own cell, right of or below the label.
            own = [
                o
                for o in self._in_cell(cell, h)
                if o is not it and (o.x > it.x + tol or o.y < it.y - tol)
            ]
            own = [o for o in own if not self._is_labelish(o)]
            if own:
                best = min(own, key=lambda o: (-o.y, o.x))
                if self.value_text(best, field, paired=True):
                    self.offer(
                        field,
                        best.text,
                        0.85,
                        best.handle,
                        it.text,
                        it.handle,
                        "same_cell",
                    )
                return
            # 2. The next cells to the right on the same row (a person's
            # row: "Bearb. | date | name" skips the date for drawn_by).
            right = cell
            for _ in range(3):
                nxt = self._neighbour(right, h, "right")
                if nxt is None:
                    break
                right, texts = nxt
                if any(self._is_labelish(o) for o in texts):
                    break
                ok = [o for o in texts if self.value_text(o, field, paired=True)]
                if ok:
                    best = min(ok, key=lambda o: (-o.y, o.x))
                    self.offer(
                        field,
                        best.text,
                        0.75,
                        best.handle,
                        it.text,
                        it.handle,
                        "next_cell",
                    )
                    return
            # 3. The cell under a column header. A name or number column
            # under "DESCRIPTION" in a revision table is no part name.
            if field not in _TABULAR and self.in_label_row(it, h):
                return
            # A revision table's columns hold every change, not the drawing's
            # current values: those are in the title block proper.
            if self.in_revision_header(it, h):
                return
            nxt = self._neighbour(cell, h, "below")
            if nxt is not None:
                below, texts = nxt
                ok = [o for o in texts if self.value_text(o, field)]
                if ok and field not in _TABULAR and self._listed(below, h, field):
                    return  # a column of names: a legend or a parts list
                if ok and not any(self._is_labelish(o) for o in texts):
                    best = min(ok, key=lambda o: (-o.y, o.x))
                    self.offer(
                        field,
                        best.text,
                        0.7,
                        best.handle,
                        it.text,
                        it.handle,
                        "below_cell",
                    )
            return
        # No ruled cell: the nearest text right on the baseline, or just below.
        best_score: tuple[float, TextItem, float, str] | None = None
        for o in self.near(it.x - 10 * h, it.x + 40 * h, it.y - 4 * h, it.y + h):
            if o is it or self._is_labelish(o):
                continue
            dx, dy = o.x - it.x, o.y - it.y
            if 0 < dx < 40 * h and abs(dy) < 0.5 * h:
                score, conf, how = dx, 0.6, "right"
            elif 0.5 * h < -dy < 4 * h and -2 * h < dx < 10 * h:
                score, conf, how = 40 * h - dy, 0.5, "below"
            else:
                continue
            if best_score is None or score < best_score[0]:
                best_score = (score, o, conf, how)
        if best_score is not None:
            _, o, conf, how = best_score
            if self.value_text(o, field, paired=how == "right"):
                self.offer(field, o.text, conf, o.handle, it.text, it.handle, how)

    def scale_tail(self, it: TextItem, lab: Label) -> None:
        """ "Scale: 1:" with the denominator in a text of its own further along
        the baseline (a template's fixed "1:" and the drawing's "75")."""
        h = it.height if it.height > 0 else 2.5
        assert lab.inline is not None
        row = [
            o
            for o in self.near(it.x, it.x + 40 * h, it.y - 0.5 * h, it.y + 0.5 * h)
            if o is not it and o.x > it.x
        ]
        if not row:
            return
        nxt = min(row, key=lambda o: o.x)
        value = f"{lab.inline.strip()}{nxt.text.strip()}"
        if _SCALE_TAIL.fullmatch(nxt.text.strip()) and labels.conforms("scale", value):
            self.offer("scale", value, 0.8, nxt.handle, lab.label, it.handle, "inline")

    def unlabelled_date(self) -> None:
        """A title block that prints its date of issue without a label word:
        the one date alone in a ruled cell among the cells whose labels were
        read. Several such dates (a revision table) say nothing."""
        labelled = self._block_labels()
        if not labelled:
            return
        found: dict[str, TextItem] = {}
        for it in self.items:
            if self.label(it) is not None or labels.is_placeholder(it.text):
                continue
            if not labels.conforms("date", it.text):
                continue
            h = it.height if it.height > 0 else 2.5
            cell = self.cell(it)
            if cell is None or not _cell_sized(cell, h):
                continue
            reach = UNLABELLED_REACH * h
            if any(
                abs(o.x - it.x) <= reach and abs(o.y - it.y) <= reach for o in labelled
            ):
                found.setdefault(it.text.strip(), it)
        if len(found) == 1:
            ((value, it),) = found.items()
            self.offer("date", value, 0.4, it.handle, "", None, "unlabelled_date")

    def _block_labels(self) -> list[TextItem]:
        """The texts read as labels of a reported field."""
        return [
            it
            for it in self.items
            if (lab := self.label(it)) is not None and lab.field is not None
        ]

    def unlabelled_title(self) -> None:
        """A title block that prints its title without a label word (ISO 7200
        names the field but many blocks print only the title in it): the text
        alone in the block's largest ruled cell, when at least two labels of
        the block were read and that cell is clearly the largest that holds
        text among theirs. The cell must hold nothing read as a label or as
        another field's value, and its text must be a name: not a date, a
        scale or a number."""
        labelled = self._block_labels()
        if not 2 <= len(labelled) <= TITLE_MAX_LABELS:
            return
        taken = {f["evidence"]["handle"] for f in self.found.values() if f}
        # Only texts around the labels can share their block.
        far = UNLABELLED_REACH * max(
            o.height if o.height > 0 else 2.5 for o in labelled
        )
        around = self.near(
            min(o.x for o in labelled) - far,
            max(o.x for o in labelled) + far,
            min(o.y for o in labelled) - far,
            max(o.y for o in labelled) + far,
        )
        sized: dict[Cell, tuple[float, float]] = {}
        for it in around:
            h = it.height if it.height > 0 else 2.5
            reach = UNLABELLED_REACH * h
            if not any(
                abs(o.x - it.x) <= reach and abs(o.y - it.y) <= reach for o in labelled
            ):
                continue
            cell = self.cell(it)
            if cell is None or cell in sized or not _cell_sized(cell, h):
                continue
            sized[cell] = ((cell.x1 - cell.x0) * (cell.y1 - cell.y0), h)
        if len(sized) < 2:
            return
        (cell, (area, h)), (_, (runner_up, _)) = sorted(
            sized.items(), key=lambda kv: -kv[1][0]
        )[:2]
        if area < TITLE_CELL_LEAD * runner_up:
            return
        texts = self._in_cell(cell, h)
        if not texts or any(
            self._is_labelish(o)
            or o.handle in taken
            or labels.is_placeholder(o.text)
            or o.kind in ("ATTRIB", "ATTDEF")
            for o in texts
        ):
            return
        # A smaller text over the title is the cell's label in a word not
        # known as one (a template's own spelling: "TITTLE").
        tallest = max(o.height for o in texts)
        texts = [o for o in texts if o.height >= TITLE_HEIGHT_SHARE * tallest]
        lines = self._lines(texts, h)
        # An MTEXT brings its own line breaks.
        count = sum(max(o.text.strip().count("\n") + 1 for o in ln) for ln in lines)
        if count > TITLE_MAX_LINES:
            return
        value = " ".join(" ".join(_joined(line) for line in lines).split())
        if (
            not labels.conforms("part_name", value)
            or labels.conforms("date", value)
            or labels.conforms("scale", value)
        ):
            return
        self.offer(
            "part_name",
            value,
            0.4,
            lines[0][0].handle,
            "",
            None,
            "unlabelled_title",
        )

    def _lines(self, texts: list[TextItem], h: float) -> list[list[TextItem]]:
        """A cell's texts as lines, top to bottom."""
        texts = sorted(texts, key=lambda o: -_anchor(o)[1])
        lines: list[list[TextItem]] = []
        for o in texts:
            if lines and abs(_anchor(lines[-1][0])[1] - _anchor(o)[1]) < 0.5 * h:
                lines[-1].append(o)
            else:
                lines.append([o])
        return lines

    def gost_inscription(self) -> None:
        """A GOST 2.104 main inscription's values, read by where the form puts
        them around its ruled header row "Лит. | Масса | Масштаб"
        (``_GOST_HEAD``), in the form's millimetres (the row is 5 high): the
        name left of "Лит." (70 x 25), the designation over the name and the
        header (120 x 15), the material under the name and the organisation
        right of it, under "Лит." (15 high); the mass and the scale under
        their headers; the date on the "Разраб." row, under "Дата". The
        form's cells, not the ruling found, bound them: a drawing's own lines
        may cross the inscription. The form is known by its top edge and the
        rule between the name and the material."""
        heads: dict[str, list[TextItem]] = {}
        for it in self.items:
            word = _gost_word(it.text)
            if word in _GOST_HEAD:
                heads.setdefault(word, []).append(it)
        for lit in heads.get("лит", []):
            h = lit.height if lit.height > 0 else 2.5
            tol = 0.5 * h
            head = self.cell(lit)
            if head is None or not _cell_sized(head, h):
                continue
            mass = next(
                (
                    c
                    for m in heads.get("масса", [])
                    if (c := self.cell(m)) is not None
                    and abs(c.x0 - head.x1) <= tol
                    and abs(c.y1 - head.y1) <= tol
                ),
                None,
            )
            if mass is None:
                continue
            u = (head.y1 - head.y0) / 5.0
            left, top, right = head.x0 - 70 * u, head.y1, head.x0 + 50 * u
            # The form's top edge over the designation, and the rule between
            # the name and the material: another table's header row has
            # neither.
            assert self.grid is not None
            if not (
                self.grid.ruled_along(top + 15 * u, left, right, tol)
                and self.grid.ruled_along(top - 25 * u, left, head.x0, tol)
            ):
                continue
            cells = {
                "part_name": Cell(left, top - 25 * u, head.x0, top),
                "drawing_number": Cell(left, top, right, top + 15 * u),
                "material": Cell(left, top - 40 * u, head.x0, top - 25 * u),
                "company": Cell(head.x0, top - 40 * u, right, top - 25 * u),
                "weight": Cell(mass.x0, head.y0 - 15 * u, mass.x1, head.y0),
                "scale": Cell(mass.x1, head.y0 - 15 * u, right, head.y0),
            }
            for field, cell in cells.items():
                self.gost_cell(field, cell, h, lit)
            self.gost_date(cells["part_name"], h, lit)
            return

    def _sized_cell_at(self, x: float, y: float, h: float) -> Cell | None:
        assert self.grid is not None
        found = self.grid.cell_at(x, y, REACH * h)
        return found if found is not None and _cell_sized(found, h) else None

    def gost_date(self, name: Cell, h: float, lit: TextItem) -> None:
        """The date in the cell under "Дата" on the "Разраб." row left of the
        name. Dates overflow that narrow cell (it holds them in a condensed
        font): a date belongs to the cell its first character is in."""
        tol = 0.5 * h
        rows = [
            c
            for it in self.items
            if _gost_word(it.text) == "разраб"
            and (c := self.cell(it)) is not None
            and c.x1 <= name.x0 + tol
            and name.y0 - tol <= c.y0
            and c.y1 <= name.y1 + tol
        ]
        dates = [
            c
            for it in self.items
            if _plain(it.text).rstrip(".") == "дата"
            and (c := self.cell(it)) is not None
            and c.x1 <= name.x0 + tol
        ]
        for row in rows:
            for date in dates:
                if abs(date.y0 - row.y1) > tol:
                    continue
                cell = self._sized_cell_at(
                    (date.x0 + date.x1) / 2, (row.y0 + row.y1) / 2, h
                )
                if cell is None or abs(cell.x0 - date.x0) > tol:
                    continue
                for it in self.near(cell.x0 - tol, cell.x1, cell.y0, cell.y1 + tol):
                    if labels.conforms("date", it.text):
                        self.offer(
                            "date",
                            it.text,
                            GOST_CONFIDENCE,
                            it.handle,
                            lit.text,
                            lit.handle,
                            "gost_inscription",
                        )
                        return

    def gost_cell(self, field: str, cell: Cell, h: float, lit: TextItem) -> None:
        """The text in one unlabelled cell as ``field``'s value: its lines top
        to bottom, joined by a space (a wrapped line) or, across a rule, by
        " / " (a material as a fraction: the stock over the grade); nothing
        when the cell holds a label or no such value."""
        texts = self._in_cell(cell, h)
        if not texts or any(self._is_labelish(o) for o in texts):
            return
        lines = self._lines(texts, h)
        value = ""
        for i, line in enumerate(lines):
            text = _joined(line)
            if i:
                y0, y1 = _anchor(line[0])[1], _anchor(lines[i - 1][0])[1]
                ruled = self.grid is not None and self.grid.ruled_between(
                    y0 + 0.3 * h, y1 - 0.3 * h, cell.x0, cell.x1
                )
                value += " / " if ruled else " "
            value += text
        if labels.is_placeholder(value) or not labels.conforms(field, value):
            # The form's own cell says something else ("см. табл", see the
            # table): a value read elsewhere is not the drawing's.
            self.withheld.add(field)
            return
        self.offer(
            field,
            value,
            GOST_CONFIDENCE,
            lines[0][0].handle,
            lit.text,
            lit.handle,
            "gost_inscription",
        )

    def _listed(self, cell: Cell, h: float, field: str) -> bool:
        """Whether the cell under ``cell`` holds another such value and no
        label: ``cell`` is a row of a table's column (a plant legend's
        names, a parts list's), not a title block's one value."""
        nxt = self._neighbour(cell, h, "below")
        if nxt is None:
            return False
        _, texts = nxt
        return any(self.value_text(o, field) for o in texts) and not any(
            self._is_labelish(o) for o in texts
        )

    def _is_labelish(self, it: TextItem) -> bool:
        return self.label(it) is not None

    def _neighbour(
        self, cell: Cell, h: float, side: str
    ) -> tuple[Cell, list[TextItem]] | None:
        """The adjacent cell on ``side`` that holds text, with its texts."""
        tol = 0.5 * h
        if side == "right":
            zone = self.near(cell.x1, cell.x1 + REACH * h, cell.y0, cell.y1)
        else:
            zone = self.near(cell.x0 - tol, cell.x1, cell.y0 - REACH * h, cell.y0)
        zone.sort(key=lambda o: o.x if side == "right" else -o.y)
        for o in zone:
            c = self.cell(o)
            if c is None:
                continue
            if side == "right":
                if abs(c.x0 - cell.x1) > tol or c.y1 < cell.y0 + tol:
                    continue
                if c.y0 > cell.y1 - tol:
                    continue
            else:
                if abs(c.y1 - cell.y0) > tol:
                    continue
                if c.x0 > cell.x1 - tol or c.x1 < cell.x0 + tol:
                    continue
            return c, self._in_cell(c, h)
        return None


def _names_a_field(text: str) -> bool:
    """An attribute left at its label ("MATERIAL") holds no value; a name that
    happens to be a title-block word ("Lang") does."""
    found = labels.match(text)
    return found is not None and found.inline is None and found.field is not None


def _inline_value(field: str, inline: str) -> bool:
    """Whether the rest of a label's text is its value: not another label word
    ("Approved by - date"), not the rest of a list the label opens
    ("Title/Name, designation, material") and not the rest of a longer label
    waiting for its value ("Erstellt am:")."""
    if inline.lstrip()[:1] in (",", ";") or inline.rstrip().endswith(":"):
        return False
    # "Description of magnitude": the label word opens a phrase.
    if re.match(r"of\s", inline.lstrip(), re.IGNORECASE):
        return False
    if _names_a_field(inline.strip(" -–:/")):
        return False
    return labels.conforms(field, inline)


def part_name(block: dict[str, Any] | None) -> str | None:
    """The part name a title block (``extract``'s, an analysis'
    ``title_block``) gives."""
    found = (block or {}).get("part_name") or {}
    return found.get("value") if isinstance(found, dict) else None


def merge(*blocks: dict[str, Any]) -> dict[str, Any]:
    """Per field, the best-evidenced value of several readings (modelspace and
    each paperspace layout are read apart: their coordinates differ)."""
    out: dict[str, Any] = {f: None for f in ALL_FIELDS}
    for block in blocks:
        for f in ALL_FIELDS:
            got = block.get(f)
            if got and (out[f] is None or got["confidence"] > out[f]["confidence"]):
                out[f] = got
    return out


def extract(items: list[TextItem], grid: Grid | None = None) -> dict[str, Any]:
    """The title-block fields found in ``items``; ``None`` for a field not found."""
    reader = _Reader(items, grid)
    for it in items:
        if it.kind in ("ATTRIB", "ATTDEF") and it.tag:
            field = _TAG_FIELD.get(_tag_key(it.tag))
            if (
                field is None
                or _names_a_field(it.text)
                or labels.is_placeholder(it.text)
                # A template's attribute left at its own name ("TITULO").
                or _plain(it.text) == _plain(it.tag)
            ):
                continue
            if it.kind == "ATTDEF" and it.text.startswith(("(", "<", "[")):
                continue  # a template's placeholder, not a value
            # An attribute printing its label too ("Scale    1:1"): the value.
            found = labels.match(it.text)
            value = (
                found.inline
                if found is not None
                and found.field == field
                and found.inline is not None
                and _inline_value(field, found.inline)
                else it.text
            )
            reader.offer(
                field,
                value,
                0.95 if it.kind == "ATTRIB" else 0.5,
                it.handle,
                it.tag,
                it.handle,
                "attribute",
            )
    for it in reader.items:
        lab = reader.label(it)
        if lab is None or lab.field is None or lab.placeholder:
            continue
        if lab.inline is not None:
            if lab.field == "scale" and _SCALE_HEAD.fullmatch(lab.inline):
                reader.scale_tail(it, lab)
            elif _inline_value(lab.field, lab.inline):
                reader.offer(
                    lab.field,
                    lab.inline,
                    0.9,
                    it.handle,
                    lab.label,
                    it.handle,
                    "inline",
                )
            continue
        if it.kind in ("ATTRIB", "ATTDEF"):
            continue
        reader.pair(it, lab)
    if grid is not None:
        reader.gost_inscription()
        for field in reader.withheld:
            if reader.found.get(field, {}).get("confidence", 1.0) < GOST_CONFIDENCE:
                del reader.found[field]
    if "date" not in reader.found and grid is not None:
        reader.unlabelled_date()
    if "part_name" not in reader.found and grid is not None:
        reader.unlabelled_title()
    return {f: reader.found.get(f) for f in ALL_FIELDS}
