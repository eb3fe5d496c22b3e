"""Surface texture: Ra/Rz values from text and from roughness-symbol blocks,
and the default finish note ("other surfaces Ra 3.2", "(√)")."""

from __future__ import annotations

import re
from typing import Any

VALUE = re.compile(
    r"(?<![A-Za-z])(?P<param>R[azqtp]|RA|RZ)\s*(?:=|:)?\s*(?P<value>\d{1,6}(?:[.,]\d{1,6})?)"
    r"\s*(?:µm|μm|um)?"
)
# ISO 1302 roughness grade numbers N1..N12 and their Ra in µm.
GRADE = re.compile(r"(?<![A-Za-z\d])N(?P<n>1[0-2]|[1-9])(?![\w.])")
_N_RA = {1: 0.025, 2: 0.05, 3: 0.1, 4: 0.2, 5: 0.4, 6: 0.8, 7: 1.6, 8: 3.2,
         9: 6.3, 10: 12.5, 11: 25.0, 12: 50.0}  # fmt: skip
_DEFAULT = re.compile(
    r"unless|otherwise|other surfaces|all surfaces|übrige|sonstige|allgemein|"
    r"alle|autres|toutes|demás|resto|altre|restantes|overige|pozostałe|ostatní|"
    r"ostale|остальн|其余|未注|その他|기타|\(\s*[√✓]\s*\)|\(\s*\)",
    re.IGNORECASE,
)
SYMBOL_BLOCK = re.compile(
    r"rough|surf|finish|rauh|oberfl|rugos|chropow|drsn|hrapav|шерох|粗糙|粗さ|거칠",
    re.IGNORECASE,
)


def parse(text: str, *, in_symbol: bool = False) -> list[dict[str, Any]]:
    """Roughness values in ``text``; ``in_symbol`` for an attribute or text of a
    roughness-symbol block, where a bare number is the Ra value."""
    out: list[dict[str, Any]] = []
    default = bool(_DEFAULT.search(text))
    for m in VALUE.finditer(text):
        out.append(
            {
                "parameter": m.group("param")[0] + m.group("param")[1].lower(),
                "value": float(m.group("value").replace(",", ".")),
                "unit": "µm",
                "text": m.group(0).strip(),
                "default": default,
            }
        )
    for m in GRADE.finditer(text):
        if not in_symbol and not default:
            continue  # "N7" alone is too often something else
        out.append(
            {
                "parameter": "Ra",
                "value": _N_RA[int(m.group("n"))],
                "unit": "µm",
                "grade": m.group(0),
                "text": m.group(0),
                "default": default,
            }
        )
    if not out and in_symbol:
        bare = re.fullmatch(r"\s*(\d{1,6}(?:[.,]\d{1,6})?)\s*", text)
        if bare:
            out.append(
                {
                    "parameter": "Ra",
                    "value": float(bare.group(1).replace(",", ".")),
                    "unit": "µm",
                    "text": text.strip(),
                    "default": False,
                }
            )
    return out
