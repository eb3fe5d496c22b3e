"""Sizes with their tolerances, read from dimension text and drawing notes.

"Ø20 H7/g6", "4x Ø8.5", "25 ±0.1", "40 +0.2/-0.1", "12.021/12.000",
"2x45°", and the general tolerance note "ISO 2768-mK". Deviations of ISO 286
classes come from ``iso286``; deviations are in the drawing's units (mm for
ISO fits).
"""

from __future__ import annotations

import math
import re
from typing import Any

from apps.cad.extract import iso286

# Bounded digit runs: a 400-digit "size" would be an infinite float, and JSON
# columns take no infinities.
_N = r"\d{1,9}(?:[.,]\d{1,9})?|[.,]\d{1,9}"
_SN = rf"[+\-−]?\s*(?:{_N})"
# ISO 286 fundamental deviation letters (no I, L, O, Q, W).
_CLASS = (
    r"(?:JS|CD|EF|FG|ZA|ZB|ZC|[A-HJKMNPR-VXYZ]"
    r"|js|cd|ef|fg|za|zb|zc|[a-hjkmnpr-vxyz])(?:1[0-8]|[1-9])"
)

SIZE = re.compile(
    rf"(?:(?P<count>\d{{1,3}})\s*[xX×]\s*)?"
    rf"(?P<sym>%%[cC]|[Ø⌀ø∅]|SR|S[Ø⌀]|R|□)?\s*"
    # "34*": a reference size, as ESKD marks them.
    rf"(?P<nom>{_N})(?![\d.,]*\s*[xX×]\s*\d)\*?"
    rf"(?:[ \t]*(?P<hole>{_CLASS})[ \t]*/[ \t]*(?P<shaft>{_CLASS})(?![\w.])"
    rf"|[ \t]*(?P<cls>{_CLASS})(?![\w.]))?"
    rf"(?:\s*\(?\s*(?:(?P<pm>±|%%[pP]|\+/-|\+-)\s*(?P<sym_dev>{_N})"
    rf"|(?P<up>{_SN})\s*[/^#\s]\s*(?P<lo>{_SN}))\s*\)?)?"
)
LIMITS = re.compile(rf"^\s*(?P<a>{_N})\s*[/^#\n]\s*(?P<b>{_N})\s*$")
CHAMFER = re.compile(
    rf"(?:(?P<count>\d{{1,3}})\s*[xX×]\s*)?(?:(?P<size>{_N})\s*[xX×]\s*(?P<angle>{_N})\s*(?:°|%%[dD])"
    rf"|\bC\s?(?P<c>{_N})\b)"
)
GENERAL = re.compile(
    r"(?P<std>(?:DIN\s+)?(?:EN\s+)?ISO\s*2768(?:-[12])?|DIN\s*7168|GB/?T\s*1804|JIS\s*B\s*0405)"
    r"\s*[-–:]?\s*(?P<cls>[fmcv])\s*(?P<geo>[HKL])?\b",
    re.IGNORECASE,
)
# Unspecified tolerances as ESKD drawings give them: holes H14, shafts h14 (of
# one grade), the rest ±IT14/2.
GOST_GENERAL = re.compile(
    r"(?<!\w)H(?P<grade>1[0-8]|[5-9])\s*[,;.]\s*h(?P=grade)(?!\d)"
    r"(?:\s*[,;.]?\s*(?:±|\+-|%%[pP])\s*(?:IT(?P=grade)|t)\s*/\s*2)?"
)
# MTEXT stacking "\S+0.1^-0.2;" and what ezdxf's plain text leaves of it.
_STACK = re.compile(r"\\S([^;^#/]*)[\^#/]([^;]*);")
_MTEXT_CODE = re.compile(r"\\[A-Za-z][^;\\]*;|[{}]")
_DEVIATION = re.compile(rf"[+\-−]\s*(?:{_N})")
# A dimension whose text is a symbol and its deviations ("d1" over "+0,1"):
# its size is in a table, its deviations are on it.
_SYMBOL_DEVIATIONS = re.compile(
    rf"^\s*[^\W\d_][\w*]{{0,7}}\s+(?P<up>{_SN})\s*/\s*(?P<lo>{_SN})\s*$"
)


# Cyrillic letters drawn like Latin ones: a Russian keyboard types "М8-6Н" and
# "Ø20Н7" as readily as "M8-6H".
_LOOKALIKES = str.maketrans("АВСЕНКМОРТХаеорсух", "ABCEHKMOPTXaeopcyx")
_WITH_DIGITS = re.compile(r"\S*\d\S*")


def latin_lookalikes(text: str) -> str:
    """``text`` with the Cyrillic look-alikes of Latin letters made Latin in
    every word that holds a digit (sizes, fits, threads: "М10х1,25-6g"),
    words ("отв.") left as written."""
    if text.isascii():
        return text
    return _WITH_DIGITS.sub(lambda m: m.group(0).translate(_LOOKALIKES), text)


def _num(s: str) -> float:
    s = s.replace(" ", "").replace(",", ".").replace("−", "-")
    return float(s)


def _stacked(m: re.Match[str]) -> str:
    """A stack spelled out; a deviation over (or under) nothing is over (or
    under) zero, as ESKD drawings write them: "+0,021" over a blank."""
    up, lo = m.group(1).strip(), m.group(2).strip()
    if bool(up) != bool(lo) and _DEVIATION.fullmatch(up or lo):
        up, lo = up or "0", lo or "0"
    return f" {up}/{lo} "


def clean(text: str) -> str:
    """Dimension text with stacked fractions spelled out and format codes gone."""
    text = _STACK.sub(_stacked, text)
    text = _MTEXT_CODE.sub("", text).replace("\\P", "\n")
    return (
        text.replace("%%c", "Ø")
        .replace("%%C", "Ø")
        .replace("%%p", "±")
        .replace("%%P", "±")
    )


def _signed(s: str) -> bool:
    return s.strip()[:1] in "+-−" or _num(s) == 0


def parse_size(text: str, *, nominal: float | None = None) -> dict[str, Any] | None:
    """The first toleranced size in ``text``; ``nominal`` replaces a ``<>``."""
    t = clean(text)
    if nominal is not None:
        t = t.replace("<>", _fmt(nominal))
    limits = LIMITS.match(t)
    if limits:
        a, b = _num(limits.group("a")), _num(limits.group("b"))
        hi, lo = max(a, b), min(a, b)
        if hi > 0 and (hi - lo) / hi < 0.05 and hi != lo:
            return {
                "kind": "limits",
                "text": t.strip(),
                "upper_limit": hi,
                "lower_limit": lo,
                "nominal": None,
            }
    for m in SIZE.finditer(t):
        g = m.groupdict()
        if not (g["cls"] or g["hole"] or g["pm"] or g["up"]):
            continue
        if g["up"] and not (_signed(g["up"]) and _signed(g["lo"])):
            continue
        return _size_result(m, g)
    return None


def symbol_deviations(text: str) -> tuple[float, float] | None:
    """(upper, lower) of a dimension printed as a symbol with its deviations
    ("d1" with "+0,1" stacked over a blank), None for any other text."""
    m = _SYMBOL_DEVIATIONS.match(clean(text))
    if m is None or not (_signed(m["up"]) and _signed(m["lo"])):
        return None
    up, lo = _num(m["up"]), _num(m["lo"])
    if not (math.isfinite(up) and math.isfinite(lo)) or up < lo:
        return None
    return up, lo


def _size_result(m: re.Match[str], g: dict[str, Any]) -> dict[str, Any]:
    nom = _num(g["nom"])
    sym = g["sym"] or ""
    out: dict[str, Any] = {
        "kind": "diameter"
        if sym and sym[-1] in "Øø⌀∅cC"
        else "radius"
        if sym.endswith("R")
        else "linear",
        "text": m.group(0).strip(),
        "nominal": nom,
    }
    if g["count"]:
        out["count"] = int(g["count"])
    if g["pm"]:
        d = _num(g["sym_dev"])
        out["upper"], out["lower"] = d, -d
    elif g["up"]:
        up, lo = _num(g["up"]), _num(g["lo"])
        out["upper"], out["lower"] = max(up, lo), min(up, lo)
    cls = g["cls"]
    if g["hole"]:
        hole, shaft = g["hole"], g["shaft"]
        out["fit"] = {
            "hole": hole,
            "shaft": shaft,
            "hole_deviations": _devs(hole, nom),
            "shaft_deviations": _devs(shaft, nom),
        }
        hd, sd = iso286.deviations(hole, nom), iso286.deviations(shaft, nom)
        if hd and sd:
            # Clearance is the hole's size minus the shaft's: min and max.
            out["fit"]["clearance"] = [
                round(hd[1] - sd[0], 4) + 0.0,
                round(hd[0] - sd[1], 4) + 0.0,
            ]
    elif cls:
        out["tolerance_class"] = cls
        devs = iso286.deviations(cls, nom)
        if devs is not None and "upper" not in out:
            out["upper"], out["lower"] = devs
    return out


def _devs(cls: str, nom: float) -> list[float] | None:
    d = iso286.deviations(cls, nom)
    return list(d) if d else None


def _fmt(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def parse_chamfer(text: str) -> dict[str, Any] | None:
    m = CHAMFER.search(clean(text))
    if m is None:
        return None
    out: dict[str, Any] = {"kind": "chamfer", "text": m.group(0).strip()}
    if m.group("c"):
        out["size"], out["angle"] = _num(m.group("c")), 45.0
    else:
        out["size"], out["angle"] = _num(m.group("size")), _num(m.group("angle"))
    if m.group("count"):
        out["count"] = int(m.group("count"))
    return out


_D = r"(?:%%[cC]|[Ø⌀ø∅])\s*(?P<dia>" + _N + ")"
HOLE = re.compile(
    r"(?P<kind>⌴|⌵|C'?BORE|CBORE|SPOTFACE|SF|CSK|C'?SINK|CSINK)\s*"
    + _D
    + r"(?:\s*(?:[xX×]\s*(?P<angle>"
    + _N
    + r")\s*(?:°|%%[dD])"
    r"|(?:↧|DP|DEEP|DEPTH|TIEF|T)\s*(?P<depth>" + _N + r")))?",
    re.IGNORECASE,
)


def parse_hole(text: str) -> dict[str, Any] | None:
    """A counterbore or countersink callout: "⌴ Ø11 ↧ 6.4", "CSK Ø10 x 90°"."""
    m = HOLE.search(clean(text))
    if m is None:
        return None
    sink = (
        m.group("kind") in ("⌵",)
        or "SINK" in m.group("kind").upper()
        or (m.group("kind").upper() == "CSK")
    )
    out: dict[str, Any] = {
        "kind": "countersink" if sink else "counterbore",
        "text": m.group(0).strip(),
        "diameter": _num(m.group("dia")),
    }
    if m.group("angle"):
        out["angle"] = _num(m.group("angle"))
    if m.group("depth"):
        out["depth"] = _num(m.group("depth"))
    return out


def parse_general(text: str) -> dict[str, Any] | None:
    """A general tolerance note: "ISO 2768-mK", "DIN 7168-m", or GOST 25670's
    grade for holes and shafts, "H14, h14, ±IT14/2" (class ``H14/h14``)."""
    m = GENERAL.search(text)
    if m is None:
        grade = GOST_GENERAL.search(text)
        if grade is None:
            return None
        g = grade.group("grade")
        return {
            "standard": "GOST 25670",
            "class": f"H{g}/h{g}",
            "text": grade.group(0).strip(" ,;."),
        }
    std = re.sub(r"\s+", " ", m.group("std").upper()).replace("ISO2768", "ISO 2768")
    out: dict[str, Any] = {
        "standard": std.replace("DIN7168", "DIN 7168"),
        "class": m.group("cls").lower(),
        "text": m.group(0).strip(),
    }
    if m.group("geo"):
        out["geometrical_class"] = m.group("geo").upper()
    return out


def dimension_tolerance(entity: Any) -> dict[str, Any] | None:
    """Tolerance of a DIMENSION from its style (DIMTOL/DIMLIM with DIMTP/DIMTM,
    overrides included)."""
    try:
        style = entity.override()
        tol = bool(style.get("dimtol", 0))
        lim = bool(style.get("dimlim", 0))
        if not (tol or lim):
            return None
        tp = float(style.get("dimtp", 0.0) or 0.0)
        tm = float(style.get("dimtm", 0.0) or 0.0)
        if not (math.isfinite(tp) and math.isfinite(tm)):
            return None
    except Exception:  # noqa: BLE001 - a broken style must not lose the dimension
        return None
    out: dict[str, Any] = {"upper": tp + 0.0, "lower": -tm + 0.0, "source": "dimstyle"}
    if lim:
        out["limits"] = True
    return out
