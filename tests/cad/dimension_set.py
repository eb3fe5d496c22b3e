"""A labelled drawing of DIMENSION entities: the values, tolerances and fit
deviations a reader must take off it exactly.

Each entry is (how it is dimensioned, expected fields of the entity). Fit
deviations are those printed in ISO 286-2's tables; ``measurement`` is what the
geometry says (degrees for angles).
"""

from __future__ import annotations

import io
from typing import Any

import ezdxf

# (kind, geometry, text override, dimstyle override, expected fields)
ENTITIES: list[tuple[str, tuple, str | None, dict | None, dict[str, Any]]] = [
    ("linear", (0, 42.5), None, None, {"measurement": 42.5}),
    (
        "linear",
        (20, 20.0),
        "%%c<> H7/g6",
        None,
        {
            "measurement": 20.0,
            "fit": {
                "hole": "H7",
                "shaft": "g6",
                "hole_deviations": [0.021, 0.0],
                "shaft_deviations": [-0.007, -0.02],
                "clearance": [0.007, 0.041],
            },
        },
    ),
    (
        "linear",
        (40, 50.0),
        "%%c<> H8/f7",
        None,
        {
            "fit": {
                "hole": "H8",
                "shaft": "f7",
                "hole_deviations": [0.039, 0.0],
                "shaft_deviations": [-0.025, -0.05],
                "clearance": [0.025, 0.089],
            }
        },
    ),
    (
        "linear",
        (60, 30.0),
        None,
        {"dimtol": 1, "dimtp": 0.1, "dimtm": 0.05},
        {"measurement": 30.0, "upper": 0.1, "lower": -0.05},
    ),
    (
        "linear",
        (80, 25.0),
        None,
        {"dimlim": 1, "dimtp": 0.021, "dimtm": 0.0},
        {"upper": 0.021, "lower": 0.0, "limits": [25.021, 25.0]},
    ),
    (
        "linear",
        (100, 12.0),
        "<>\\S+0.2^-0.1;",
        None,
        {"measurement": 12.0, "upper": 0.2, "lower": -0.1},
    ),
    ("linear", (120, 16.0), "<> ±0.05", None, {"upper": 0.05, "lower": -0.05}),
    (
        "linear",
        (140, 40.0),
        "%%c<> k6",
        None,
        {"tolerance_class": "k6", "upper": 0.018, "lower": 0.002},
    ),
    (
        "linear",
        (160, 8.0),
        "4x %%c<> H12",
        None,
        {"count": 4, "upper": 0.15, "lower": 0.0},
    ),
    # ESKD writes no zero deviation: "+0,021" over a blank is over zero.
    (
        "linear",
        (180, 20.0),
        "%%c<>\\S+0,021^ ;",
        None,
        {"measurement": 20.0, "upper": 0.021, "lower": 0.0},
    ),
    ("linear", (200, 40.0), "<>\\S^ -0,039;", None, {"upper": 0.0, "lower": -0.039}),
    # A size given by a table, its symbol printed with its deviations.
    (
        "linear",
        (220, 24.2),
        "d1\\H0.65x;\\S+0,1^ ;",
        None,
        {"measurement": 24.2, "upper": 0.1, "lower": 0.0},
    ),
    ("angular", (45.0,), None, None, {"kind": "angular", "measurement": 45.0}),
    ("angular", (120.0,), None, None, {"kind": "angular", "measurement": 120.0}),
]


def dxf() -> bytes:
    """The drawing: one DIMENSION per entry, laid out left to right."""
    from ezdxf.math import Vec2

    doc = ezdxf.new("R2018")
    msp = doc.modelspace()
    for i, (kind, geo, text, override, _) in enumerate(ENTITIES):
        y = -i * 40.0
        if kind == "linear":
            x, length = geo
            msp.add_linear_dim(
                base=(x, y + 15),
                p1=(x, y),
                p2=(x + length, y),
                text=text or "<>",
                override=override,
            ).render()
        else:
            (angle,) = geo
            msp.add_angular_dim_2l(
                base=(10, y + 10),
                line1=(Vec2(0, y), Vec2(20, y)),
                line2=(Vec2(0, y), Vec2(0, y) + Vec2.from_deg_angle(angle, 20)),
            ).render()
    stream = io.StringIO()
    doc.write(stream)
    return doc.encode(stream.getvalue())


def score(entities: list[dict[str, Any]]) -> dict[str, Any]:
    """Share of entries whose expected fields all come out exactly (entities are
    matched in drawing order)."""
    misses = []
    for (_, _, _, _, expected), got in zip(ENTITIES, entities, strict=False):
        if {k: got.get(k) for k in expected} != expected:
            misses.append(f"{expected}: got {got}")
    n = len(ENTITIES)
    if len(entities) != n:
        misses.append(f"{len(entities)} entities read, {n} drawn")
    return {"exact": round((n - len(misses)) / n, 4), "n": n, "misses": misses}
