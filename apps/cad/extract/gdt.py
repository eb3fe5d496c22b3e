"""GD&T: feature control frames from TOLERANCE entities (GDT-font codes) and
from text written with the Unicode symbols, and datum feature symbols."""

from __future__ import annotations

import re
from typing import Any

# Characters of AutoCAD's GDT font and what they stand for.
GDT_FONT = {
    "a": "angularity",
    "b": "perpendicularity",
    "c": "flatness",
    "d": "profile_of_surface",
    "e": "circularity",
    "f": "parallelism",
    "g": "cylindricity",
    "h": "circular_runout",
    "i": "symmetry",
    "j": "position",
    "k": "profile_of_line",
    "r": "concentricity",
    "t": "total_runout",
    "u": "straightness",
}
MODIFIERS = {"m": "MMC", "l": "LMC", "s": "RFS", "p": "projected", "t": "tangent_plane"}
UNICODE = {
    "⌖": "position",
    "⏥": "flatness",
    "▱": "flatness",
    "⌭": "cylindricity",
    "⟂": "perpendicularity",
    "⊥": "perpendicularity",
    "∥": "parallelism",
    "//": "parallelism",
    "⌯": "symmetry",
    "◎": "concentricity",
    "⌓": "profile_of_surface",
    "⌒": "profile_of_line",
    "↗": "circular_runout",
    "⌰": "total_runout",
    "∠": "angularity",
    "○": "circularity",
    "⏤": "straightness",
}
_UNI_MOD = {"Ⓜ": "MMC", "Ⓛ": "LMC", "Ⓢ": "RFS", "Ⓟ": "projected", "Ⓣ": "tangent_plane",
            "Ⓕ": "free_state"}  # fmt: skip
_GDT_RUN = re.compile(r"\{?\\Fgdt;(?P<chars>[^}]*)\}?")
_NUM = re.compile(r"\d{1,9}(?:[.,]\d{1,9})?|[.,]\d{1,9}")
_DATUM = re.compile(r"^[A-Z](?:\s*-\s*[A-Z])?$")
_UNI_FRAME = re.compile(
    r"(?P<sym>⌖|⏥|▱|⌭|⟂|⊥|∥|⌯|◎|⌓|⌒|↗|⌰|∠|○|⏤)\s*\|?\s*"
    r"(?P<dia>[Ø⌀∅]|%%[cC])?\s*(?P<tol>\d{1,9}(?:[.,]\d{1,9})?|[.,]\d{1,9})\s*"
    r"(?P<mods>[ⓂⓁⓈⓅⓉⒻ\s]*)"
    r"(?P<datums>(?:\|?\s*[A-Z](?:\s*[ⓂⓁⓈ])?(?![a-z])\s*){0,3})"
)


def _field(raw: str) -> dict[str, Any]:
    """One compartment of a TOLERANCE: its GDT-font runs decoded."""
    chars: list[str] = []

    def blank(m: re.Match[str]) -> str:
        chars.append(m.group("chars"))
        return " "

    plain = _GDT_RUN.sub(blank, raw)
    plain = plain.replace("%%c", "Ø").replace("%%C", "Ø").strip(" {}")
    return {"gdt": "".join(chars), "text": plain.strip()}


def from_tolerance_entity(content: str) -> list[dict[str, Any]]:
    """Feature control frames of a TOLERANCE entity's content string."""
    frames: list[dict[str, Any]] = []
    for line in re.split(r"\^J|\n", content):
        parts = [_field(p) for p in line.split("%%v")]
        if not parts or not any(p["gdt"] or p["text"] for p in parts):
            continue
        head = parts[0]
        characteristic = next((GDT_FONT[c] for c in head["gdt"] if c in GDT_FONT), None)
        frame: dict[str, Any] = {"characteristic": characteristic, "datums": []}
        zones = []
        for p in parts[1:3]:
            num = _NUM.search(p["text"])
            if not num and not p["gdt"]:
                continue
            zone: dict[str, Any] = {
                "value": float(num.group(0).replace(",", ".")) if num else None,
                "diameter": "n" in p["gdt"] or "Ø" in p["text"],
                "modifiers": [MODIFIERS[c] for c in p["gdt"] if c in MODIFIERS],
            }
            zones.append(zone)
        for p in parts[3:6]:
            letters = re.sub(r"[^A-Z\-]", "", p["text"])
            if letters:
                frame["datums"].append(
                    {
                        "label": letters,
                        "modifiers": [MODIFIERS[c] for c in p["gdt"] if c in MODIFIERS],
                    }
                )
        if characteristic is None and not zones:
            # A datum identifier alone: the datum feature symbol.
            ident = (parts[-1]["text"] or "").strip()
            if _DATUM.match(ident):
                frames.append({"kind": "datum", "label": ident})
            continue
        if zones:
            frame.update(zones[0])
            if len(zones) > 1:
                frame["secondary"] = zones[1]
        frame["kind"] = "frame"
        frames.append(frame)
    return frames


def from_text(text: str) -> list[dict[str, Any]]:
    """Frames written with Unicode GD&T symbols: "⌖ Ø0.05 Ⓜ A B C"."""
    frames = []
    for m in _UNI_FRAME.finditer(text):
        datums = re.findall(r"([A-Z])\s*([ⓂⓁⓈ])?", m.group("datums") or "")
        frames.append(
            {
                "kind": "frame",
                "characteristic": UNICODE[m.group("sym")],
                "value": float(m.group("tol").replace(",", ".")),
                "diameter": bool(m.group("dia")),
                "modifiers": [_UNI_MOD[c] for c in m.group("mods") if c in _UNI_MOD],
                "datums": [
                    {"label": d, "modifiers": [_UNI_MOD[x]] if x else []}
                    for d, x in datums
                ],
                "text": m.group(0).strip(),
            }
        )
    return frames


_DATUM_BLOCK = re.compile(
    r"datum|bezug|référence|riferimento|基准|データム|데이텀", re.I
)


def is_datum_symbol(text: str, block: str | None, tag: str | None) -> bool:
    """A datum feature symbol drawn as a block: its letter (an attribute or a
    text) inside a block or tag named for datums."""
    where = f"{block or ''} {tag or ''}"
    return bool(_DATUM.match(text.strip())) and bool(_DATUM_BLOCK.search(where))
