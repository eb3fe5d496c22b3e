"""Title block fields from ATTRIB tags and label/value pairs placed side by side.

Confidence is a plain ranking of the evidence, not a probability: an attribute
tag named for the field beats a value written inside its label's text, which
beats a value right of its label, which beats one below it.
"""

from __future__ import annotations

import re
from typing import Any

from apps.cad.text import TextItem

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

# Label words per field; Chinese labels are matched without word boundaries.
_LABELS: dict[str, tuple[str, ...]] = {
    "drawing_number": (
        r"DWG\.?\s*NO\.?",
        r"DRAWING\s*(?:NO\.?|NUMBER|NR\.?)",
        r"DRG\.?\s*NO\.?",
        r"PART\s*(?:NO\.?|NUMBER)",
        "图号",
        "图样代号",
        "零件号",
    ),
    "part_name": (
        r"PART\s*NAME",
        r"TITLE",
        r"NAME",
        r"DESCRIPTION",
        "名称",
        "零件名称",
        "图名",
    ),
    "material": (r"MATERIAL", r"MATL\.?", r"MAT\.?", "材料", "材质"),
    "scale": (r"SCALE", "比例"),
    "revision": (r"REV(?:ISION)?\.?", "版本", "版次", "修订"),
    "date": (r"DATE", "日期"),
    "drawn_by": (
        r"DRAWN(?:\s*BY)?",
        r"DESIGNED(?:\s*BY)?",
        r"AUTHOR",
        r"DRN\.?",
        "设计",
        "制图",
        "绘图",
    ),
    "sheet": (r"SHEET", "张", "页"),
    "weight": (r"WEIGHT", r"MASS", r"WT\.?", "重量", "质量"),
    "company": (r"COMPANY", r"CLIENT", r"MANUFACTURER", "单位", "公司"),
}

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
    ),
    "part_name": ("PART_NAME", "PARTNAME", "TITLE", "NAME", "DESCRIPTION"),
    "material": ("MATERIAL", "MAT", "MATL"),
    "scale": ("SCALE",),
    "revision": ("REV", "REVISION"),
    "date": ("DATE",),
    "drawn_by": ("DRAWN", "DRAWN_BY", "DRAWNBY", "AUTHOR", "DESIGNER"),
    "sheet": ("SHEET", "SHEETS"),
    "weight": ("WEIGHT", "MASS"),
    "company": ("COMPANY", "CLIENT"),
}


def _compile(words: tuple[str, ...]) -> re.Pattern[str]:
    parts = [w if w.isascii() else re.escape(w) for w in words]
    # A label is the whole text, or the text's start followed by ':' and a value.
    return re.compile(
        r"^\s*(?:" + "|".join(parts) + r")\s*(?:[:：]\s*(?P<value>.*\S))?\s*[:：]?\s*$",
        re.IGNORECASE,
    )


_PATTERNS = {f: _compile(words) for f, words in _LABELS.items()}


def _match_label(text: str) -> tuple[str, str | None] | None:
    for f in FIELDS:
        m = _PATTERNS[f].match(text)
        if m:
            return f, m.group("value")
    return None


def _is_label(text: str) -> bool:
    return _match_label(text) is not None


def extract(items: list[TextItem]) -> dict[str, Any]:
    found: dict[str, dict[str, Any]] = {}

    def offer(
        field: str, value: str, conf: float, handle: str | None, label: str
    ) -> None:
        value = value.strip()
        if not value:
            return
        current = found.get(field)
        if current is None or conf > current["confidence"]:
            found[field] = {
                "value": value,
                "confidence": conf,
                "evidence": {"handle": handle, "label": label},
            }

    for it in items:
        if it.kind in ("ATTRIB", "ATTDEF") and it.tag:
            tag = it.tag.upper().replace(" ", "_").replace("-", "_").rstrip(".")
            for f, names in _TAG_NAMES.items():
                if tag in names:
                    offer(
                        f,
                        it.text,
                        0.95 if it.kind == "ATTRIB" else 0.5,
                        it.handle,
                        it.tag,
                    )

    # Label/value by position. Only short texts can be labels or values.
    short = [it for it in items if len(it.text) <= 80 and it.kind != "DIMENSION"]
    for it in short:
        hit = _match_label(it.text)
        if hit is None:
            continue
        field, inline = hit
        if inline:
            offer(field, inline, 0.9, it.handle, it.text)
            continue
        h = it.height if it.height > 0 else 2.5
        best: tuple[float, TextItem, float] | None = None
        for other in short:
            if other is it or _is_label(other.text):
                continue
            dx, dy = other.x - it.x, other.y - it.y
            # Right of the label on about the same baseline.
            if 0 < dx < 40 * h and abs(dy) < 1.0 * h:
                score, conf = dx, 0.8
            # Below the label in about the same column.
            elif 0 < -dy < 4 * h and abs(dx) < 10 * h:
                score, conf = 40 * h + abs(dx) - dy, 0.6
            else:
                continue
            if best is None or score < best[0]:
                best = (score, other, conf)
        if best is not None:
            offer(field, best[1].text, best[2], best[1].handle, it.text)

    return {f: found.get(f) for f in FIELDS}
