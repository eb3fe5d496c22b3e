"""Dimensions: DIMENSION entities' measured values and tokens parsed from text."""

import math
import re
from typing import Any

from ezdxf.entities import Dimension

from apps.cad.extract import gdt, roughness, threads, tolerances
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
MAX_NOTE_CHARS = 500  # longer texts are prose, not callouts
MAX_FOUND = 2_000  # per kind of annotation


def _num(s: str) -> float:
    return float(s.replace(",", "."))


def parse_tokens(text: str, handle: str | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    text = tolerances.latin_lookalikes(text)
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
    if e.dxftype() != "DIMENSION" or not isinstance(e, Dimension):
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
    out: dict[str, Any] = {
        "handle": e.dxf.get("handle") or visit.owner,
        "kind": kind,
        "measurement": round(measured, 6) if measured is not None else None,
        "text_override": override if override not in ("", "<>") else None,
        "block": visit.block,
    }
    out.update(_entity_tolerance(e, out["measurement"], out["text_override"]))
    return out


def _entity_tolerance(
    e: Any, measured: float | None, override: str | None
) -> dict[str, Any]:
    """Tolerance fields of a DIMENSION: from its text override first (what the
    reader sees printed), else from its style's DIMTOL/DIMLIM."""
    fields: dict[str, Any] = {}
    if override and len(override) <= MAX_NOTE_CHARS:
        override = tolerances.latin_lookalikes(override)
        # A symbol printed for the size ("d1"): its digits are no size.
        deviations = tolerances.symbol_deviations(override)
        if deviations is not None:
            fields["upper"], fields["lower"] = deviations
            fields["tolerance_source"] = "text"
            return fields
        size = tolerances.parse_size(override, nominal=measured)
        if size is not None:
            for key in ("upper", "lower", "tolerance_class", "fit", "count"):
                if key in size:
                    fields[key] = size[key]
            if size["kind"] == "limits":
                fields["limits"] = [size["upper_limit"], size["lower_limit"]]
            if fields:
                fields["tolerance_source"] = "text"
                return fields
    style = tolerances.dimension_tolerance(e)
    if style is not None:
        fields["upper"], fields["lower"] = style["upper"], style["lower"]
        if style.get("limits") and measured is not None:
            fields["limits"] = [
                round(measured + style["upper"], 6),
                round(measured + style["lower"], 6),
            ]
        fields["tolerance_source"] = "dimstyle"
    return fields


def tokens_from_texts(items: list[TextItem]) -> list[dict[str, Any]]:
    tokens: list[dict[str, Any]] = []
    for it in items:
        tokens.extend(parse_tokens(it.text, it.handle))
        if len(tokens) >= MAX_TOKENS:
            return tokens[:MAX_TOKENS]
    return tokens


def annotations(
    items: list[TextItem],
    tolerance_frames: list[tuple[str, str | None]],
    title_tolerance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Sizes with tolerances, threads, GD&T, surface finish and the general
    tolerance found in the drawing's text and TOLERANCE entities;
    ``title_tolerance`` is the title block's general-tolerance field, used when
    no note names one."""
    sizes: list[dict[str, Any]] = []
    found_threads: list[dict[str, Any]] = []
    frames: list[dict[str, Any]] = []
    finish: list[dict[str, Any]] = []
    general: dict[str, Any] | None = None
    for content, handle in tolerance_frames[:MAX_FOUND]:
        for frame in gdt.from_tolerance_entity(content[:MAX_NOTE_CHARS]):
            frame["handle"] = handle
            frames.append(frame)
    for it in items:
        if len(it.text) > MAX_NOTE_CHARS:
            continue
        text = tolerances.latin_lookalikes(it.text)
        h = it.handle
        if general is None:
            g = tolerances.parse_general(text)
            if g is not None:
                general = {**g, "handle": h}
        in_symbol = bool(
            (it.block and roughness.SYMBOL_BLOCK.search(it.block))
            or (it.tag and roughness.SYMBOL_BLOCK.search(it.tag))
        )
        if len(finish) < MAX_FOUND:
            finish.extend(
                {**r, "handle": h} for r in roughness.parse(text, in_symbol=in_symbol)
            )
        if len(found_threads) < MAX_FOUND:
            found_threads.extend({**t, "handle": h} for t in threads.parse(text))
        if len(frames) < MAX_FOUND:
            frames.extend({**f, "handle": h} for f in gdt.from_text(text))
            if gdt.is_datum_symbol(text, it.block, it.tag):
                frames.append({"kind": "datum", "label": text.strip(), "handle": h})
        if it.kind != "DIMENSION" and len(sizes) < MAX_FOUND:
            for size in (
                tolerances.parse_hole(text),
                tolerances.parse_size(text),
                tolerances.parse_chamfer(text),
            ):
                if size is not None:
                    sizes.append({**size, "handle": h})
                    break
    if general is None and title_tolerance is not None:
        value = title_tolerance["value"]
        general = {
            **(tolerances.parse_general(value) or {"text": value}),
            "handle": title_tolerance["evidence"]["handle"],
        }
    return {
        "toleranced": sizes[:MAX_FOUND],
        "threads": found_threads[:MAX_FOUND],
        "gdt": frames[:MAX_FOUND],
        "surface_finish": finish[:MAX_FOUND],
        "general_tolerance": general,
    }
