"""The part family a drawing's own name says it is, as an engineer reads it.

A drawing's file name and the title in its title block often name the part
("Flansch_DN50.dxf", "gear_20mm.dxf", "M6_Nut", "Riemenscheibe"), in the
drafter's language, and sometimes by its standard ("ISO 4017 M8x30"). The
default model's families (``apps.cad.synth.PART_CLASSES``) are looked up in
the words of both: English, German, French, Spanish, Italian, Slovenian,
Dutch, Polish, Czech, Slovak, Russian, Ukrainian, Bulgarian, Serbian, Chinese
and Japanese names,
German compounds by their last word ("Lagergehäuse" is a housing), and the
ISO, DIN, EN and GOST standards of common fasteners, bearings and flanges.
When a name holds several family words, the last one is the part (a
"bearing housing" is a housing, a "pulley bracket" a bracket), but in a
Cyrillic one the first ("Вал-шестерня" is a shaft).

Words that also name things no engineer would call that part are left out
("bush" is a shrub in a garden plan, "panel" an electrical panel, "as", "pen"
and "bus" are too short to trust); a family word in another sense
names nothing ("elevator shaft", "load-bearing wall", "lightning bolt",
"Passfeder", a key, not a spring).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

FAMILY_WORDS: dict[str, tuple[str, ...]] = {
    "flange": ("flange", "flansch", "bride", "prirobnica", "brida", "flangia", "flens"),
    "spur_gear": (
        "gear",
        "gears",
        "gearwheel",
        "zahnrad",
        "stirnrad",
        "ritzel",
        "pinion",
        "engrenage",
        "zobnik",
        "engranaje",
        "ingranaggio",
        "tandwiel",
    ),
    "stepped_shaft": (
        "shaft",
        "welle",
        "arbre",
        "gred",
        "eje",
        "albero",
        "axle",
        "achse",
    ),
    "l_bracket": (
        "bracket",
        "winkel",
        "equerre",
        "konzola",
        "soporte",
        "staffa",
        "beugel",
    ),
    "hole_plate": (
        "plate",
        "baseplate",
        "platte",
        "plaque",
        "plosca",
        "placa",
        "piastra",
        "plaat",
    ),
    "washer": (
        "washer",
        "scheibe",
        "unterlegscheibe",
        "rondelle",
        "podlozka",
        "arandela",
        "rondella",
        "sluitring",
    ),
    "bushing": ("bushing", "buchse", "bague", "pusa", "casquillo", "boccola", "sleeve"),
    "hex_nut": ("nut", "nuts", "mutter", "ecrou", "matica", "tuerca", "moer"),
    "pulley": (
        "pulley",
        "riemenscheibe",
        "poulie",
        "jermenica",
        "polea",
        "puleggia",
        "sheave",
        "katrol",
        "riemschijf",
        # Timing belt profiles name the pulleys made for them ("MXL 17 tooth").
        "mxl",
        "htd",
    ),
    "housing": (
        "housing",
        "gehause",
        "gehaeuse",
        "carter",
        "ohisje",
        "carcasa",
        "alloggiamento",
        "enclosure",
        "behuizing",
    ),
    "hex_bolt": (
        "bolt",
        "bolts",
        "screw",
        "screws",
        "schraube",
        "vijak",
        "tornillo",
        "vite",
        "bout",
        "schroef",
    ),
    "ball_bearing": (
        "bearing",
        "bearings",
        "lager",
        "roulement",
        "lezaj",
        "rodamiento",
        "cuscinetto",
    ),
    "compression_spring": (
        "spring",
        "feder",
        "ressort",
        "vzmet",
        "resorte",
        "molla",
        "veer",
    ),
    "dowel_pin": ("pin", "dowel", "stift", "goupille", "zatic", "pasador", "spina"),
}
# Polish, Czech and Slovak names, in the nominative: "tuleja łożyska" is a
# bush, its bearing in the genitive names nothing.
WEST_SLAVIC_WORDS: dict[str, tuple[str, ...]] = {
    "flange": ("kołnierz", "příruba", "príruba"),
    "spur_gear": ("zębatka", "pastorek"),
    "stepped_shaft": ("wał", "wałek", "hřídel", "hriadeľ"),
    "l_bracket": ("wspornik", "kątownik"),
    "hole_plate": ("płytka",),
    "washer": ("podkładka", "podložka"),
    "bushing": ("tuleja", "tulejka", "pouzdro"),
    "hex_nut": ("nakrętka", "matice"),
    "pulley": ("řemenice", "remenica"),
    "housing": ("obudowa",),
    "hex_bolt": ("śruba", "wkręt", "šroub", "skrutka"),
    "ball_bearing": ("łożysko", "ložisko"),
    "compression_spring": ("sprężyna", "pružina"),
    "dowel_pin": ("kołek", "sworzeń", "kolík"),
}
# Russian, Ukrainian, Bulgarian and Serbian names, read as the Latin ones
# (without accents: "ё" reads as "е"), singular and plural. Their part
# comes first, the words after it in the genitive say whose it is: "Корпус
# подшипника" is a housing, "Вал-шестерня" a shaft. So a Cyrillic name's
# first family word is its part, and genitives ("вала") name none.
CYRILLIC_WORDS: dict[str, tuple[str, ...]] = {
    "flange": ("фланец", "фланцы", "фланець", "прирубница"),
    "spur_gear": (
        "шестерня",
        "шестерни",
        "шестерёнка",
        "шестерёнки",
        "шестірня",
        "зупчаник",
    ),
    "stepped_shaft": ("вал", "валы", "валик", "вратило"),
    "l_bracket": ("кронштейн", "кронштейны", "кронщайн"),
    "hole_plate": ("пластина", "пластины"),
    "washer": ("шайба", "шайбы", "подлошка"),
    "bushing": ("втулка", "втулки", "чаура"),
    "hex_nut": ("гайка", "гайки", "навртка"),
    "pulley": ("шкив", "шкивы", "шків", "ременица"),
    "housing": ("корпус", "кућиште"),
    "hex_bolt": (
        "болт",
        "болты",
        "винт",
        "винты",
        "гвинт",
        "шуруп",
        "саморез",
        "завртањ",
        "вијак",
    ),
    "ball_bearing": ("подшипник", "подшипники", "підшипник", "лежај"),
    "compression_spring": ("пружина", "пружины", "опруга"),
    "dowel_pin": ("штифт", "штифты", "шплинт", "щифт", "чивија"),
}
# Standards by organisation and number (a name says "ISO 4017", "DIN933",
# "ГОСТ 7798-70").
STANDARDS: dict[str, str] = {
    "iso4014": "hex_bolt",
    "iso4017": "hex_bolt",
    "iso4762": "hex_bolt",
    "din931": "hex_bolt",
    "din933": "hex_bolt",
    "din912": "hex_bolt",
    "iso4032": "hex_nut",
    "iso4035": "hex_nut",
    "din934": "hex_nut",
    "din439": "hex_nut",
    "iso7089": "washer",
    "iso7090": "washer",
    "din125": "washer",
    "din9021": "washer",
    "iso2338": "dowel_pin",
    "iso8734": "dowel_pin",
    "din6325": "dowel_pin",
    "din625": "ball_bearing",
    "iso15": "ball_bearing",
    "en1092": "flange",
    "din2573": "flange",
    "din2576": "flange",
    # More screws: button, countersunk, pan and cheese heads, fine threads.
    "iso4016": "hex_bolt",
    "iso4018": "hex_bolt",
    "iso8765": "hex_bolt",
    "iso8676": "hex_bolt",
    "iso7380": "hex_bolt",
    "iso10642": "hex_bolt",
    "iso7045": "hex_bolt",
    "iso7046": "hex_bolt",
    "iso1207": "hex_bolt",
    "iso1580": "hex_bolt",
    "iso2009": "hex_bolt",
    "iso2010": "hex_bolt",
    "din7984": "hex_bolt",
    "din7991": "hex_bolt",
    "din7985": "hex_bolt",
    "din84": "hex_bolt",
    "din85": "hex_bolt",
    "din963": "hex_bolt",
    "din965": "hex_bolt",
    "din960": "hex_bolt",
    "din961": "hex_bolt",
    # Nuts: thin, fine, lock, flange and cap nuts.
    "iso4033": "hex_nut",
    "iso4034": "hex_nut",
    "iso8673": "hex_nut",
    "iso7040": "hex_nut",
    "iso10511": "hex_nut",
    "din985": "hex_nut",
    "din936": "hex_nut",
    "din6923": "hex_nut",
    "din1587": "hex_nut",
    # Flange nuts and bolts (hexagon, prevailing torque, heavy series).
    "en1661": "hex_nut",
    "en1663": "hex_nut",
    "en1664": "hex_nut",
    "iso4161": "hex_nut",
    "iso7043": "hex_nut",
    "iso7044": "hex_nut",
    "din6926": "hex_nut",
    "din6927": "hex_nut",
    "en1662": "hex_bolt",
    "en1665": "hex_bolt",
    "iso4162": "hex_bolt",
    "iso15071": "hex_bolt",
    "iso15072": "hex_bolt",
    "din6921": "hex_bolt",
    # Washers: small, chamfered, large, spring and tooth lock washers.
    "iso7091": "washer",
    "iso7092": "washer",
    "iso7093": "washer",
    "din433": "washer",
    "din127": "washer",
    "din6798": "washer",
    "din7349": "washer",
    # Pins: spring, split, clevis and grooved pins.
    "iso8752": "dowel_pin",
    "iso1234": "dowel_pin",
    "iso2341": "dowel_pin",
    "iso8740": "dowel_pin",
    "din1481": "dowel_pin",
    "din1444": "dowel_pin",
    "din7979": "dowel_pin",
    # Bearings, plain bearing bushes, springs, flanges and pulleys.
    "din628": "ball_bearing",
    "iso4379": "bushing",
    "din1850": "bushing",
    "din2098": "compression_spring",
    "en13906": "compression_spring",
    "din2527": "flange",
    "din2501": "flange",
    "din2633": "flange",
    "din2211": "pulley",
    "iso4183": "pulley",
    # GOST: bolts and screws, nuts, washers, pins, bearings, flanges.
    "гост7798": "hex_bolt",
    "гост7805": "hex_bolt",
    "гост15589": "hex_bolt",
    "гост11738": "hex_bolt",
    "гост17473": "hex_bolt",
    "гост17475": "hex_bolt",
    "гост5915": "hex_nut",
    "гост5927": "hex_nut",
    "гост11371": "washer",
    "гост6402": "washer",
    "гост3128": "dowel_pin",
    "гост397": "dowel_pin",
    "гост8338": "ball_bearing",
    "гост12820": "flange",
    "гост12821": "flange",
    "гост33259": "flange",
}


# Marks that make letters of their own: Russian "й", Ukrainian "ї".
_LETTER_MARKS = {"\u0306": "иИ", "\u0308": "іІ"}


def _fold(text: str) -> str:
    """Lower case without accents ("Gehäuse" reads "gehause", "шестерёнка"
    "шестеренка"), letters in their own right kept ("й")."""
    text = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    kept = "".join(
        c
        for i, c in enumerate(text)
        if not unicodedata.combining(c)
        or (i and text[i - 1] in _LETTER_MARKS.get(c, ""))
    )
    return unicodedata.normalize("NFC", kept).lower()


_WORDS = {
    _fold(word): family
    for listed in (FAMILY_WORDS, WEST_SLAVIC_WORDS, CYRILLIC_WORDS)
    for family, words in listed.items()
    for word in words
}
# German and Dutch compounds end in their head word ("Lagergehäuse",
# "Sechskantschraube", "voetplaat"); English words do not ("template").
COMPOUND_HEADS = (
    "flansch",
    "zahnrad",
    "stirnrad",
    "ritzel",
    "welle",
    "achse",
    "winkel",
    "platte",
    "plaat",
    "scheibe",
    "riemenscheibe",
    "buchse",
    "mutter",
    "gehause",
    "gehaeuse",
    "schraube",
    "schroef",
    "lager",
    "feder",
    "stift",
    "tandwiel",
)
_HEADS = sorted(COMPOUND_HEADS, key=len, reverse=True)
# Since a name can tip a drawing from no part to a part, words in a sense no
# part has name nothing: a family word after one of these words (an elevator
# shaft, a load-bearing wall, a lightning bolt) ...
OTHER_SENSES: dict[str, tuple[str, ...]] = {
    "shaft": (
        "elevator",
        "lift",
        "light",
        "air",
        "ventilation",
        "vent",
        "mine",
        "stair",
        "service",
        "utility",
        "cable",
    ),
    "bearing": ("load", "loadbearing", "north", "compass"),
    "bolt": ("lightning", "door", "barrel"),
    "housing": ("social", "public", "affordable", "student", "senior"),
    "gear": ("landing", "climbing", "fishing"),
    "spring": ("hot", "water", "mineral", "box", "bed"),
    "washer": ("dish", "pressure", "window", "car", "clothes", "laundry", "dryer"),
    "bushing": ("transformer", "wall", "feedthrough"),
    "plate": (
        "name",
        "number",
        "license",
        "licence",
        "hot",
        "door",
        "floor",
        "switch",
        "wall",
        "sill",
        "kick",
    ),
    "pin": ("push", "safety", "bowling", "hair", "map", "location", "rolling"),
    "lager": ("hochregal", "zwischen"),
    # Ramparts, a building of a campus or hospital, propellers, pucks.
    "вал": ("земляной", "крепостной", "оборонительный", "девятый"),
    "корпус": (
        "жилой",
        "учебный",
        "лечебный",
        "больничный",
        "главный",
        "административный",
        "производственный",
        "спальный",
    ),
    "винт": ("гребной", "воздушный", "несущий", "рулевой"),
    "шайба": ("хоккейная",),
}
# ... or before one of these (a washer-dryer in a laundry plan).
OTHER_SENSES_AFTER: dict[str, tuple[str, ...]] = {"washer": ("dryer", "machine")}
# ... and these compounds are not the part their last word names: keys,
# pencils, panes, sockets, slabs, supports.
NOT_PARTS = frozenset(
    {
        "passfeder",
        "scheibenfeder",
        "bleistift",
        "fensterscheibe",
        "glasscheibe",
        "steckbuchse",
        "klinkenbuchse",
        "netzbuchse",
        "usbbuchse",
        "bodenplatte",
        "deckenplatte",
        "auflager",
        "widerlager",
        "hochregallager",
        "zwischenlager",
    }
)
_OTHER_SENSES = {
    _fold(word): tuple(_fold(w) for w in before)
    for word, before in OTHER_SENSES.items()
}
_COMPOUND_MIN = 7
# An organisation's code and number, not inside a word; GOST written either way.
_STANDARD = re.compile(r"(?<![^\W\d_])(iso|din|en|гост|gost)[\s_.-]*(\d{2,5})(?!\d)")


def _standard(org: str, number: str) -> str:
    return f"{'гост' if org == 'gost' else org}{number}"


# Chinese and Japanese names (simplified and traditional characters, kana).
# They run words together, so the longest word at each place is taken:
# "轴承座" is a housing, "轴承" a bearing, "齿轮轴" a gear and then a shaft.
CJK_WORDS: dict[str, str] = {
    **dict.fromkeys(("法兰", "法兰盘", "法蘭", "フランジ"), "flange"),
    **dict.fromkeys(
        ("齿轮", "直齿轮", "圆柱齿轮", "齒輪", "歯車", "ギア", "ギヤ"), "spur_gear"
    ),
    **dict.fromkeys(
        ("轴", "阶梯轴", "传动轴", "主轴", "軸", "シャフト"), "stepped_shaft"
    ),
    **dict.fromkeys(("支架", "托架", "角码", "ブラケット"), "l_bracket"),
    **dict.fromkeys(
        ("底板", "安装板", "孔板", "连接板", "垫板", "盖板", "プレート"), "hole_plate"
    ),
    **dict.fromkeys(
        ("垫圈", "垫片", "平垫圈", "墊圈", "座金", "ワッシャー", "ワッシャ"), "washer"
    ),
    **dict.fromkeys(
        ("轴套", "衬套", "套筒", "軸套", "ブッシュ", "スリーブ"), "bushing"
    ),
    **dict.fromkeys(("螺母", "六角螺母", "螺帽", "ナット"), "hex_nut"),
    **dict.fromkeys(
        ("带轮", "皮带轮", "同步带轮", "滑轮", "皮帶輪", "プーリー", "プーリ"), "pulley"
    ),
    **dict.fromkeys(("壳体", "箱体", "外壳", "轴承座", "ハウジング"), "housing"),
    **dict.fromkeys(
        ("螺栓", "六角螺栓", "螺钉", "螺絲", "ボルト", "ねじ", "ネジ"), "hex_bolt"
    ),
    **dict.fromkeys(
        ("轴承", "深沟球轴承", "滚动轴承", "軸承", "軸受", "ベアリング"), "ball_bearing"
    ),
    **dict.fromkeys(
        ("弹簧", "压缩弹簧", "彈簧", "ばね", "バネ", "スプリング"), "compression_spring"
    ),
    **dict.fromkeys(("圆柱销", "定位销", "销钉", "ピン"), "dowel_pin"),
}
_CJK_LONGEST = max(len(word) for word in CJK_WORDS)
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_CJK_RUN = re.compile(r"([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)")


@dataclass(frozen=True)
class Named:
    family: str
    word: str  # as written in the name, in lower case
    found_in: str  # "title block", "file name" or "product name"

    def as_json(self) -> dict[str, str]:
        return {"family": self.family, "word": self.word, "found_in": self.found_in}


def _tokens(text: str) -> list[tuple[str, str]]:
    """Words of the text, in any alphabet, each folded (``_fold``) and as
    written in lower case: camelCase splits ("BottomPlate"); a word glued to
    the digits before it is a count or a size, not a name ("8pin", "100T")."""
    text = re.sub(r"([a-z])([A-Z])|(\d)([A-Z][a-z])", r"\1\3 \2\4", text)
    written = unicodedata.normalize("NFC", text).lower()
    return [
        (_fold(word), word)
        for digits, word in re.findall(r"(\d*)([^\W\d_]+)", written)
        if not digits
    ]


def _family(token: str) -> str | None:
    if token in NOT_PARTS:
        return None
    if token in _WORDS:
        return _WORDS[token]
    if len(token) >= _COMPOUND_MIN:
        for head in _HEADS:
            if token.endswith(head):
                return _WORDS[head]
    return None


def family_in(text: str) -> tuple[str, str] | None:
    """(family, word) the text names: a standard first, else its last family
    word (of a Cyrillic phrase ending the text, its first); None when it
    names none."""
    standards = [
        (STANDARDS[key], key)
        for org, number in _STANDARD.findall(_fold(text))
        if (key := _standard(org, number)) in STANDARDS
    ]
    if standards:
        return standards[-1]
    found = [hit for run in _runs(text) for hit in run]
    if not found:
        return None
    head = len(found) - 1
    # A Cyrillic phrase puts its part first.
    while (
        head
        and _CYRILLIC.search(found[head][1])
        and _CYRILLIC.search(found[head - 1][1])
    ):
        head -= 1
    return found[head]


def _runs(text: str) -> list[list[tuple[str, str]]]:
    """The family words of each run of the text, in order: runs of Chinese
    or Japanese characters by their longest words, the rest by its words."""
    parts = _CJK_RUN.split(unicodedata.normalize("NFKC", text))
    return [
        _cjk_words(part) if i % 2 else _latin_words(_tokens(part))
        for i, part in enumerate(parts)
    ]


def _latin_words(tokens: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(family, word as written) of each word of ``tokens`` that names one."""
    folded = [token for token, _ in tokens]
    return [
        (family, written)
        for i, (token, written) in enumerate(tokens)
        if (family := _family(token))
        and not (i and folded[i - 1] in _OTHER_SENSES.get(token, ()))
        and not (
            i + 1 < len(tokens) and folded[i + 1] in OTHER_SENSES_AFTER.get(token, ())
        )
    ]


def _cjk_words(run: str) -> list[tuple[str, str]]:
    found, i = [], 0
    while i < len(run):
        for n in range(min(_CJK_LONGEST, len(run) - i), 0, -1):
            if (word := run[i : i + n]) in CJK_WORDS:
                found.append((CJK_WORDS[word], word))
                i += n
                break
        else:
            i += 1
    return found


def file_stem(name: str) -> str:
    """The file name without its folders and extension."""
    base = re.split(r"[\\/]", name)[-1]
    return re.sub(r"\.[A-Za-z0-9]{1,5}$", "", base)


def named_family(*, file_name: str | None, title: str | None) -> Named | None:
    """The family a drawing's title (its title block's part name) or file
    name names; None when neither names one, or when they name different ones
    (the name is then no evidence either way)."""
    found = [
        Named(*hit, source)
        for source, text in (
            ("title block", title),
            ("file name", file_stem(file_name or "")),
        )
        if text and (hit := family_in(text))
    ]
    if len({n.family for n in found}) != 1:
        return None
    return found[0]


def named_product(name: str | None) -> Named | None:
    """The family a 3D part's product name names (``"DIN 125 A 10.5"``)."""
    hit = family_in(name) if name else None
    return Named(*hit, "product name") if hit else None


# A name's words at most: a file name is a few words; a hostile one of
# thousands is no more evidence than its first ones.
MAX_NAME_WORDS = 32
_LONGEST_WORD = 40


_NAME_WORD = re.compile(f"{_STANDARD.pattern}|[^\\W\\d_]{{2,}}")


def drawing_name(file_name: str | None, title: str | None) -> str:
    """A drawing's name as its words are read (``name_words``): its file
    name and, on a line of its own, the part name its title block gives. An
    archive of numbered files ("A-10442.dxf") names its parts in their title
    blocks."""
    file = " ".join((file_name or "").splitlines())
    part = " ".join((title or "").split())
    return f"{file}\n{part}" if part else file


def drawing_words(
    file_name: str | None, title: str | None
) -> tuple[tuple[str, ...], frozenset[str]]:
    """The words of a drawing's name (``drawing_name``), and those of them
    that only its title has."""
    words = name_words(drawing_name(file_name, title))
    return words, frozenset(words) - frozenset(name_words(file_name))


def name_parts(name: str | None) -> tuple[str | None, str | None]:
    """(file name, title) of a ``drawing_name``."""
    file, _, title = (name or "").partition("\n")
    return file or None, title or None


def name_words(name: str | None) -> tuple[str, ...]:
    """The distinct words of a file name, and of the title a ``drawing_name``
    carries, for a tenant's model to learn which of its labels they go with
    (``apps.modelreg.name_words``): folders and extension dropped, camelCase
    split, letters of any alphabet folded to lower case without accents,
    words of two letters or more (digits separate words and are not kept:
    "M6", "part-0042" and "3darrow1" say nothing by their numbers, but a
    standard's do: "DIN 933" is ``din933``), each run of Chinese or Japanese
    characters one word."""
    file, title = name_parts(name)
    stem = f"{file_stem(file or '')} {title or ''}"[:1000]
    spaced = re.sub(r"([a-z])([A-Z])|([A-Z])([A-Z][a-z])", r"\1\3 \2\4", stem)
    found: list[str] = []
    for i, part in enumerate(_CJK_RUN.split(unicodedata.normalize("NFKC", spaced))):
        found += (
            [part]
            if i % 2
            else [
                _standard(m[1], m[2]) if m[1] else m[0]
                for m in _NAME_WORD.finditer(_fold(part))
            ]
        )
    return tuple(dict.fromkeys(w[:_LONGEST_WORD] for w in found))[:MAX_NAME_WORDS]
