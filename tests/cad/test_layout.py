"""The dxf-7 layout view: which way the strokes run and where they lie, in the
drawing's own axes. Symbols a turn apart (a T and its upside-down copy) read
apart here while every rotation-invariant view reads them alike; moving,
scaling, line weight, duplicates and a stray far-away entity leave it."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from apps.cad import layout as layout_view
from apps.cad import picture
from apps.cad.features import DXF7_SLOTS
from apps.cad.pipeline import analyze_bytes
from tests.cad.conftest import dxf_bytes

NAMES = [s.name for s in DXF7_SLOTS]
# A T: a bar along the top and a stem down from its middle.
T = [((0, 100), (100, 100)), ((50, 100), (50, 0))]


def named(content: bytes) -> dict[str, float]:
    v = analyze_bytes("x.dxf", content, preview=False)["features"]
    return dict(zip(NAMES, v, strict=True))


def layout(content: bytes) -> dict[str, float]:
    return {n: x for n, x in named(content).items() if n.startswith("lay_")}


def drawn(
    segments: list[tuple[tuple[float, float], tuple[float, float]]],
    *,
    turn: float = 0.0,
    scale: float = 1.0,
    shift: tuple[float, float] = (0.0, 0.0),
    attribs: dict | None = None,
    twice: bool = False,
    polyline: bool = False,
    extra=None,  # type: ignore[no-untyped-def]
) -> bytes:
    c, s = math.cos(math.radians(turn)), math.sin(math.radians(turn))

    def at(p: tuple[float, float]) -> tuple[float, float]:
        x, y = p[0] * scale, p[1] * scale
        return (x * c - y * s + shift[0], x * s + y * c + shift[1])

    def build(doc, msp):  # type: ignore[no-untyped-def]
        for a, b in segments:
            for _ in range(2 if twice else 1):
                if polyline:
                    msp.add_lwpolyline([at(a), at(b)], dxfattribs=attribs or {})
                else:
                    msp.add_line(at(a), at(b), dxfattribs=attribs or {})
        if extra:
            extra(msp)

    return dxf_bytes(build)


def close(a: dict[str, float], b: dict[str, float], tol: float = 1e-6) -> bool:
    return all(math.isclose(a[k], b[k], abs_tol=tol) for k in a)


def test_a_t_and_the_same_t_upside_down_differ_only_in_the_layout() -> None:
    upright, upside_down = named(drawn(T)), named(drawn(T, turn=180))
    layout_names = [n for n in NAMES if n.startswith("lay_")]
    others = [n for n in NAMES if not n.startswith("lay_")]
    # The rotation-invariant views cannot tell them apart ...
    assert all(math.isclose(upright[n], upside_down[n], abs_tol=2e-2) for n in others)
    # ... the layout can: the bar lies in the top row upright, the bottom one
    # turned.
    assert any(abs(upright[n] - upside_down[n]) > 0.05 for n in layout_names)
    top = sum(upright[f"lay_cell_4_{col}"] for col in range(5))
    bottom = sum(upright[f"lay_cell_0_{col}"] for col in range(5))
    assert top > 0.4 and bottom < 0.15
    turned_top = sum(upside_down[f"lay_cell_4_{col}"] for col in range(5))
    turned_bottom = sum(upside_down[f"lay_cell_0_{col}"] for col in range(5))
    assert turned_bottom > 0.4 and turned_top < 0.15


def test_directions_say_which_way_the_strokes_run() -> None:
    v = layout(drawn(T))
    # Half the length runs horizontally (bin 0), half vertically (bin 4).
    assert math.isclose(v["lay_dir_0"], 0.5, abs_tol=1e-3)
    assert math.isclose(v["lay_dir_4"], 0.5, abs_tol=1e-3)
    quarter = layout(drawn(T, turn=90))
    assert math.isclose(quarter["lay_dir_0"], 0.5, abs_tol=1e-3)
    # A line a hair off the axis stays in its bin.
    tilted = layout(drawn(T, turn=0.5))
    assert math.isclose(tilted["lay_dir_0"], 0.5, abs_tol=1e-3)
    diagonal = layout(drawn([((0, 0), (10, 10))]))
    assert math.isclose(diagonal["lay_dir_2"], 1.0, abs_tol=1e-3)
    # Circles count in the total only: a circle as long as the lines halves
    # every share.
    with_circle = layout(
        drawn(
            [((0, 0), (math.pi * 20, 0))],
            extra=lambda msp: msp.add_circle((40, 40), 10),
        )
    )
    assert math.isclose(with_circle["lay_dir_0"], 0.5, abs_tol=1e-3)


def test_moving_scaling_line_weight_duplicates_and_polylines_leave_it() -> None:
    base = layout(drawn(T))
    assert close(base, layout(drawn(T, shift=(12345.0, -678.0), scale=37.5)))
    assert close(base, layout(drawn(T, attribs={"lineweight": 70, "color": 3})))
    assert close(base, layout(drawn(T, twice=True)))
    assert close(base, layout(drawn(T, polyline=True)))


def test_a_stray_entity_far_away_does_not_squash_the_grid() -> None:
    base = layout(drawn(T))
    stray = layout(
        drawn(T, extra=lambda msp: msp.add_line((5000, 5000), (5000.5, 5000)))
    )
    # The T spreads over the grid as before; the stray line's own length
    # (a quarter of a percent) lands in a corner cell.
    moved = [abs(base[n] - stray[n]) for n in base if n.startswith("lay_cell_")]
    assert max(moved) < 0.01
    # Without the quantiles the T would have shrunk into one corner cell.
    assert stray["lay_cell_0_0"] < 0.5


def test_no_geometry_and_a_single_line_give_the_neutral_or_finite_values() -> None:
    empty = layout(dxf_bytes(lambda doc, msp: msp.add_text("only words")))
    assert set(empty.values()) == {0.0}
    line = layout(drawn([((0, 0), (100, 0))]))
    assert all(math.isfinite(x) for x in line.values())
    # No height: everything in the middle row.
    assert math.isclose(
        sum(line[f"lay_cell_2_{c}"] for c in range(5)), 1.0, abs_tol=1e-6
    )
    assert math.isclose(sum(line.values()) - line["lay_dir_0"], 1.0, abs_tol=1e-6)


coord = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, width=64)


@hsettings(max_examples=150, deadline=None)
@given(
    lines=st.lists(st.tuples(coord, coord, coord, coord), max_size=20),
    circles=st.lists(
        st.tuples(coord, coord, st.floats(min_value=1e-9, max_value=1e12)),
        max_size=6,
    ),
)
def test_the_layout_is_a_set_of_shares_for_any_geometry_collect_keeps(
    lines: list[tuple[float, ...]], circles: list[tuple[float, ...]]
) -> None:
    # collect() keeps finite values below 1e12, as here.
    L = np.asarray(lines, dtype=float).reshape(-1, 4)
    C = np.asarray(circles, dtype=float).reshape(-1, 3)
    L, C = picture.distinct(L, C)
    v = layout_view.layout_vector(L, C, picture.pose(L, C, already_distinct=True))
    assert len(v) == layout_view.WIDTH
    assert all(math.isfinite(x) and -1e-9 <= x <= 1 + 1e-9 for x in v)
    directions, cells = v[: layout_view.DIRECTIONS], v[layout_view.DIRECTIONS :]
    assert sum(directions) <= 1 + 1e-6
    # All of the drawn length is somewhere on the grid, or there is nothing.
    assert math.isclose(sum(cells), 1.0, abs_tol=1e-6) or sum(cells) == 0.0
