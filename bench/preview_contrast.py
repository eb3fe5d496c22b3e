"""Preview legibility on a folder of DXF files (default: the shared corpus).

For each file drawn both ways: the weakest contrast (WCAG ratio) between any
colour the SVG draws with and its background, (a) for ezdxf's default
rendering (dark model-space background, the drawing's own colours: the old
preview) and (b) for ours, light and dark themes. Counts the files whose every
colour reaches 4.5:1 and those with a colour under 2:1 (next to invisible).
Prints one JSON line: ``python bench/preview_contrast.py [FOLDER]``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "dxf"
_BACKGROUND = re.compile(r'<rect\b[^>]*?\bfill="(#[0-9a-fA-F]{6})"')
_INK = re.compile(r"(stroke|fill)(?::\s*|=\")(#[0-9a-fA-F]{6})")


def weakest(svg: str) -> float | None:
    from apps.cad.preview_theme import contrast

    match = _BACKGROUND.search(svg)
    if match is None:
        return None
    ground = match.group(1).lower()
    inks = {
        c.lower()
        for p, c in _INK.findall(_BACKGROUND.sub("", svg))
        if not (p == "fill" and c.lower() == ground)
    }
    return min((contrast(c, ground) for c in inks), default=None)


def default_render(content: bytes) -> str:
    from ezdxf.addons.drawing import Frontend, RenderContext, layout, svg

    from apps.cad.formats import dxf

    doc = dxf.load_dxf(content).doc
    backend = svg.SVGBackend()
    Frontend(RenderContext(doc), backend).draw_layout(doc.modelspace(), finalize=True)
    page = layout.Page(210, 148, layout.Units.mm, margins=layout.Margins.all(5))
    return backend.get_string(
        page, settings=layout.Settings(output_coordinate_space=10_000)
    )


def main() -> None:
    from apps.cad.pipeline import render_preview
    from apps.cad.preview_theme import MIN_CONTRAST, themed

    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else CORPUS
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() == ".dxf")
    counts = dict.fromkeys(
        ("default_ok", "default_under_2", "light_ok", "light_under_2", "dark_ok"), 0
    )
    judged = 0
    for path in files:
        content = path.read_bytes()
        try:
            before = weakest(default_render(content))
            light = render_preview(path.name, content)["preview_svg"]
        except Exception:  # noqa: BLE001, S112 - not drawable either way
            continue
        after, dark = weakest(light), weakest(themed(light, theme="dark"))
        if before is None or after is None or dark is None:
            continue  # nothing drawn (placeholders, empty drawings)
        judged += 1
        counts["default_ok"] += before >= MIN_CONTRAST
        counts["default_under_2"] += before < 2
        counts["light_ok"] += after >= MIN_CONTRAST
        counts["light_under_2"] += after < 2
        counts["dark_ok"] += dark >= MIN_CONTRAST
    print(
        json.dumps(
            {
                "bench": "preview_contrast",
                "folder": folder.name,
                "files": len(files),
                "judged": judged,
                **counts,
            }
        )
    )


if __name__ == "__main__":
    main()
