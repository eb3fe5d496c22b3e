"""Dimensions: DIMENSION entities' measured values and tokens parsed from text."""

from __future__ import annotations

import math
import re
from typing import Any

from apps.cad.text import TextItem
from apps.cad.walk import Visit

_DIM_KINDS = {
    0: "linear",
    1: "aligned",
    2: "angular",
    3: "diameter",
    4: "radius",
    5: "angular_3p",
    6: "ordinate",
}
_NUM = r"\d+(?:[.,]\d+)?"
_TOKENS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("thread", re.compile(rf"\bM(?P<value>{_NUM})(?:\s*[x×X]\s*(?P<pitch>{_NUM}))?\b")),
    ("diameter", re.compile(rf"(?:⌀|Ø|ø|%%[cC]|\u2205)\s*(?P<value>{_NUM})")),
    ("radius", re.compile(rf"(?<![A-Za-z])R\s?(?P<value>{_NUM})\b")),
    (
        "tolerance",
        re.compile(rf"(?:±|\+/-|%%[pP])\s*(?P<value>{_NUM})"),
    ),
    (
        "tolerance",
        re.compile(rf"\+\s*(?P<upper>{_NUM})\s*/?\s*-\s*(?P<lower>{_NUM})"),
    ),
    (
        "fit",
        re.compile(
            r"\b(?P<hole>[A-Z]{1,2}\d{1,2})\s*/\s*(?P<shaft>[a-z]{1,2}\d{1,2})\b"
        ),
    ),
    (
        "fit",
        re.compile(
            # A fit right after a size: "20H7", "%%c12 g6". Letters I, L, O, Q,
            # W are not ISO fit letters; R/r and x are left out because "R5"
            # is a radius and "M8x1" a thread far more often than a fit.
            r"(?<=\d)\s?(?P<value>(?:JS|js|Z[ABC]|z[abc]|[A-HJKMNPS-VYZ]|[a-hjkmnps-vyz])"
            r"(?:1[0-8]|[1-9]))\b(?![.,]\d)"
        ),
    ),
    ("roughness", re.compile(rf"\bR[az]\s*(?P<value>{_NUM})")),
)
_GDT = {
    "⌖": "position",
    "⏥": "flatness",
    "⌭": "cylindricity",
    "⟂": "perpendicularity",
    "⊥": "perpendicularity",
    "∥": "parallelism",
    "⌯": "symmetry",
    "◎": "concentricity",
    "⌓": "profile_of_surface",
    "⌒": "profile_of_line",
    "↗": "circular_runout",
    "⌰": "total_runout",
    "∠": "angularity",
    "○": "circularity",
}
MAX_TOKENS = 5_000


def _num(s: str) -> float:
    return float(s.replace(",", "."))


def parse_tokens(text: str, handle: str | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for kind, pattern in _TOKENS:
        for m in pattern.finditer(text):
            token: dict[str, Any] = {
                "kind": kind,
                "text": m.group(0).strip(),
                "handle": handle,
            }
            g = m.groupdict()
            if g.get("value") and kind != "fit":
                token["value"] = _num(g["value"])
            if kind == "thread" and g.get("pitch"):
                token["pitch"] = _num(g["pitch"])
            if kind == "tolerance" and g.get("upper"):
                token["upper"] = _num(g["upper"])
                token["lower"] = -_num(g["lower"])
            elif kind == "tolerance":
                token["upper"], token["lower"] = token["value"], -token["value"]
            if kind == "fit":
                if g.get("hole"):
                    token["hole"], token["shaft"] = g["hole"], g["shaft"]
                else:
                    token["value"] = g["value"]
            out.append(token)
    for symbol, name in _GDT.items():
        if symbol in text:
            out.append(
                {
                    "kind": "gdt",
                    "text": symbol,
                    "symbol": symbol,
                    "characteristic": name,
                    "handle": handle,
                }
            )
    return out


def dimension_of(visit: Visit) -> dict[str, Any] | None:
    e = visit.entity
    if e.dxftype() != "DIMENSION":
        return None
    try:
        kind = _DIM_KINDS.get(e.dimtype & 0x0F, "unknown")
        measured: Any = e.get_measurement()
        if hasattr(measured, "x"):  # ordinate dimensions measure a vector
            measured = float(measured.x)
        # ezdxf measures angular dimensions in degrees already.
        measured = float(measured)
    except Exception:  # noqa: BLE001 - incomplete definition points: report what we can
        kind, measured = _DIM_KINDS.get(e.dxf.get("dimtype", 0) & 0x0F, "unknown"), None
    if measured is not None and not math.isfinite(measured):
        measured = None
    override = e.dxf.get("text", "")
    return {
        "handle": e.dxf.get("handle") or visit.owner,
        "kind": kind,
        "measurement": round(measured, 6) if measured is not None else None,
        "text_override": override if override not in ("", "<>") else None,
        "block": visit.block,
    }


def tokens_from_texts(items: list[TextItem]) -> list[dict[str, Any]]:
    tokens: list[dict[str, Any]] = []
    for it in items:
        tokens.extend(parse_tokens(it.text, it.handle))
        if len(tokens) >= MAX_TOKENS:
            return tokens[:MAX_TOKENS]
    return tokens
