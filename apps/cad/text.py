"""All the text in a drawing, with where it sits and which entity holds it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ezdxf.entities import Insert, MText, Text
from ezdxf.lldxf.encoding import decode_dxf_unicode, has_dxf_unicode
from ezdxf.math import Vec3

from apps.cad.walk import Visit

MAX_TEXT_ITEMS = 20_000
MAX_TEXT_CHARS = 2_000


@dataclass(slots=True)
class TextItem:
    text: str
    kind: str
    handle: str | None
    layer: str
    x: float
    y: float
    height: float
    tag: str | None = None
    block: str | None = None
    # Roughly the middle of the text's box, whatever its alignment: the point
    # that tells which title-block cell the text sits in. None: use (x, y).
    cx: float | None = None
    cy: float | None = None

    def as_dict(self) -> dict[str, Any]:
        d = {
            "text": self.text,
            "type": self.kind,
            "handle": self.handle,
            "layer": self.layer,
            "x": round(self.x, 4),
            "y": round(self.y, 4),
            "height": round(self.height, 4),
        }
        if self.tag:
            d["tag"] = self.tag
        if self.block:
            d["block"] = self.block
        return d


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _place(e: Any, point: Vec3, height: float, m: Any) -> tuple[float, float, float]:
    if m is not None:
        point = m.transform(point)
        height *= m.transform_direction(Vec3(0, 1, 0)).magnitude
    x, y = float(point.x), float(point.y)
    if not (abs(x) < 1e15 and abs(y) < 1e15):  # also false for NaN
        x = y = 0.0
    return x, y, float(height) if height == height else 0.0


def _item(
    visit: Visit, e: Any, text: str, kind: str, tag: str | None = None
) -> TextItem | None:
    if has_dxf_unicode(text):
        # Pre-R2007 files store non-cp1252 characters as \U+XXXX escapes.
        text = decode_dxf_unicode(text)
    # Control characters are never drawing text, and NUL cannot be stored in a
    # PostgreSQL JSON column at all.
    text = _CONTROL.sub("", text).strip()
    if not text:
        return None
    point = e.dxf.get("insert", Vec3()) if e.dxf.is_supported("insert") else Vec3()
    attr = "char_height" if e.dxf.is_supported("char_height") else "height"
    height = e.dxf.get(attr, 1.0) if e.dxf.is_supported(attr) else 1.0
    x, y, h = _place(e, point, float(height or 0), visit.matrix)
    cx, cy, _ = _place(e, _middle(e, text, point, float(height or 0)), 0, visit.matrix)
    handle = e.dxf.get("handle") or visit.owner
    return TextItem(
        text=text[:MAX_TEXT_CHARS],
        kind=kind,
        handle=handle,
        layer=e.dxf.get("layer", "0"),
        x=x,
        y=y,
        height=h,
        tag=tag,
        block=visit.block,
        cx=cx,
        cy=cy,
    )


# Share of the height one character takes in width, on average (a guess that
# only has to land the middle inside the text's own cell).
CHAR_W = 0.6
# MTEXT attachment point -> (horizontal, vertical) offsets in (width, height).
_ATTACH = {
    1: (0.5, -0.5), 2: (0.0, -0.5), 3: (-0.5, -0.5),
    4: (0.5, 0.0), 5: (0.0, 0.0), 6: (-0.5, 0.0),
    7: (0.5, 0.5), 8: (0.0, 0.5), 9: (-0.5, 0.5),
}  # fmt: skip


def _middle(e: Any, text: str, insert: Vec3, height: float) -> Vec3:
    """The middle of the text's box in the entity's own coordinates."""
    first = text.split("\n", 1)[0]
    width = min(len(first), 60) * height * CHAR_W
    if e.dxftype() == "MTEXT":
        lines = text.count("\n") + 1
        fx, fy = _ATTACH.get(int(e.dxf.get("attachment_point", 1) or 1), (0.5, -0.5))
        return insert + Vec3(fx * width, fy * height * lines * 1.6, 0)
    halign = int(e.dxf.get("halign", 0) or 0) if e.dxf.is_supported("halign") else 0
    valign = int(e.dxf.get("valign", 0) or 0) if e.dxf.is_supported("valign") else 0
    point = insert
    if (halign or valign) and e.dxf.hasattr("align_point"):
        point = e.dxf.align_point
    dx = {0: 0.5, 1: 0.0, 2: -0.5, 4: 0.0}.get(halign, 0.0) * width
    if halign in (3, 5) and e.dxf.hasattr("align_point"):
        # Aligned and fit text run from insert to align_point.
        return (Vec3(insert) + Vec3(e.dxf.align_point)) / 2 + Vec3(0, height / 2, 0)
    dy = {0: 0.5, 1: 0.5, 2: 0.0, 3: -0.5}.get(valign, 0.5) * height
    return Vec3(point) + Vec3(dx, dy, 0)


def texts_of(visit: Visit) -> Iterator[TextItem]:
    """Text items carried by one visited entity (may be several for an INSERT)."""
    e = visit.entity
    t = e.dxftype()
    try:
        if t == "TEXT" and isinstance(e, Text):
            item = _item(visit, e, e.plain_text(), "TEXT")
        elif t == "ATTDEF":
            item = _item(visit, e, e.dxf.get("text", ""), "ATTDEF", e.dxf.get("tag"))
        elif t == "MTEXT" and isinstance(e, MText):
            item = _item(visit, e, str(e.plain_text(split=False)), "MTEXT")
        elif t == "DIMENSION":
            override = e.dxf.get("text", "")
            item = None
            if override and override not in ("<>", " "):
                item = _item(
                    visit,
                    e,
                    override.replace("<>", "").strip() or override,
                    "DIMENSION",
                )
                if item is not None:
                    item.x, item.y, _ = _place(
                        e, e.dxf.get("text_midpoint", Vec3()), 0, visit.matrix
                    )
        elif t == "INSERT" and isinstance(e, Insert):
            for attrib in e.attribs:
                a = _item(
                    visit,
                    attrib,
                    attrib.dxf.get("text", ""),
                    "ATTRIB",
                    attrib.dxf.get("tag"),
                )
                if a is not None:
                    yield a
            return
        else:
            return
    except (ValueError, TypeError, AttributeError, ArithmeticError, IndexError):
        return
    if item is not None:
        yield item
