"""The real-drawing evaluation set: public drawings nobody in this project made.

``tests/data/drawings/expected.json`` lists each drawing with its source
(repository, path, commit, licence) and the title-block values read off it.
Redistributable drawings are committed next to it; the others are looked up
under ``$CADML_REAL_DRAWINGS`` and left out when absent or changed.
``bench/extraction_quality.py`` and ``tests/cad/test_real_drawings.py`` score
the reader on it with ``tests.cad.titleblock_set.score``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "data" / "drawings"
LOCAL = Path(os.environ.get("CADML_REAL_DRAWINGS", "/work/data/h23b"))
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "dxf"


@dataclass(frozen=True)
class RealCase:
    name: str
    language: str
    path: Path
    committed: bool
    in_corpus: bool
    expected: dict[str, str]
    sha256: str | None = None
    # DIMENSION handle -> the value its drawn text shows.
    dimensions: dict[str, float] = field(default_factory=dict)
    source: dict[str, str] = field(default_factory=dict)

    def available(self) -> bool:
        if not self.path.is_file():
            return False
        if self.sha256 is None:
            return True
        return hashlib.sha256(self.path.read_bytes()).hexdigest() == self.sha256


def cases() -> list[RealCase]:
    spec = json.loads((DATA / "expected.json").read_text(encoding="utf-8"))
    out = []
    for d in spec["drawings"]:
        committed = "file" in d
        if committed:
            path = DATA / d["file"]
        elif "corpus" in d:
            path = CORPUS / d["corpus"]
        else:
            path = LOCAL / d["local"]
        out.append(
            RealCase(
                name=d["name"],
                language=d["language"],
                path=path,
                committed=committed,
                in_corpus="corpus" in d,
                expected=d["expected"],
                sha256=d.get("sha256"),
                source=d["source"],
                dimensions=d.get("dimensions", {}),
            )
        )
    return out


def analyse(case: RealCase) -> dict[str, Any]:
    """What the analysis pipeline returns for the drawing."""
    from apps.cad.pipeline import analyze_bytes

    logging.disable(logging.INFO)
    try:
        return analyze_bytes(case.path.name, case.path.read_bytes(), preview=False)
    finally:
        logging.disable(logging.NOTSET)


def read(case: RealCase) -> dict[str, Any]:
    """The title block the analysis pipeline returns for the drawing."""
    return analyse(case).get("title_block") or {}


def dimension_misses(case: RealCase, result: dict[str, Any]) -> list[str]:
    """Labelled dimensions whose measured value, rounded as drawn, differs from
    the drawn one."""
    got = {
        e["handle"]: e.get("measurement")
        for e in (result.get("dimensions") or {}).get("entities", [])
    }
    return [
        f"{case.name}.{handle}: got {got.get(handle)!r}, want {want!r}"
        for handle, want in case.dimensions.items()
        if got.get(handle) is None or round(got[handle], _decimals(want)) != want
    ]


def _decimals(value: float) -> int:
    text = repr(float(value))
    return 0 if text.endswith(".0") else len(text.split(".")[1])
