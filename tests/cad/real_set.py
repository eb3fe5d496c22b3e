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


@dataclass(frozen=True)
class RealCase:
    name: str
    language: str
    path: Path
    committed: bool
    expected: dict[str, str]
    sha256: str | None = None
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
        out.append(
            RealCase(
                name=d["name"],
                language=d["language"],
                path=DATA / d["file"] if committed else LOCAL / d["local"],
                committed=committed,
                expected=d["expected"],
                sha256=d.get("sha256"),
                source=d["source"],
            )
        )
    return out


def read(case: RealCase) -> dict[str, Any]:
    """The title block the analysis pipeline returns for the drawing."""
    from apps.cad.pipeline import analyze_bytes

    logging.disable(logging.INFO)
    try:
        result = analyze_bytes(case.path.name, case.path.read_bytes(), preview=False)
    finally:
        logging.disable(logging.NOTSET)
    return result.get("title_block") or {}
