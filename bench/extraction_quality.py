"""Extraction quality on the labelled title-block set (``tests/cad/titleblock_set``)
and on toleranced dimensions.

(a) title-block fields: precision and recall overall, per language and per
field, for the table reader (ruled cells) and, as the baseline in the same
run, the same labels paired by position only (no cell geometry);
(b) dimensions: share of DIMENSION entities (``tests/cad/dimension_set``: styles
with DIMTOL/DIMLIM, overrides with stacking and fits, angles) and of toleranced
sizes written as text whose values, deviations and fit deviations come out
exactly as labelled;
(c) ``real``: title-block fields on public drawings nobody in this project made
(``tests/cad/real_set``), per language and per field, with how many drawings
were present (the ones kept outside the repository count only where found).

Prints one JSON line. ``--misses`` also prints what was read wrong.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ezdxf  # noqa: E402

from apps.cad import titleblock  # noqa: E402
from apps.cad.extract.cells import Grid  # noqa: E402
from apps.cad.extract.tolerances import parse_size  # noqa: E402
from apps.cad.formats.dxf import load_dxf  # noqa: E402
from apps.cad.pipeline import analyze_bytes  # noqa: E402
from apps.cad.text import texts_of  # noqa: E402
from apps.cad.walk import WalkReport, walk  # noqa: E402
from tests.cad import dimension_set  # noqa: E402
from tests.cad.real_set import analyse as real_analyse  # noqa: E402
from tests.cad.real_set import cases as real_cases  # noqa: E402
from tests.cad.real_set import dimension_misses  # noqa: E402
from tests.cad.titleblock_set import CASES, score  # noqa: E402

# (text, nominal, upper, lower, fit deviations or None) as an ISO 286-2 table
# or the drawing prints them.
DIMENSIONS = [
    ("Ø20 H7/g6", 20.0, None, None, ([0.021, 0.0], [-0.007, -0.02])),
    ("Ø50 H8/f7", 50.0, None, None, ([0.039, 0.0], [-0.025, -0.05])),
    ("Ø30 H7/p6", 30.0, None, None, ([0.021, 0.0], [0.035, 0.022])),
    ("Ø100 H7/s6", 100.0, None, None, ([0.035, 0.0], [0.093, 0.071])),
    ("Ø12 H7", 12.0, 0.018, 0.0, None),
    ("Ø25h6", 25.0, 0.0, -0.013, None),
    ("Ø40 k6", 40.0, 0.018, 0.002, None),
    ("Ø8 F7", 8.0, 0.028, 0.013, None),
    ("Ø160 js6", 160.0, 0.0125, -0.0125, None),
    ("25 ±0.1", 25.0, 0.1, -0.1, None),
    ("40 +0.2/-0.1", 40.0, 0.2, -0.1, None),
    ("60 +0,05 -0,02", 60.0, 0.05, -0.02, None),
    ("%%c35 0/-0.05", 35.0, 0.0, -0.05, None),
    ("R5 ±0.2", 5.0, 0.2, -0.2, None),
    ("4x Ø6.6 H12", 6.6, 0.15, 0.0, None),
    ("Ø22 \\S+0.1^-0.05;", 22.0, 0.1, -0.05, None),
]


def _title_blocks(with_grid: bool) -> dict[str, dict]:
    out = {}
    for case in CASES:
        doc = load_dxf(case.dxf()).doc
        items, grid = [], Grid()
        for visit in walk(doc, WalkReport()):
            items.extend(texts_of(visit))
            if visit.entity.dxftype() in ("LINE", "LWPOLYLINE"):
                grid.add_visit(visit)
        out[case.name] = titleblock.extract(items, grid if with_grid else None)
    return out


def _dimensions() -> dict[str, object]:
    exact, misses = 0, []
    for text, nominal, upper, lower, fit in DIMENSIONS:
        got = parse_size(text) or {}
        ok = got.get("nominal") == nominal
        if fit is None:
            ok = ok and (got.get("upper"), got.get("lower")) == (upper, lower)
        else:
            f = got.get("fit") or {}
            ok = ok and (f.get("hole_deviations"), f.get("shaft_deviations")) == fit
        exact += ok
        if not ok:
            misses.append(f"{text}: {got}")
    return {
        "exact": round(exact / len(DIMENSIONS), 4),
        "n": len(DIMENSIONS),
        "misses": misses,
    }


def _real() -> dict[str, object]:
    present = [c for c in real_cases() if c.available()]
    results = {c.name: real_analyse(c) for c in present}
    got = score(
        {name: r.get("title_block") or {} for name, r in results.items()}, present
    )
    dim_n = sum(len(c.dimensions) for c in present)
    dim_misses = [m for c in present for m in dimension_misses(c, results[c.name])]
    return {
        "drawings": len(present),
        "committed": sum(c.committed for c in present),
        "precision": got["precision"],
        "recall": got["recall"],
        "languages": got["languages"],
        "fields": got["fields"],
        "dimensions_exact": round(1 - len(dim_misses) / dim_n, 4) if dim_n else None,
        "dimensions_n": dim_n,
        "misses": got["misses"] + dim_misses,
    }


def main() -> None:
    logging.disable(logging.INFO)
    table = score(_title_blocks(with_grid=True))
    position_only = score(_title_blocks(with_grid=False))
    dims = _dimensions()
    entities = dimension_set.score(
        analyze_bytes("dims.dxf", dimension_set.dxf(), preview=False)["dimensions"][
            "entities"
        ]
    )
    real = _real()
    show = "--misses" in sys.argv
    line = {
        "bench": "extraction_quality",
        "ezdxf": ezdxf.__version__,
        "cases": table["cases"],
        "title_block": {
            "precision": table["precision"],
            "recall": table["recall"],
            "languages": table["languages"],
            "fields": table["fields"],
        },
        "baseline_position_only": {
            "precision": position_only["precision"],
            "recall": position_only["recall"],
        },
        "dimensions": {
            "text_exact": dims["exact"],
            "text_n": dims["n"],
            "entities_exact": entities["exact"],
            "entities_n": entities["n"],
        },
        "real": {k: v for k, v in real.items() if k != "misses"},
        "real_targets_met": real["precision"] >= 0.95
        and real["recall"] >= 0.85
        and len(real["languages"]) >= 5,
        "targets_met": table["precision"] >= 0.95
        and table["recall"] >= 0.85
        and dims["exact"] == 1.0
        and entities["exact"] == 1.0,
    }
    if show:
        line["misses"] = {
            "table": table["misses"],
            "dimensions": dims["misses"] + entities["misses"],
            "real": real["misses"],
        }
    print(json.dumps(line, ensure_ascii=False, separators=(",", ":")))


if __name__ == "__main__":
    main()
