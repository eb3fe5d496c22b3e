"""Thread callouts: ISO metric (M8, M8x1.25-6g, 4x M6-6H), unified (1/4-20 UNC-2A,
#10-32 UNF), and pipe threads (G1/2, G 1/2 A, R 1/4, Rp 3/8, Rc 1/2, 1/2-14 NPT)."""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

# ISO 261 coarse pitches (mm) by nominal diameter.
COARSE_PITCH = {
    1.0: 0.25, 1.2: 0.25, 1.4: 0.3, 1.6: 0.35, 2.0: 0.4, 2.5: 0.45, 3.0: 0.5,
    3.5: 0.6, 4.0: 0.7, 5.0: 0.8, 6.0: 1.0, 7.0: 1.0, 8.0: 1.25, 10.0: 1.5,
    12.0: 1.75, 14.0: 2.0, 16.0: 2.0, 18.0: 2.5, 20.0: 2.5, 22.0: 2.5, 24.0: 3.0,
    27.0: 3.0, 30.0: 3.5, 33.0: 3.5, 36.0: 4.0, 39.0: 4.0, 42.0: 4.5, 45.0: 4.5,
    48.0: 5.0, 52.0: 5.0, 56.0: 5.5, 60.0: 5.5, 64.0: 6.0,
}  # fmt: skip
# Unified screw numbers: basic major diameter in inches.
_NUMBERED = {0: 0.06, 1: 0.073, 2: 0.086, 3: 0.099, 4: 0.112, 5: 0.125, 6: 0.138,
             8: 0.164, 10: 0.19, 12: 0.216}  # fmt: skip

_COUNT = r"(?:(?P<count>\d{1,3})\s*[xX×]\s*)?"
METRIC = re.compile(
    _COUNT + r"(?<![A-Za-z])M\s?(?P<d>\d{1,3}(?:[.,]\d{1,3})?)"
    r"(?:\s*[xX×]\s*(?P<p>\d(?:[.,]\d{1,3})?))?"
    r"(?:\s*[-–]\s*(?P<cls>\d[a-hA-H](?:\d[a-hA-H])?))?(?![\w.,])"
)
UNIFIED = re.compile(
    _COUNT + r"(?P<size>#\d{1,2}|\d{1,3}/\d{1,3}|\d{1,3}(?:\.\d{1,4})?)"
    r"\s*\"?\s*[-–]\s*(?P<tpi>\d{1,3})"
    r"\s*(?P<series>UNC|UNF|UNEF|UNS|UN|NPTF|NPT)(?:\s*[-–]\s*(?P<cls>[123][AB]))?\b"
)
PIPE = re.compile(
    _COUNT + r"(?<![A-Za-z])(?P<series>Rp|Rc|G|R)\s?"
    r"(?P<size>\d{1,3}\s*\d{0,3}/\d{1,3}|\d{1,3})"
    r"(?:\s*(?P<cls>[AB]))?(?![\w/])"
)


def _f(s: str) -> float:
    return float(s.replace(",", "."))


def _inch(size: str) -> float | None:
    size = size.strip()
    if size.startswith("#"):
        n = int(size[1:])
        return _NUMBERED.get(n)
    try:
        return float(sum(Fraction(p) for p in size.split()))
    except (ValueError, ZeroDivisionError, OverflowError):
        return None


def parse(text: str) -> list[dict[str, Any]]:
    """Every thread callout in ``text``."""
    found: list[dict[str, Any]] = []
    for m in METRIC.finditer(text):
        d = _f(m.group("d"))
        if not 0.5 <= d <= 300:
            continue
        pitch = _f(m.group("p")) if m.group("p") else COARSE_PITCH.get(d)
        out: dict[str, Any] = {
            "system": "metric",
            "designation": m.group(0).strip(),
            "nominal_diameter": d,
            "pitch": pitch,
            "fine": bool(m.group("p")) and pitch != COARSE_PITCH.get(d),
        }
        if m.group("cls"):
            out["tolerance_class"] = m.group("cls")
            out["internal"] = m.group("cls")[-1].isupper()
        if m.group("count"):
            out["count"] = int(m.group("count"))
        found.append(out)
    for m in UNIFIED.finditer(text):
        inch = _inch(m.group("size"))
        if inch is None:
            continue
        series = m.group("series")
        out = {
            "system": "pipe" if series.startswith("NPT") else "unified",
            "series": series,
            "designation": m.group(0).strip(),
            "nominal_diameter": round(inch * 25.4, 3),
            "nominal_inch": m.group("size"),
            "tpi": int(m.group("tpi")),
            "pitch": round(25.4 / int(m.group("tpi")), 4)
            if int(m.group("tpi"))
            else None,
        }
        if m.group("cls"):
            out["tolerance_class"] = m.group("cls")
            out["internal"] = m.group("cls").endswith("B")
        if m.group("count"):
            out["count"] = int(m.group("count"))
        found.append(out)
    for m in PIPE.finditer(text):
        series = m.group("series")
        size = m.group("size")
        if series == "R" and "/" not in size:
            continue  # "R5" is a radius; "R 1/4" a taper pipe thread
        out = {
            "system": "pipe",
            "series": series,
            "designation": m.group(0).strip(),
            "nominal_inch": size,
        }
        if m.group("cls"):
            out["tolerance_class"] = m.group("cls")
        if m.group("count"):
            out["count"] = int(m.group("count"))
        found.append(out)
    return found
