"""What readable previews cost, over the DXF corpus plus 50 synthetic drawings.

(a) drawing the preview from the file's bytes (``pipeline.render_preview``
without its paper step: parse + ezdxf's SVG backend), the baseline and what a
second, dark rendering per drawing would cost; (b) ``preview_theme.paper`` on
that SVG, the step added to every rendering; (c) serving the dark theme as a
256 px thumbnail from the stored light SVG (``preview_theme.themed``).
Median ms per file of each, b/a and c/a. Prints one JSON line.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "dxf"
N_SYNTH = 50


def main() -> None:
    from apps.cad import preview_theme
    from apps.cad.formats import dxf
    from apps.cad.synth import PART_CLASSES, generate_part

    blobs = [p.read_bytes() for p in sorted(CORPUS.rglob("*.dxf"))]
    rng = random.Random(2024)
    blobs += [
        generate_part(PART_CLASSES[i % len(PART_CLASSES)], rng) for i in range(N_SYNTH)
    ]
    render, paper, dark = [], [], []
    for content in blobs:
        try:
            t = time.perf_counter()
            doc = dxf.load_dxf(content).doc
            raw = dxf.dxf_svg(doc, sum(1 for _ in doc.modelspace()))
            t1 = time.perf_counter()
        except Exception:  # noqa: BLE001, S112 - files the pipeline refuses
            continue
        stored = preview_theme.paper(raw)
        t2 = time.perf_counter()
        preview_theme.themed(stored, theme="dark", size=256)
        t3 = time.perf_counter()
        render.append((t1 - t) * 1000)
        paper.append((t2 - t1) * 1000)
        dark.append((t3 - t2) * 1000)
    a, b, c = (statistics.median(x) for x in (render, paper, dark))
    print(
        json.dumps(
            {
                "bench": "preview_theme",
                "files": len(render),
                "render_ms_median": round(a, 3),
                "paper_ms_median": round(b, 3),
                "dark_thumbnail_ms_median": round(c, 3),
                "paper_over_render": round(b / a, 4),
                "dark_thumbnail_over_render": round(c / a, 4),
                "dark_thumbnail_ms_max": round(max(dark), 3),
            }
        )
    )


if __name__ == "__main__":
    main()
