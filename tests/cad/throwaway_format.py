"""A format made up for the registry test: one module, as a new format would be.

A text point list, ``XYZ-POINTS`` on the first line and ``x y z`` on each line
after it. The test adds ``POINTS`` to ``apps.cad.formats.FORMATS`` (the one
registry line) and uploads a file through the API.
"""

from __future__ import annotations

from typing import Any

from apps.cad import dimensions, titleblock
from apps.cad.errors import UnreadableFile
from apps.cad.formats import Format, Stopwatch

MAGIC = b"XYZ-POINTS\n"


def is_points(content: bytes) -> bool:
    return content.startswith(MAGIC)


def load(content: bytes) -> list[tuple[float, float, float]]:
    points = []
    for n, line in enumerate(content[len(MAGIC) :].splitlines(), start=2):
        try:
            x, y, z = (float(v) for v in line.split())
        except ValueError:
            raise UnreadableFile(f"line {n} is not three numbers") from None
        points.append((x, y, z))
    if not points:
        raise UnreadableFile("the file lists no points")
    return points


def analyse(
    points: list[tuple[float, float, float]], watch: Stopwatch, want_preview: bool
) -> dict[str, Any]:
    spans = [max(p[i] for p in points) - min(p[i] for p in points) for i in range(3)]
    watch.lap("features")
    return {
        "recovered": False,
        "fixes": 0,
        "repair_messages": [],
        "feature_version": "points-1",
        "features": [float(len(points)), *spans],
        "text": [],
        "title_block": {f: None for f in titleblock.ALL_FIELDS},
        "dimensions": {"entities": [], "tokens": [], **dimensions.annotations([], [])},
        "stats": {"points": len(points)},
        "preview_svg": preview(points) if want_preview else None,
    }


def preview(points: list[tuple[float, float, float]]) -> str:
    dots = "".join(f'<circle cx="{x:g}" cy="{y:g}" r="1"/>' for x, y, _ in points)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100" '
        f'viewBox="0 0 100 100"><g id="points">{dots}</g></svg>'
    )


POINTS = Format(
    name="points", detect=is_points, load=load, analyse=analyse, preview=preview
)
