"""Drawings of other domains, for a part classifier to learn what a part is not.

``generate_other(rng)`` returns the bytes of a DXF of something people draw
that is not a mechanical part: a floor plan, lettering or a name tag cut file,
an electrical schematic, a map, a furniture or site layout, a PCB's tracks.
The default model trains them as one extra class (``NOT_A_PART``)
whose answer is ``unknown`` (outlier exposure): a drawing of another domain
then lands in that class instead of in the closest-looking part's.
They are rough on purpose: what matters is the kind of geometry (many
orthogonal walls, rows of small glyph outlines, wires between symbols, long
wandering polylines), not drafting detail. The same ``rng`` state gives the
same bytes.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable

import ezdxf
import ezdxf.bbox
from ezdxf.layouts import Modelspace

from apps.cad.synth.generator import _DIM_LAYERS, _HATCH_LAYERS

# Drawings with this label teach a model what is not a part (the generated ones
# here, or a tenant's own): a model whose most likely label it is answers
# ``unknown`` (apps.modelreg.openset.set_aside).
NOT_A_PART = "not_a_part"

Pt = tuple[float, float]

# A stroke font on a 4 x 6 grid: enough letters for words that look like words.
_GLYPHS: dict[str, list[list[Pt]]] = {
    "A": [[(0, 0), (2, 6), (4, 0)], [(1, 3), (3, 3)]],
    "B": [
        [(0, 0), (0, 6), (3, 6), (4, 5), (3, 3), (0, 3)],
        [(3, 3), (4, 1), (3, 0), (0, 0)],
    ],
    "C": [[(4, 5), (3, 6), (1, 6), (0, 5), (0, 1), (1, 0), (3, 0), (4, 1)]],
    "D": [[(0, 0), (0, 6), (3, 6), (4, 4), (4, 2), (3, 0), (0, 0)]],
    "E": [[(4, 6), (0, 6), (0, 0), (4, 0)], [(0, 3), (3, 3)]],
    "H": [[(0, 0), (0, 6)], [(4, 0), (4, 6)], [(0, 3), (4, 3)]],
    "I": [[(2, 0), (2, 6)], [(1, 6), (3, 6)], [(1, 0), (3, 0)]],
    "K": [[(0, 0), (0, 6)], [(4, 6), (0, 2)], [(1, 3), (4, 0)]],
    "L": [[(0, 6), (0, 0), (4, 0)]],
    "M": [[(0, 0), (0, 6), (2, 3), (4, 6), (4, 0)]],
    "N": [[(0, 0), (0, 6), (4, 0), (4, 6)]],
    "O": [[(1, 0), (0, 1), (0, 5), (1, 6), (3, 6), (4, 5), (4, 1), (3, 0), (1, 0)]],
    "P": [[(0, 0), (0, 6), (3, 6), (4, 5), (4, 4), (3, 3), (0, 3)]],
    "R": [[(0, 0), (0, 6), (3, 6), (4, 5), (4, 4), (3, 3), (0, 3)], [(2, 3), (4, 0)]],
    "S": [[(4, 5), (3, 6), (1, 6), (0, 5), (0, 4), (4, 2), (4, 1), (3, 0), (1, 0)]],
    "T": [[(0, 6), (4, 6)], [(2, 6), (2, 0)]],
    "U": [[(0, 6), (0, 1), (1, 0), (3, 0), (4, 1), (4, 6)]],
    "V": [[(0, 6), (2, 0), (4, 6)]],
    "W": [[(0, 6), (1, 0), (2, 4), (3, 0), (4, 6)]],
    "Y": [[(0, 6), (2, 3), (4, 6)], [(2, 3), (2, 0)]],
}
_WORDS = (
    "MAKER",
    "LAB",
    "WELCOME",
    "HELLO",
    "OPEN",
    "STUDIO",
    "KITCHEN",
    "WORKSHOP",
    "NAME",
    "TEAM",
    "BERLIN",
    "LJUBLJANA",
    "MUNICH",
    "SALE",
    "EXIT",
    "ROBOT",
)


def _doc(rng: random.Random) -> tuple[ezdxf.document.Drawing, Modelspace]:
    # Half of them in the generated parts' document setup (dimension styles,
    # linetypes, the same layer names), so that the setup tells neither apart.
    setup = rng.random() < 0.5
    doc = ezdxf.new(rng.choice(("R2000", "R2010", "R2018")), setup=setup)
    # Units as the generated parts have them (mostly mm, some inch), so that
    # the unit tells neither apart.
    doc.header["$INSUNITS"] = 1 if rng.random() < 0.15 else 4
    if setup:
        for name in ("CENTER", "TITLE", "NOTES"):
            _layer(doc, name)
        _layer(doc, rng.choice(_DIM_LAYERS))
        _layer(doc, rng.choice(_HATCH_LAYERS))
    return doc, doc.modelspace()


def _layer(doc: ezdxf.document.Drawing, name: str) -> str:
    if name not in doc.layers:
        doc.layers.add(name)
    return name


def _text(msp: Modelspace, rng: random.Random, s: str, at: Pt, h: float, layer: str):
    if rng.random() < 0.8:
        msp.add_text(s, height=h, dxfattribs={"layer": layer}).set_placement(at)


def _stroke_outline(a: Pt, b: Pt, w: float) -> list[Pt]:
    dx, dy = b[0] - a[0], b[1] - a[1]
    n = math.hypot(dx, dy) or 1.0
    ox, oy = -dy / n * w / 2, dx / n * w / 2
    return [
        (a[0] + ox, a[1] + oy),
        (b[0] + ox, b[1] + oy),
        (b[0] - ox, b[1] - oy),
        (a[0] - ox, a[1] - oy),
    ]


def _word(
    msp: Modelspace,
    rng: random.Random,
    word: str,
    x: float,
    y: float,
    h: float,
    layer: str,
    style: str,
) -> float:
    """Draw ``word`` at (x, y), letters ``h`` high; returns the x after it."""
    k = h / 6
    w = k * rng.uniform(0.6, 1.2)  # stroke width of an outline letter
    slant = rng.uniform(-0.25, 0.25)
    for ch in word:
        for stroke in _GLYPHS.get(ch, _GLYPHS["O"]):
            pts = [(x + (px + py * slant) * k, y + py * k) for px, py in stroke]
            if style == "stroke":
                msp.add_lwpolyline(pts, dxfattribs={"layer": layer})
            elif style == "spline" and len(pts) >= 3:
                msp.add_spline(pts, dxfattribs={"layer": layer})
            else:  # each stroke as a closed outline, as cut files hold letters
                for a, b in zip(pts, pts[1:], strict=False):
                    outline = _stroke_outline(a, b, w)
                    msp.add_lwpolyline(outline, close=True, dxfattribs={"layer": layer})
        x += 5.2 * k
    return x


def _lettering(doc, msp: Modelspace, rng: random.Random) -> None:
    layer = _layer(doc, rng.choice(("0", "CUT", "ENGRAVE", "TEXT", "Layer_1")))
    h = rng.uniform(5, 40)
    style = rng.choice(("outline", "outline", "stroke", "spline"))
    lines = rng.randint(1, 3)
    width = 0.0
    for row in range(lines):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(1, 3))]
        x = 0.0
        for word in words:
            x = _word(msp, rng, word, x, -row * h * 1.6, h, layer, style) + h
        width = max(width, x)
    if rng.random() < 0.6:  # a name tag or sign: a rounded board around it
        pad = h * rng.uniform(0.4, 1.0)
        x0, y0, x1, y1 = -pad, -(lines - 1) * h * 1.6 - pad, width, h + pad
        r = min(pad, (y1 - y0) / 3)
        board = [
            (x0 + r, y0),
            (x1 - r, y0),
            (x1, y0 + r),
            (x1, y1 - r),
            (x1 - r, y1),
            (x0 + r, y1),
            (x0, y1 - r),
            (x0, y0 + r),
        ]
        msp.add_lwpolyline(board, close=True, dxfattribs={"layer": layer})
        if rng.random() < 0.5:
            msp.add_circle((x0 + r, y1 - r), r * 0.3, dxfattribs={"layer": layer})


def _floor_plan(doc, msp: Modelspace, rng: random.Random) -> None:
    walls = _layer(doc, rng.choice(("WALLS", "A-WALL", "Wand", "0")))
    doors = _layer(doc, rng.choice(("DOORS", "A-DOOR", "Tuer")))
    text = _layer(doc, rng.choice(("TEXT", "A-ANNO", "ROOMS")))
    unit = rng.choice((1.0, 1000.0, 100.0))  # m, mm, cm
    xs = sorted({0.0, 15.0, *(rng.uniform(2, 14) for _ in range(rng.randint(1, 4)))})
    ys = sorted({0.0, 10.0, *(rng.uniform(2, 9) for _ in range(rng.randint(1, 3)))})
    t = rng.uniform(0.1, 0.3)
    stretch = rng.uniform(0.6, 1.5)
    xs = [x * unit * stretch for x in xs]
    ys = [y * unit for y in ys]
    for x in xs:  # walls as double lines
        for off in (0, t * unit):
            msp.add_line(
                (x + off, ys[0]), (x + off, ys[-1]), dxfattribs={"layer": walls}
            )
    for y in ys:
        for off in (0, t * unit):
            msp.add_line(
                (xs[0], y + off), (xs[-1], y + off), dxfattribs={"layer": walls}
            )
    names = ("Kitchen", "Bath", "Bedroom", "Living", "Office", "Küche", "Bad", "Hall")
    for i in range(len(xs) - 1):
        for j in range(len(ys) - 1):
            cx, cy = (xs[i] + xs[i + 1]) / 2, (ys[j] + ys[j + 1]) / 2
            _text(msp, rng, rng.choice(names), (cx, cy), 0.25 * unit, text)
            if rng.random() < 0.7:  # a door: leaf and swing
                d = 0.9 * unit
                px, py = (
                    xs[i] + t * unit,
                    ys[j] + rng.uniform(0.2, 0.6) * (ys[j + 1] - ys[j]),
                )
                msp.add_line((px, py), (px + d, py), dxfattribs={"layer": doors})
                msp.add_arc((px, py), d, 0, 90, dxfattribs={"layer": doors})
            if rng.random() < 0.3:  # furniture: a table and chairs
                w = rng.uniform(0.8, 1.6) * unit
                msp.add_lwpolyline(
                    [
                        (cx - w, cy - w / 2),
                        (cx + w, cy - w / 2),
                        (cx + w, cy + w / 2),
                        (cx - w, cy + w / 2),
                    ],
                    close=True,
                    dxfattribs={"layer": text},
                )
    if rng.random() < 0.5:  # a staircase
        x0, y0 = xs[0] + t * unit, ys[0] + t * unit
        for k in range(rng.randint(8, 16)):
            msp.add_line(
                (x0, y0 + k * 0.25 * unit),
                (x0 + unit, y0 + k * 0.25 * unit),
                dxfattribs={"layer": walls},
            )


def _resistor(msp, x: float, y: float, s: float, layer: str) -> tuple[Pt, Pt]:
    pts = [(x, y)] + [
        (x + s * (0.2 + 0.1 * k), y + (0.15 * s if k % 2 else -0.15 * s))
        for k in range(7)
    ]
    pts.append((x + s, y))
    msp.add_lwpolyline(pts, dxfattribs={"layer": layer})
    return (x, y), (x + s, y)


def _capacitor(msp, x: float, y: float, s: float, layer: str) -> tuple[Pt, Pt]:
    msp.add_line((x, y), (x + 0.45 * s, y), dxfattribs={"layer": layer})
    msp.add_line((x + 0.55 * s, y), (x + s, y), dxfattribs={"layer": layer})
    for cx in (0.45, 0.55):
        msp.add_line(
            (x + cx * s, y - 0.25 * s),
            (x + cx * s, y + 0.25 * s),
            dxfattribs={"layer": layer},
        )
    return (x, y), (x + s, y)


def _chip(msp, x: float, y: float, s: float, layer: str) -> tuple[Pt, Pt]:
    pins = 4
    msp.add_lwpolyline(
        [
            (x + 0.2 * s, y - s),
            (x + 0.8 * s, y - s),
            (x + 0.8 * s, y + s),
            (x + 0.2 * s, y + s),
        ],
        close=True,
        dxfattribs={"layer": layer},
    )
    for k in range(pins):
        yy = y - s + (k + 0.5) * 2 * s / pins
        msp.add_line((x, yy), (x + 0.2 * s, yy), dxfattribs={"layer": layer})
        msp.add_line((x + 0.8 * s, yy), (x + s, yy), dxfattribs={"layer": layer})
    return (x, y - s + s / pins), (x + s, y - s + s / pins)


def _schematic(doc, msp: Modelspace, rng: random.Random) -> None:
    sym = _layer(doc, rng.choice(("SYMBOLS", "0", "E-SYMB")))
    wire = _layer(doc, rng.choice(("WIRES", "NET", "0")))
    s = rng.uniform(5, 20)
    parts = (_resistor, _capacitor, _chip)
    prev: Pt | None = None
    cols, rows = rng.randint(3, 6), rng.randint(2, 4)
    for r in range(rows):
        for c in range(cols):
            x, y = c * 2.5 * s, r * 2.5 * s
            a, b = rng.choice(parts)(msp, x, y, s, sym)
            _text(
                msp,
                rng,
                f"{rng.choice('RCU')}{r * cols + c + 1}",
                (x, y + 0.4 * s),
                0.2 * s,
                sym,
            )
            if prev is not None:  # an orthogonal wire from the last pin
                mid = (prev[0], a[1])
                msp.add_lwpolyline([prev, mid, a], dxfattribs={"layer": wire})
                if rng.random() < 0.4:
                    msp.add_circle(mid, 0.05 * s, dxfattribs={"layer": wire})
            prev = b
    if rng.random() < 0.5:  # ground symbols
        for _ in range(rng.randint(1, 4)):
            gx, gy = rng.uniform(0, cols * 2.5 * s), -s
            for k, w in enumerate((0.3, 0.2, 0.1)):
                msp.add_line(
                    (gx - w * s, gy - k * 0.1 * s),
                    (gx + w * s, gy - k * 0.1 * s),
                    dxfattribs={"layer": sym},
                )


def _map(doc, msp: Modelspace, rng: random.Random) -> None:
    layers = [
        _layer(doc, n)
        for n in rng.sample(("ROADS", "RIVERS", "COAST", "BORDERS", "CONTOUR", "0"), 3)
    ]
    size = rng.uniform(1e3, 1e5)
    for _ in range(rng.randint(5, 30)):
        x, y = rng.uniform(0, size), rng.uniform(0, size)
        heading = rng.uniform(0, 2 * math.pi)
        step = size / rng.uniform(50, 400)
        pts = []
        for _ in range(rng.randint(20, 200)):
            heading += rng.gauss(0, 0.35)
            x, y = x + step * math.cos(heading), y + step * math.sin(heading)
            pts.append((x, y))
        msp.add_lwpolyline(
            pts, close=rng.random() < 0.3, dxfattribs={"layer": rng.choice(layers)}
        )
    for _ in range(rng.randint(0, 12)):
        _text(
            msp,
            rng,
            rng.choice(_WORDS).title(),
            (rng.uniform(0, size), rng.uniform(0, size)),
            size / 80,
            layers[0],
        )


def _layout(doc, msp: Modelspace, rng: random.Random) -> None:
    """Furniture or a site plan: many boxes and round tables scattered about."""
    layer = _layer(doc, rng.choice(("FURNITURE", "TENTS", "STANDS", "0")))
    size = rng.uniform(10, 200)
    for _ in range(rng.randint(10, 60)):
        x, y = rng.uniform(0, size), rng.uniform(0, size * 0.6)
        w, h = rng.uniform(0.5, 6) * size / 50, rng.uniform(0.5, 6) * size / 50
        if rng.random() < 0.3:
            msp.add_circle((x, y), w / 2, dxfattribs={"layer": layer})
        else:
            msp.add_lwpolyline(
                [(x, y), (x + w, y), (x + w, y + h), (x, y + h)],
                close=True,
                dxfattribs={"layer": layer},
            )
        if rng.random() < 0.3:
            _text(msp, rng, rng.choice(_WORDS).title(), (x, y), size / 100, layer)
    if rng.random() < 0.6:  # the site's boundary
        msp.add_lwpolyline(
            [(0, 0), (size, 0), (size, size * 0.6), (0, size * 0.6)],
            close=True,
            dxfattribs={"layer": layer},
        )


def _pcb(doc, msp: Modelspace, rng: random.Random) -> None:
    tracks = _layer(doc, rng.choice(("TOP", "BOTTOM", "COPPER", "Cu")))
    pads = _layer(doc, rng.choice(("PADS", "DRILL", "TOP")))
    size = rng.uniform(20, 120)
    grid = size / rng.randint(10, 30)
    nodes = [
        (rng.randint(0, 30) * grid, rng.randint(0, 20) * grid)
        for _ in range(rng.randint(10, 60))
    ]
    for x, y in nodes:
        if rng.random() < 0.6:
            msp.add_circle((x, y), grid * 0.3, dxfattribs={"layer": pads})
        else:
            d = grid * 0.3
            msp.add_lwpolyline(
                [(x - d, y - d), (x + d, y - d), (x + d, y + d), (x - d, y + d)],
                close=True,
                dxfattribs={"layer": pads},
            )
    for a, b in zip(nodes, nodes[1:], strict=False):
        if rng.random() < 0.7:  # 45-degree routed tracks with a width
            dx, dy = b[0] - a[0], b[1] - a[1]
            k = min(abs(dx), abs(dy))
            mid = (a[0] + math.copysign(k, dx), a[1] + math.copysign(k, dy))
            pl = msp.add_lwpolyline([a, mid, b], dxfattribs={"layer": tracks})
            pl.dxf.const_width = grid * 0.15


_SHEET_WORDS = (
    "NOTES",
    "GENERAL",
    "PARTS LIST",
    "ITEM",
    "QTY",
    "DESCRIPTION",
    "REVISION",
    "APPROVED",
    "Stückliste",
    "Benennung",
    "Menge",
    "Änderung",
    "明细表",
    "名称",
    "数量",
    "备注",
    "Lorem ipsum dolor sit amet",
    "The quick brown fox",
    "see sheet 2",
    "Kosovnica",
    "Opomba",
    "Alignment",
    "Middle Center",
)


def _sheet(doc, msp: Modelspace, rng: random.Random) -> None:
    """Text and nothing drawn: a page of notes, a parts list in ruled rows,
    text samples; what a title sheet or a font test holds."""
    layer = _layer(doc, rng.choice(("0", "TEXT", "NOTES", "TABLE")))
    h = rng.uniform(2, 10)
    rows, cols = rng.randint(6, 25), rng.randint(1, 4)
    ruled = rng.random() < 0.4
    width = h * rng.uniform(12, 30)
    for r in range(rows):
        y = -r * h * 1.8
        for c in range(cols):
            text = " ".join(rng.sample(_SHEET_WORDS, rng.randint(1, 3)))
            at = (c * width, y)
            if rng.random() < 0.3:
                msp.add_mtext(
                    text, dxfattribs={"layer": layer, "char_height": h}
                ).set_location(at)
            else:
                msp.add_text(
                    text,
                    height=h,
                    rotation=rng.choice((0, 0, 0, 30, 90)),
                    dxfattribs={"layer": layer},
                ).set_placement(at)
        if ruled:
            msp.add_line(
                (-h, y - h * 0.4),
                (cols * width, y - h * 0.4),
                dxfattribs={"layer": layer},
            )
    if ruled:
        for c in range(cols + 1):
            x = c * width - h
            msp.add_line(
                (x, h * 1.4),
                (x, -rows * h * 1.8 + h * 1.4),
                dxfattribs={"layer": layer},
            )


def _flowchart(doc, msp: Modelspace, rng: random.Random) -> None:
    """Boxes, decision diamonds and rounded terminals joined by arrows."""
    layer = _layer(doc, rng.choice(("0", "FLOW", "DIAGRAM")))
    w, h = rng.uniform(20, 60), rng.uniform(8, 20)
    n, gap = rng.randint(3, 9), rng.uniform(1.5, 2.5)
    for i in range(n):
        x, y = rng.choice((0.0, 0.0, 1.6 * w)), -i * h * gap
        shape = "terminal" if i in (0, n - 1) else rng.choice(("box", "box", "diamond"))
        if shape == "diamond":
            pts = [(x, y + h / 2, 0.0), (x + w / 2, y, 0.0), (x, y - h / 2, 0.0)]
            pts.append((x - w / 2, y, 0.0))
        else:  # a box, or a terminal: half circles at both ends
            r, k = (h / 2, 1.0) if shape == "terminal" else (0.0, 0.0)
            pts = [(x - w / 2 + r, y - h / 2, 0.0), (x + w / 2 - r, y - h / 2, k)]
            pts += [(x + w / 2 - r, y + h / 2, 0.0), (x - w / 2 + r, y + h / 2, k)]
        msp.add_lwpolyline(pts, format="xyb", close=True, dxfattribs={"layer": layer})
        _text(
            msp,
            rng,
            rng.choice(("START", "END", "CHECK", "IF OK", "Prüfen", "开始", "LOOP")),
            (x - w / 3, y),
            h * 0.3,
            layer,
        )
        if i:  # an arrow from the shape above
            top, bottom = (x, y + h / 2), (x, y + h * gap - h / 2)
            msp.add_line(bottom, top, dxfattribs={"layer": layer})
            msp.add_lwpolyline(
                [
                    (x - h * 0.15, top[1] + h * 0.3),
                    top,
                    (x + h * 0.15, top[1] + h * 0.3),
                ],
                dxfattribs={"layer": layer},
            )


def _symbol(doc, msp: Modelspace, rng: random.Random) -> None:
    """One symbol of a symbol library (a switch, a lamp, a motor, an earth, a
    valve), a few strokes, sometimes in a block with attributes."""
    s = rng.uniform(2, 20)
    layer = _layer(doc, rng.choice(("0", "SYMBOL", "E-SYMB")))
    strokes: list[tuple[Pt, Pt]] = [((-s, 0), (-s / 2, 0)), ((s / 2, 0), (s, 0))]
    kind = rng.choice(("switch", "lamp", "motor", "earth", "valve"))
    circles: list[tuple[Pt, float]] = []
    if kind == "switch":
        strokes.append(((-s / 2, 0), (s / 2 * 0.9, s * 0.35)))
    elif kind in ("lamp", "motor"):
        circles.append(((0.0, 0.0), s / 2))
        if kind == "lamp":
            d = s / 2 * 0.7
            strokes += [((-d, -d), (d, d)), ((-d, d), (d, -d))]
    elif kind == "earth":
        strokes = [((0, s), (0, 0))] + [
            ((-s * w, -k * s * 0.2), (s * w, -k * s * 0.2))
            for k, w in enumerate((0.5, 0.33, 0.16))
        ]
    else:
        strokes += [
            ((-s / 2, -s / 3), (s / 2, s / 3)),
            ((-s / 2, s / 3), (s / 2, -s / 3)),
            ((-s / 2, -s / 3), (-s / 2, s / 3)),
            ((s / 2, -s / 3), (s / 2, s / 3)),
        ]
    target = msp
    if rng.random() < 0.5:
        target = doc.blocks.new(name=f"SYM_{kind.upper()}_{rng.randint(1, 999)}")
    for a, b in strokes:
        target.add_line(a, b, dxfattribs={"layer": layer})
    for c, r in circles:
        target.add_circle(c, r, dxfattribs={"layer": layer})
    if kind == "motor":
        target.add_text("M", height=s * 0.4, dxfattribs={"layer": layer}).set_placement(
            (-s * 0.15, -s * 0.2)
        )
    if target is not msp:
        ref = msp.add_blockref(target.name, (0, 0))
        if rng.random() < 0.6:
            ref.add_attrib("TAG", rng.choice(("S1", "H2", "M1", "PE", "Y3")), (s, s))
    _text(
        msp,
        rng,
        rng.choice(("-S1", "-H1", "-M2", "PE", "-Y1")),
        (-s, s * 0.7),
        s * 0.25,
        layer,
    )


def _sample(doc, msp: Modelspace, rng: random.Random) -> None:
    """A CAD library's test or sample file: one to six entities of assorted
    types (a line, a circle, an ellipse, a spline, a text, a point, a
    hatch) at random, drawing nothing in particular."""
    s = rng.uniform(1, 100)
    layer = _layer(doc, rng.choice(("0", "TEST", "Layer1", "SAMPLE")))

    def at() -> Pt:
        return (rng.uniform(-s, s), rng.uniform(-s, s))

    def line() -> None:
        msp.add_line(at(), at(), dxfattribs={"layer": layer})

    def circle() -> None:
        msp.add_circle(at(), rng.uniform(0.05, 0.5) * s, dxfattribs={"layer": layer})

    def ellipse() -> None:
        msp.add_ellipse(
            (*at(), 0),
            major_axis=(rng.uniform(0.1, 0.6) * s, rng.uniform(-0.2, 0.2) * s, 0),
            ratio=rng.uniform(0.2, 0.9),
            dxfattribs={"layer": layer},
        )

    def spline() -> None:
        msp.add_spline(
            [at() for _ in range(rng.randint(3, 6))], dxfattribs={"layer": layer}
        )

    def text() -> None:
        words = ("TEST", "Hello", "Sample", "ezdxf", "ABC", "1234", "Text")
        msp.add_text(
            rng.choice(words),
            height=s * rng.uniform(0.02, 0.2),
            dxfattribs={"layer": layer},
        ).set_placement(at())

    def point() -> None:
        msp.add_point(at(), dxfattribs={"layer": layer})

    def hatch() -> None:
        x, y = at()
        w, h = rng.uniform(0.1, 0.5) * s, rng.uniform(0.1, 0.5) * s
        filled = msp.add_hatch(color=rng.randint(1, 7), dxfattribs={"layer": layer})
        filled.paths.add_polyline_path([(x, y), (x + w, y), (x + w, y + h), (x, y + h)])

    makers = (line, circle, ellipse, spline, text, point, hatch)
    for _ in range(rng.randint(1, 6)):
        rng.choice(makers)()


def _fill_path(target, pts: list[Pt], layer: str) -> None:
    filled = target.add_hatch(dxfattribs={"layer": layer})  # SOLID by default
    filled.paths.add_polyline_path(pts, is_closed=True)


def _fill_circle(target, c: Pt, r: float, layer: str) -> None:
    filled = target.add_hatch(dxfattribs={"layer": layer})
    filled.paths.add_edge_path().add_arc(c, r, 0, 360)


# The kinds whose libraries fill shapes solid: letters of signs, a map's
# lakes and blocks, a PCB's pads, a schematic's junction dots and diodes,
# flowchart arrowheads, symbols' dots and triangles. A part drawing hatches
# its sections with a pattern; solid fills are what these drawings have.
_FILLED_KINDS = {
    "lettering": 0.4,
    "map": 0.3,
    "pcb": 0.5,
    "schematic": 0.5,
    "flowchart": 0.4,
    "symbol": 0.5,
    "layout": 0.2,
}


def _solid_fills(doc, msp: Modelspace, kind: str, rng: random.Random) -> None:
    """Fill some of the closed shapes already drawn (keeping their outline
    or not), and give symbols and schematics a few filled marks."""
    if rng.random() >= _FILLED_KINDS.get(kind, 0.0):
        return
    share = rng.uniform(0.3, 1.0)
    keep_outline = rng.random() < 0.6
    layouts = [msp, *(b for b in doc.blocks if not b.name.startswith("*"))]
    for target in layouts:
        for e in list(target):
            layer = e.dxf.layer
            if rng.random() >= share:
                continue
            if e.dxftype() == "CIRCLE":
                _fill_circle(target, tuple(e.dxf.center)[:2], e.dxf.radius, layer)
            elif e.dxftype() == "LWPOLYLINE":
                pts = [(p[0], p[1]) for p in e.get_points("xy")]
                # closed shapes, and the three-point arrowheads of flowcharts
                if not (e.closed or (kind == "flowchart" and len(pts) == 3)):
                    continue
                if len(pts) < 3:
                    continue
                _fill_path(target, pts, layer)
            else:
                continue
            if not keep_outline:
                target.delete_entity(e)
    if kind in ("symbol", "schematic"):
        box = ezdxf.bbox.extents(msp, fast=True)
        if not box.has_data:
            return
        size = max(box.size.x, box.size.y, 1e-6)
        for _ in range(rng.randint(1, 4)):
            x = rng.uniform(box.extmin.x, box.extmax.x)
            y = rng.uniform(box.extmin.y, box.extmax.y)
            d = size * rng.uniform(0.03, 0.15)
            if rng.random() < 0.5:  # a dot
                _fill_circle(msp, (x, y), d / 2, "0")
            else:  # a triangle: a diode's, an arrow's head
                a = rng.uniform(0, 2 * math.pi)
                tri = [
                    (
                        x + d * math.cos(a + k * 2 * math.pi / 3),
                        y + d * math.sin(a + k * 2 * math.pi / 3),
                    )
                    for k in range(3)
                ]
                _fill_path(msp, tri, "0")
                if rng.random() < 0.5:
                    msp.add_lwpolyline(tri, close=True)


_KINDS: dict[str, Callable] = {
    "lettering": _lettering,
    "floor_plan": _floor_plan,
    "schematic": _schematic,
    "map": _map,
    "layout": _layout,
    "pcb": _pcb,
    "sheet": _sheet,
    "flowchart": _flowchart,
    "symbol": _symbol,
    "sample": _sample,
}
OTHER_KINDS: tuple[str, ...] = tuple(_KINDS)


def generate_other(rng: random.Random, kind: str | None = None) -> bytes:
    """A drawing of another domain (``kind`` from ``OTHER_KINDS``, else at random)."""
    kind = kind or rng.choice(OTHER_KINDS)
    # As generate_part: fixed metadata, so the same seed gives the same bytes.
    fixed = ezdxf.options.write_fixed_meta_data_for_testing
    ezdxf.options.write_fixed_meta_data_for_testing = True
    try:
        # Fills are decided by a generator of their own, seeded from this
        # one's state without drawing from it: every drawing is otherwise
        # what it was.
        fills = random.Random(hash(rng.getstate()[1]))
        doc, msp = _doc(rng)
        _KINDS[kind](doc, msp, rng)
        _solid_fills(doc, msp, kind, fills)
        out = io.StringIO()
        doc.write(out)
        return doc.encode(out.getvalue())
    finally:
        ezdxf.options.write_fixed_meta_data_for_testing = fixed
