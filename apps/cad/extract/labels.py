"""Title-block label words in the languages engineers draw in, and what a value
of each field may look like.

A label is recognised when it is the whole text ("Maßstab", "比例", "(Gewicht)"),
or starts the text and is followed by ``:`` and a value ("MATERIAL: C45"), or by
a value of the field's own shape ("Massstab 1 : 1", "Blatt 1 von 2"). Words that
are title-block labels but name no field we report ("Ursprung", "Ersatz für")
are known too, so that they are never taken for a value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# ISO 7200 data fields plus what shops add. Order is the output order.
FIELDS = (
    "drawing_number",
    "part_name",
    "supplementary_title",
    "material",
    "scale",
    "revision",
    "date",
    "drawn_by",
    "checked_by",
    "approved_by",
    "sheet",
    "weight",
    "company",
    "document_type",
    "projection",
    "general_tolerance",
    "surface_finish",
    "units",
)

# Per field, the label words by language (en, de, fr, es, it, pt, nl, pl, cs, sl,
# ru, zh, ja, ko). Matching ignores case; a space matches any run of spaces, and
# a trailing "." or ":" is optional.
_WORDS: dict[str, tuple[str, ...]] = {
    "drawing_number": (
        "drawing number",
        "drawing no",
        "drawing nr",
        "dwg no",
        "dwg. no",
        "drg no",
        "dwg nr",
        "part number",
        "part no",
        "identification number",
        "ident no",
        "document number",
        "document no",
        "doc no",
        "drawing n°",
        "zeichnungsnummer",
        "zeichnungs-nr",
        "zeichn.-nr",
        "zeichng.-nr",
        "zchn.-nr",
        "zeich.-nr",
        "zeichnungs nr",
        "sachnummer",
        "sach-nr",
        "teilenummer",
        "teile-nr",
        "ident-nr",
        "identnummer",
        "dokumentnummer",
        "sachnummer/zeichnungsnummer",
        "znr",
        "n° de plan",
        "numéro de plan",
        "n° plan",
        "n° de dessin",
        "numéro de dessin",
        "n° dessin",
        "numéro d'identification",
        "référence",
        "réf",
        "número de plano",
        "nº de plano",
        "n.º de plano",
        "plano nº",
        "plano n°",
        "número de dibujo",
        "nº de dibujo",
        "n.º de dibujo",
        "n° de plano",
        "numero disegno",
        "n. disegno",
        "n° disegno",
        "disegno n",
        "numero di disegno",
        "codice disegno",
        "número do desenho",
        "nº do desenho",
        "n.º do desenho",
        "desenho nº",
        "desenho n.º",
        "número de desenho",
        "tekeningnummer",
        "tekening nr",
        "tekeningnr",
        "tek.nr",
        "tek. nr",
        "numer rysunku",
        "nr rysunku",
        "nr rys",
        "nr rys.",
        "numer rys",
        "číslo výkresu",
        "č. výkresu",
        "číslo výkr",
        "številka risbe",
        "št. risbe",
        "številka načrta",
        "обозначение",
        "позначення",
        "номер чертежа",
        "№ чертежа",
        "обозначение документа",
        "图号",
        "图样代号",
        "图纸编号",
        "零件号",
        "图样编号",
        "図番",
        "図面番号",
        "図面番号",
        "品番",
        "도번",
        "도면번호",
        "도면 번호",
        "품번",
    ),
    "part_name": (
        "title, supplementary title",
        "titel, zusätzlicher titel",
        "titre, titre complémentaire",
        "título, título complementario",
        "titres, titre supplémentaire",
        "títulos, título suplementario",
        "titoli, titolo supplementare",
        "títulos, título suplementar",
        "titels, aanvullende titel",
        "tytuły, tytuł dodatkowy",
        "part name",
        "title",
        "description",
        "designation",
        "name of part",
        "name",
        "benennung",
        "bezeichnung",
        "titel",
        "teilename",
        "désignation",
        "titre",
        "nom de la pièce",
        "nom de pièce",
        "título",
        "denominación",
        "designación",
        "nombre de la pieza",
        "titolo",
        "denominazione",
        "descrizione",
        "nome del pezzo",
        "denominação",
        "designação",
        "nome da peça",
        "benaming",
        "omschrijving",
        "tytuł",
        "nazwa",
        "nazwa części",
        "název",
        "název součásti",
        "naziv",
        "naslov",
        "ime dela",
        "наименование",
        "найменування",
        "название",
        "名称",
        "零件名称",
        "图名",
        "图样名称",
        "品名",
        "図名",
        "部品名",
        "図面名称",
        "품명",
        "도명",
        "명칭",
        "도면명",
    ),
    "supplementary_title": (
        "supplementary title",
        "subtitle",
        "sub-title",
        "zusatzbenennung",
        "zusätzlicher titel",
        "untertitel",
        "titre complémentaire",
        "sous-titre",
        "título complementario",
        "subtítulo",
        "titolo supplementare",
        "sottotitolo",
        "título suplementar",
        "ondertitel",
        "podtytuł",
        "doplňující název",
        "dodatni naziv",
        "подзаголовок",
        "副标题",
        "副題",
        "부제",
    ),
    "material": (
        "material",
        "part material",
        "matériau de la pièce",
        "material de la pieza",
        "materiale della parte",
        "material da peça",
        "materiaal onderdeel",
        "materiał części",
        "materials",
        "matl",
        "mat",
        "material specification",
        "werkstoff",
        "werkst",
        "matière",
        "matériau",
        "materiale",
        "materiaal",
        "materiał",
        "materiál",
        "материал",
        "材料",
        "材质",
        "材質",
        "재질",
        "재료",
    ),
    "scale": (
        "scale",
        "maßstab",
        "massstab",
        "maßst",
        "échelle",
        "echelle",
        "escala",
        "scala",
        "schaal",
        "skala",
        "měřítko",
        "merilo",
        "масштаб",
        "比例",
        "尺度",
        "縮尺",
        "축척",
        "척도",
    ),
    "revision": (
        "rev",
        "revision",
        "issue",
        "änderungsindex",
        "änd.-index",
        "index",
        "ausgabe",
        "indice",
        "révision",
        "revisión",
        "revisione",
        "revisão",
        "revisie",
        "rewizja",
        "wersja",
        "revize",
        "revizija",
        "ревизия",
        "版本",
        "版次",
        "改版",
        "改訂",
        "版数",
        "개정",
        "리비전",
    ),
    "date": (
        "date",
        "date of issue",
        "issue date",
        "datum",
        "ausgabedatum",
        "date d'émission",
        "fecha",
        "fecha de emisión",
        "data",
        "data di emissione",
        "data de emissão",
        "uitgiftedatum",
        "data wydania",
        "datum vydání",
        "datum izdaje",
        "дата",
        "日期",
        "日付",
        "발행일",
        "날짜",
        "일자",
    ),
    "drawn_by": (
        "drawn",
        "drawn by",
        "drn",
        "designed",
        "designed by",
        "created by",
        "author",
        "draftsman",
        "gezeichnet",
        "gez",
        "bearbeitet",
        "bearb",
        "erstellt",
        "erstellt durch",
        "erstellt von",
        "konstrukteur",
        "dessiné",
        "dessiné par",
        "dessinateur",
        "auteur",
        "créé par",
        "établi par",
        "dibujado",
        "dibujado por",
        "dibujó",
        "autor",
        "diseñado por",
        "diseñó",
        "disegnato",
        "disegnato da",
        "disegnatore",
        "autore",
        "redatto",
        "desenhado",
        "desenhado por",
        "desenhou",
        "projetado por",
        "getekend",
        "tekenaar",
        "ontworpen",
        "ontworpen door",
        "rysował",
        "opracował",
        "kreslil",
        "vytvořil",
        "vypracoval",
        "konstruoval",
        "risal",
        "izdelal",
        "avtor",
        "konstruiral",
        "creado por",
        "creato da",
        "criado por",
        "gemaakt door",
        "utworzony przez",
        "разраб",
        "розроб",
        "розробив",
        "разработал",
        "чертил",
        "выполнил",
        "设计",
        "制图",
        "绘图",
        "作成",
        "作成者",
        "作図",
        "製図",
        "設計",
        "작성",
        "작성자",
        "설계",
        "제도",
    ),
    "checked_by": (
        "checked",
        "checked by",
        "chk",
        "chkd",
        "geprüft",
        "gepr",
        "vérifié",
        "vérifié par",
        "contrôlé",
        "contrôlé par",
        "revisado",
        "comprobado",
        "verificado",
        "controllato",
        "verificato",
        "verificou",
        "gecontroleerd",
        "gecontr",
        "sprawdził",
        "kontroloval",
        "přezkoušel",
        "pregledal",
        "kontroliral",
        "пров",
        "перев",
        "перевірив",
        "проверил",
        "审核",
        "校对",
        "検図",
        "照査",
        "検査",
        "검토",
        "검도",
        "revisó",
        "revisado por",
        "verificó",
        "controló",
        "comprobó",
        "controlado por",
        "sprawdzony przez",
        "revisto",
        "chk'd",
        "checked'd",
    ),
    "approved_by": (
        "approved",
        "approved by",
        "appd",
        "appr",
        "app",
        "freigegeben",
        "freig",
        "genehmigt",
        "genehmigt von",
        "approuvé",
        "approuvé par",
        "aprobado",
        "aprobó",
        "approvato",
        "aprovado",
        "aprovou",
        "goedgekeurd",
        "zatwierdził",
        "schválil",
        "odobril",
        "zatwierdzony przez",
        "утв",
        "затв",
        "затвердив",
        "утвердил",
        "批准",
        "承認",
        "승인",
        "appv'd",
        "app'd",
        "apprvd",
    ),
    "sheet": (
        "sheet",
        "blatt",
        "bl",
        "feuille",
        "folio",
        "planche",
        "hoja",
        "foglio",
        "folha",
        "blad",
        "arkusz",
        "list",
        "лист",
        "аркуш",
        "张",
        "页",
        "枚",
        "シート",
        "매",
        "장",
    ),
    "weight": (
        "weight",
        "mass",
        "wt",
        "gewicht",
        "masse",
        "poids",
        "peso",
        "masa",
        "massa",
        "waga",
        "hmotnost",
        "teža",
        "масса",
        "маса",
        "重量",
        "质量",
        "質量",
        "중량",
    ),
    "company": (
        "company",
        "client",
        "customer",
        "manufacturer",
        "legal owner",
        "owner",
        "firma",
        "unternehmen",
        "hersteller",
        "eigentümer",
        "société",
        "entreprise",
        "propriétaire",
        "empresa",
        "compañía",
        "propietario",
        "azienda",
        "proprietario",
        "ditta",
        "società",
        "proprietário",
        "bedrijf",
        "eigenaar",
        "właściciel",
        "vlastník",
        "podjetje",
        "lastnik",
        "организация",
        "предприятие",
        "单位",
        "公司",
        "单位名称",
        "会社",
        "会社名",
        "社名",
        "회사",
        "회사명",
    ),
    "document_type": (
        "document type",
        "type of document",
        "dokumentart",
        "dokumentenart",
        "dokumenttyp",
        "type de document",
        "tipo de documento",
        "tipo di documento",
        "documenttype",
        "rodzaj dokumentu",
        "typ dokumentu",
        "druh dokumentu",
        "vrsta dokumenta",
        "вид документа",
        "文件类型",
        "文書種類",
        "문서 종류",
    ),
    "projection": (
        "projection",
        "projection method",
        "projektion",
        "projektionsmethode",
        "proyección",
        "proiezione",
        "projeção",
        "projecção",
        "projectie",
        "rzutowanie",
        "promítání",
        "projekcija",
        "проекция",
        "投影",
        "投影法",
        "투상법",
    ),
    "general_tolerance": (
        "general tolerance",
        "general tolerances",
        "tolerances",
        "tolerance",
        "allgemeintoleranz",
        "allgemeintoleranzen",
        "freimaßtoleranz",
        "tolérances générales",
        "tolérance générale",
        "tolerancias generales",
        "tolleranze generali",
        "tolerâncias gerais",
        "algemene toleranties",
        "tolerancje ogólne",
        "všeobecné tolerance",
        "splošne tolerance",
        "общие допуски",
        "未注公差",
        "普通公差",
        "一般公差",
        "普通公差",
        "일반 공차",
    ),
    "surface_finish": (
        "surface finish",
        "surface",
        "finish",
        "oberfläche",
        "oberflächenangabe",
        "état de surface",
        "acabado superficial",
        "finitura superficiale",
        "rugosità",
        "acabamento superficial",
        "oppervlakteruwheid",
        "chropowatość",
        "drsnost",
        "hrapavost",
        "шероховатость",
        "表面粗糙度",
        "表面粗さ",
        "표면 거칠기",
    ),
    "units": (
        "units",
        "unit",
        "einheit",
        "einheiten",
        "maßeinheit",
        "unités",
        "unité",
        "unidades",
        "unità",
        "eenheden",
        "jednostki",
        "jednotky",
        "enote",
        "единицы",
        "尺寸单位",
        "単位",
        "단위",
    ),
}

# Title-block words that name no field we report. Knowing them keeps them from
# being read as a value ("Ursprung" is never a part name).
_OTHER = (
    "ursprung",
    "ersatz für",
    "erstellt für",
    # A column's "No." alone is a row number's header, no field's label;
    # "Nos." heads a schedule's count column.
    "no",
    "nos",
    "nr",
    "ersetzt durch",
    "ers. f",
    "ers. d",
    "ers. für",
    "zust",
    "zustand",
    "änderung",
    "änd",
    "norm",
    "gepr. name",
    "stück",
    "menge",
    "pos",
    "position",
    "item",
    "qty",
    "quantity",
    "remarks",
    "bemerkung",
    "format",
    "size",
    "größe",
    "zone",
    "department",
    "dept",
    "abteilung",
    "abtlg",
    "verantwl. abtlg",
    "responsible dept",
    "technical reference",
    "technische referenz",
    "document status",
    "dokumentstatus",
    "dokumentenstatus",
    "status",
    "spr",
    "sprache",
    "language",
    "origin",
    "nombre",
    "replaces",
    "replaced by",
    "modification",
    "modif",
    "nom",
    "visa",
    "signature",
    "unterschrift",
    "firma/name",
    "nombre/fecha",
    "podpis",
    "podpis/data",
    "подп",
    "подпись",
    "изм",
    "лист №",
    "№ докум",
    "кол. уч",
    "标记",
    "处数",
    "分区",
    "更改文件号",
    "签名",
    "年月日",
    "阶段标记",
    "記事",
    "訂正",
    "改訂記事",
    "변경",
    "서명",
    "cage code",
    "fscm no",
    "next assy",
    "used on",
    "application",
    "contract no",
    "item no",
    "description of change",
    "change",
    "ecn",
    "eco",
    "treatment",
    "heat treatment",
    "wärmebehandlung",
    "do not scale drawing",
    "unless otherwise specified",
    "ersatz",
    "blattgröße",
    "标准化",
    "工艺",
    "阶段标记",
    "共",
    "第",
    "数量",
    "수량",
    "листов",
    "аркушів",
    "арк",
    "зм",
    "підп",
    "лит",
    "літ",
    "копіював",
    "т.контр",
    "н.контр",
    "копировал",
    "формат",
    "mfg",
    "q.a",
    "qa",
    "signature",
    "a0",
    "a1",
    "a2",
    "a3",
    "a4",
)

_SEP = r"\s*[:：]\s*"
# First characters of every label word: most drawing text (numbers, sizes)
# is ruled out by one set lookup.
_FIRST = frozenset(
    w[0].casefold() for words in (*_WORDS.values(), _OTHER) for w in words
) | frozenset(w[0].upper().casefold() for words in _WORDS.values() for w in words)


def _pattern(word: str) -> str:
    """A label word as a pattern: "dwg no" also reads "DWG. NO.", and
    "zeichn.-nr" also "Zeichn. Nr." or "Zeichn.Nr.": abbreviation dots,
    hyphens and spaces vary from one template to the next."""
    out: list[str] = []
    for ch in word.rstrip("."):
        if ch in " .-":
            joint = r"[.\-\s]*"
            if not out or out[-1] != joint:
                out.append(joint)
        else:
            out.append(re.escape(ch))
    return "".join(out) + r"\.?"


def _alternation(words: tuple[str, ...]) -> str:
    # Longest first, so "drawing number" wins over a shorter word it starts with.
    return "|".join(_pattern(w) for w in sorted(set(words), key=len, reverse=True))


_FIELD_RE = {
    f: re.compile(
        rf"^\s*(?P<label>{_alternation(w)})(?P<rest>.*)$", re.IGNORECASE | re.DOTALL
    )
    for f, w in _WORDS.items()
}
_OTHER_RE = re.compile(
    rf"^\s*(?:{_alternation(_OTHER)})\s*[:：]?\s*$", re.IGNORECASE | re.DOTALL
)

_NUM = r"\d+(?:[.,]\d+)?"
_DATE = re.compile(
    r"\d{4}\s*[./-]\s*\d{1,2}\s*[./-]\s*\d{1,2}"
    r"|\d{1,2}\s*[./-]\s*\d{1,2}\s*[./-]\s*\d{2,4}"
    r"|\d{4}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?"
    r"|\d{1,2}(?:st|nd|rd|th)?\.?\s+[^\W\d_]{3,12}\.?\s+\d{4}"
    r"|[^\W\d_]{3,12}\.?\s+\d{1,2},?\s+\d{4}"
)
_SHAPES: dict[str, re.Pattern[str]] = {
    "scale": re.compile(
        rf"^(?:{_NUM}\s*[:/：]\s*{_NUM}"
        r"|NTS|none|keine|sans|ninguna|brez|full(?: size)?)$",
        re.IGNORECASE,
    ),
    "sheet": re.compile(
        r"^\d{1,3}(?:\s*(?:/|of|von|de|di|van|z|ze|из|od|sur|do|из)\s*\d{1,3})?$",
        re.IGNORECASE,
    ),
    "date": re.compile(rf"^(?:{_DATE.pattern})$", re.IGNORECASE),
    "weight": re.compile(
        rf"^[~≈]?\s*{_NUM}\s*(?:kg|g|lb|lbs|t|кг|г|公斤|千克)?$", re.I
    ),
    # A lower-case word ("note" in "Revision note") is a header, not a code.
    "revision": re.compile(r"^(?![a-z]{3,}$)[A-Za-z0-9][A-Za-z0-9.\-]{0,4}$"),
    "drawing_number": re.compile(r"^(?=.*\d)[\w][\w./\-– ]{1,39}$"),
}
_DATE_LIKE = re.compile(rf"^(?:{_DATE.pattern})$", re.IGNORECASE)
_PEOPLE = frozenset({"drawn_by", "checked_by", "approved_by"})
_AGENT = re.compile(
    r"\s+(?:by|von|durch|par|da|por|door|przez|od)(?=\s*(?:[:：]|$))", re.IGNORECASE
)
# "Erstellt für", "Drawn for", "Dessiné pour": the word for "for" makes the
# label name a customer, which is no person we report.
_BENEFICIARY = re.compile(
    r"\s+(?:für|fuer|for|pour|para|voor|dla)(?=\s*(?:[:：]|$)|\s)", re.IGNORECASE
)
# Free-text fields: any short text that is not itself a label or a date.
_FREE_MAX = 80


@dataclass(frozen=True, slots=True)
class Label:
    field: str | None  # None: a title-block word that names no reported field
    label: str  # the label as written
    inline: str | None  # a value written in the label's own text
    placeholder: bool = False  # "(Gewicht)": a label standing in for its value


def _strip_wrapping(text: str) -> tuple[str, bool]:
    t = text.strip()
    if len(t) > 2 and t[0] in "(<[" and t[-1] in ")>]":
        return t[1:-1].strip(), True
    return t, False


_ZH_SHEET = re.compile(
    r"^\s*(?:共\s*(?P<n1>\d{1,3})\s*[张張页]\s*第\s*(?P<i1>\d{1,3})\s*[张張页]"
    r"|第\s*(?P<i2>\d{1,3})\s*[张張页]\s*共\s*(?P<n2>\d{1,3})\s*[张張页])\s*$"
)
_PROJECTION = re.compile(
    r"^\s*(?P<which>first|third|1st|3rd)[\s-]+angle(?:\s+projection)?\s*$",
    re.IGNORECASE,
)


_UNITS = re.compile(
    r"^\s*(?:all\s+)?(?:dimensions?|dims?|maße|maßangaben|masse|cotes|cotas|"
    r"quote|medidas|maten|wymiary|rozměry|mere|размеры)\s+(?:are\s+)?"
    r"(?:in|en|em|w|v|v\s+|в)\s*(?P<unit>mm|millimet(?:er|re)s?|milímetros|"
    r"millimetri|inch(?:es)?|in\.?|\"|мм)\s*\.?\s*$",
    re.IGNORECASE,
)


def _statement(text: str) -> Label | None:
    """Texts that are a field and its value in one: "共 2 张 第 1 张",
    "THIRD ANGLE PROJECTION", "DIMENSIONS IN MM"."""
    m = _UNITS.match(text)
    if m:
        unit = m.group("unit").lower()
        return Label("units", text.strip(), "inch" if unit[0] in 'i"' else "mm")
    m = _ZH_SHEET.match(text)
    if m:
        i, n = m.group("i1") or m.group("i2"), m.group("n1") or m.group("n2")
        return Label("sheet", text.strip(), f"{i}/{n}")
    m = _PROJECTION.match(text)
    if m:
        which = "first" if m.group("which").lower() in ("first", "1st") else "third"
        return Label("projection", text.strip(), f"{which} angle")
    return None


@lru_cache(maxsize=8192)
def match(text: str) -> Label | None:
    """The label this text is (or starts with), or None for a plain value."""
    stated = _statement(text)
    if stated is not None:
        return stated
    inner, wrapped = _strip_wrapping(text)
    if not inner or len(inner) > 80 or inner[0].casefold() not in _FIRST:
        return None
    first = inner.split("\n", 1)[0].strip()
    rest_lines = inner[len(first) :].strip() if "\n" in inner else ""
    for field, pattern in _FIELD_RE.items():
        m = pattern.match(first)
        if m is None:
            continue
        label, rest = m.group("label"), m.group("rest")
        # A label in a spaced script must end at a word boundary: "Scale" but
        # not "Scaled", "Лист" but not "Листов". CJK words run together.
        if rest and label[-1].isalpha() and rest[0].isalnum() and not _cjk(label[-1]):
            continue
        rest = _drop_translation(rest, field)
        if field in _PEOPLE and _BENEFICIARY.match(rest):
            return Label(None, first, None, wrapped)
        if field in _PEOPLE:
            # "Approvato da", "Aprovado por", "Goedgekeurd door": the word for
            # "by" belongs to the label, never to the name.
            agent = _AGENT.match(rest)
            if agent is not None:
                label, rest = label + agent.group(0).rstrip(), rest[agent.end() :]
        colon = re.match(_SEP, rest)
        value = rest[colon.end() :] if colon else rest.strip()
        separated = colon is not None
        if not value and rest_lines:
            # The value on the next line is as good as one after a colon.
            value, separated = rest_lines, True
        value = value.strip()
        if not value:
            return Label(field, label.strip(), None, wrapped)
        if _is_other(value) or _bilingual(value, field) or is_placeholder(value):
            return Label(field, label.strip(), None, wrapped)
        if not separated and not conforms(field, value, strict=True):
            continue
        if wrapped:
            return Label(field, label.strip(), None, True)
        return Label(field, label.strip(), value)
    if _is_other(first):
        return Label(None, first, None, wrapped)
    if "/" in first:
        parts = [p for p in re.split(r"\s*/\s*", first) if p]
        labels = [match(p) for p in parts]
        if len(parts) > 1 and all(x is not None and x.inline is None for x in labels):
            return Label(labels[0].field, first, None, wrapped)  # type: ignore[union-attr]
    return None


def _drop_translation(rest: str, field: str) -> str:
    """'/ Scale 1:2' after 'Maßstab': drop the same label in another language."""
    m = re.match(r"^\s*/\s*", rest)
    if m is None:
        return rest
    again = _FIELD_RE[field].match(rest[m.end() :])
    if again is None:
        return rest
    tail = again.group("rest")
    if tail and tail[0].isalnum() and not _cjk(again.group("label")[-1]):
        return rest
    return tail


def _cjk(ch: str) -> bool:
    return ch >= "\u2e80"


def is_placeholder(text: str) -> bool:
    """A template's stand-in for a value: "(Gewicht)", "<not specified>",
    "[NAME]", and the fill marks of an unfilled template ("XXX", "00/00/00",
    "XXX - 00/00/00"). Never a value itself."""
    return _strip_wrapping(text)[1] or _fill_mark(text)


def _fill_mark(text: str) -> bool:
    marks = [ch for ch in text if ch.isalnum()]
    if not marks or any(ch not in "xX0" for ch in marks):
        return False
    # A lone "0" is a first issue's revision, not a mark.
    return any(ch in "xX" for ch in marks) or len(marks) >= 4


def _is_other(text: str) -> bool:
    return _OTHER_RE.match(text) is not None


def _bilingual(value: str, field: str) -> bool:
    """'Maßstab / Scale': the rest of the text is the same label in another language."""
    v = value.lstrip("/ ").strip()
    m = _FIELD_RE[field].match(v)
    return bool(m and not m.group("rest").strip(" :：."))


_NAMED = frozenset(
    {"part_name", "supplementary_title", "company", "document_type", "material"}
)


def conforms(
    field: str, value: str, *, strict: bool = False, paired: bool = False
) -> bool:
    """Whether ``value`` can be a value of ``field`` at all; ``paired``: it is
    its label's own (in the label's cell, the next cell, or on its baseline),
    where a one-digit drawing number ("Drawing No. 1") is no sheet-zone mark:
    those stand alone in the frame's margin."""
    v = value.strip()
    if not v or len(v) > _FREE_MAX:
        return False
    if paired and field == "drawing_number" and len(v) == 1 and v.isdigit():
        return True
    shape = _SHAPES.get(field)
    if shape is not None:
        return shape.match(v) is not None
    if not any(ch.isalnum() for ch in v):
        return False
    if (field in _NAMED or field in _PEOPLE) and sum(ch.isalnum() for ch in v) < 2:
        # One letter or digit is a sheet-zone reference or a row number.
        return False
    if field in _PEOPLE or field in ("part_name", "supplementary_title", "material"):
        if _DATE_LIKE.match(v):
            return False
    if field in _PEOPLE:
        return any(ch.isalpha() for ch in v) and len(v) <= 40
    if field in ("part_name", "supplementary_title", "company", "document_type"):
        # A bare number under "Title" is a table's row number, not a name.
        return any(ch.isalpha() for ch in v)
    if strict:
        # Without a separator only fields with a recognisable shape take an
        # inline value; "Title block" must not yield title "block".
        return field in ("general_tolerance",) and bool(re.search(r"\d", v))
    return True


def is_label(text: str) -> bool:
    found = match(text)
    return found is not None and found.inline is None
