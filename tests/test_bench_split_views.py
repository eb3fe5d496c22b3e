"""bench/split_views.py cuts a sheet into one drawing a view: the stdviews
figures in docs/model-quality.md are measured on what it writes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import ezdxf

from bench.split_views import split


def _sheet(path: Path) -> None:
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    # A side view: a rectangle with a dimension line and its letter beside it.
    msp.add_lwpolyline([(0, 0), (40, 0), (40, 10), (0, 10)], close=True)
    msp.add_line((10, 0), (10, 10))
    msp.add_line((30, 0), (30, 10))
    msp.add_line((0, 10.5), (0, 14))  # extension line, touching the outline
    msp.add_line((0, 13), (40, 13))
    msp.add_text("l", height=2).set_placement((20, 14))
    # An end view far to the right: a ring with a hexagon around it.
    msp.add_circle((100, 5), 4)
    msp.add_circle((100, 5), 2)
    msp.add_lwpolyline(
        [(106, 5), (103, 10), (97, 10), (94, 5), (97, 0), (103, 0)], close=True
    )
    msp.add_line((100, -3), (100, 13))
    # A stray arrowhead with nothing around it, and a label on its own.
    msp.add_lwpolyline([(60, 40), (61, 40.5), (61, 39.5)], close=True)
    msp.add_text("ISO 4014", height=2).set_placement((60, -30))
    path.parent.mkdir(parents=True)
    doc.saveas(path)


def test_each_view_becomes_a_drawing_of_its_own_with_its_letters(tmp_path):
    sheet = tmp_path / "sheets" / "hex_bolt" / "bolt.dxf"
    _sheet(sheet)

    written = split(sheet, tmp_path / "views", min_entities=4)

    assert written == 2
    views = sorted((tmp_path / "views" / "hex_bolt").glob("*.dxf"))
    assert [v.name for v in views] == ["bolt__v1.dxf", "bolt__v2.dxf"]
    side, end = (ezdxf.readfile(v).modelspace() for v in views)
    assert Counter(e.dxftype() for e in side) == {"LWPOLYLINE": 1, "LINE": 4, "TEXT": 1}
    assert [t.dxf.text for t in side.query("TEXT")] == ["l"]
    assert Counter(e.dxftype() for e in end) == {
        "CIRCLE": 2,
        "LWPOLYLINE": 1,
        "LINE": 1,
    }
