"""Drawing generator behind ``apps.cad.synth.generate_part``."""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable, Sequence

import ezdxf
from ezdxf.document import Drawing as DxfDocument
from ezdxf.entities import LWPolyline
from ezdxf.layouts import Modelspace
from ezdxf.math import Vec2, bulge_to_arc

PART_CLASSES: tuple[str, ...] = (
    "flange",
    "spur_gear",
    "stepped_shaft",
    "l_bracket",
    "hole_plate",
    "washer",
    "bushing",
    "hex_nut",
    "pulley",
    "housing",
    "hex_bolt",
    "ball_bearing",
    "compression_spring",
    "dowel_pin",
)

_OUTLINE_LAYERS = ("0", "OUTLINE", "VISIBLE", "轮廓线", "KONTUR", "PART")
_DIM_LAYERS = ("DIM", "DIMENSIONS", "标注", "BEMASSUNG")
_HATCH_LAYERS = ("HATCH", "SECTION", "剖面线")
_MATERIALS = ("S235JR", "C45", "42CrMo4", "AlMg3", "6061-T6", "Q235", "45钢", "HT200")
_AUTHORS = ("J. Smith", "A. Müller", "张伟", "李娜", "K. Tanaka", "M. Rossi")
_COMPANIES = ("ACME GmbH", "Globex Ltd", "北京机械厂", "Initech", "上海精密")
_NAMES = {
    "flange": ("FLANGE", "法兰", "Flansch"),
    "spur_gear": ("SPUR GEAR", "直齿轮", "Stirnrad"),
    "stepped_shaft": ("SHAFT", "阶梯轴", "Welle"),
    "l_bracket": ("BRACKET", "支架", "Winkel"),
    "hole_plate": ("PLATE", "孔板", "Lochplatte"),
    "washer": ("WASHER", "垫圈", "Scheibe"),
    "bushing": ("BUSHING", "轴套", "Buchse"),
    "hex_nut": ("HEX NUT", "六角螺母", "Mutter"),
    "pulley": ("PULLEY", "带轮", "Riemenscheibe"),
    "housing": ("HOUSING", "壳体", "Gehäuse"),
    "hex_bolt": ("HEX BOLT", "六角头螺栓", "Sechskantschraube"),
    "ball_bearing": ("BALL BEARING", "深沟球轴承", "Rillenkugellager"),
    "compression_spring": ("COMPRESSION SPRING", "压缩弹簧", "Druckfeder"),
    "dowel_pin": ("DOWEL PIN", "圆柱销", "Zylinderstift"),
}
# (English, Chinese) labels of the title block fields.
_LABELS = {
    "drawing_number": ("DWG NO.", "图号"),
    "part_name": ("NAME", "名称"),
    "material": ("MATERIAL", "材料"),
    "scale": ("SCALE", "比例"),
    "revision": ("REV", "版本"),
    "date": ("DATE", "日期"),
    "drawn_by": ("DRAWN", "设计"),
    "sheet": ("SHEET", "张"),
    "weight": ("WEIGHT", "重量"),
    "company": ("COMPANY", "单位"),
}


class Pen:
    """Draws in a view frame: rotation about and offset from the origin."""

    def __init__(
        self, msp: Modelspace, rng: random.Random, angle: float, layers: dict[str, str]
    ) -> None:
        self.msp = msp
        self.rng = rng
        self.cos, self.sin = math.cos(angle), math.sin(angle)
        self.angle = math.degrees(angle)
        self.layers = layers
        self.offset = Vec2(0, 0)
        # Set by the conventions: draw the front view only (geometry past
        # ``front_limit`` along the view's x axis is left out), and let the
        # drawers use other tools' ways of writing the same part.
        self.front_limit = math.inf
        self.varied = False
        # Text a drawer writes about the part (gear data), which files of
        # one view often keep: (text, insertion point, height).
        self.notes: list[tuple[str, Vec2, float]] = []

    def _front(self, xs: Sequence[float]) -> bool:
        return max(xs) <= self.front_limit

    def p(self, x: float, y: float) -> Vec2:
        x, y = x + self.offset.x, y + self.offset.y
        return Vec2(x * self.cos - y * self.sin, x * self.sin + y * self.cos)

    def line(self, a: tuple[float, float], b: tuple[float, float], layer: str = "o"):
        if not self._front((a[0], b[0])):
            return
        self.msp.add_line(
            self.p(*a), self.p(*b), dxfattribs={"layer": self.layers[layer]}
        )

    def circle(self, c: tuple[float, float], r: float, layer: str = "o") -> None:
        if not self._front((c[0] + r,)):
            return
        self.msp.add_circle(self.p(*c), r, dxfattribs={"layer": self.layers[layer]})

    def arc(self, c: tuple[float, float], r: float, a0: float, a1: float) -> None:
        """An outline arc from ``a0`` to ``a1`` degrees, counter-clockwise."""
        if not self._front((c[0] + r,)):
            return
        self.msp.add_arc(
            self.p(*c),
            r,
            a0 + self.angle,
            a1 + self.angle,
            dxfattribs={"layer": self.layers["o"]},
        )

    def spline(self, fit: Sequence[tuple[float, float]]) -> None:
        if not self._front([q[0] for q in fit]):
            return
        self.msp.add_spline(
            [self.p(*q) for q in fit], dxfattribs={"layer": self.layers["o"]}
        )

    def poly(self, pts: Sequence[tuple[float, float]], closed: bool = True) -> None:
        if not self._front([q[0] for q in pts]):
            return
        self.msp.add_lwpolyline(
            [self.p(*q) for q in pts],
            close=closed,
            dxfattribs={"layer": self.layers["o"]},
        )

    def rect(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self.poly([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])

    def contour(
        self, pts: Sequence[tuple[float, float, float]], segments: bool
    ) -> None:
        """A closed contour of ``(x, y, bulge)`` points (a bulge curves the
        edge to the next point), as one LWPOLYLINE or, as many exporters
        write it, as separate LINEs and ARCs."""
        if not self._front([q[0] for q in pts]):
            return
        if not segments:
            self.msp.add_lwpolyline(
                [(*self.p(x, y), 0, 0, k) for x, y, k in pts],
                format="xyseb",
                close=True,
                dxfattribs={"layer": self.layers["o"]},
            )
            return
        for (x0, y0, k), (x1, y1, _) in zip(pts, [*pts[1:], pts[0]], strict=True):
            if k == 0:
                self.line((x0, y0), (x1, y1))
                continue
            c, a0, a1, r = bulge_to_arc((x0, y0), (x1, y1), k)
            self.arc((c.x, c.y), r, math.degrees(a0), math.degrees(a1))

    def slot(
        self, c: tuple[float, float], length: float, width: float, vertical: bool
    ) -> None:
        """An obround slot: two half circles joined by straight sides."""
        h, r = length / 2 - width / 2, width / 2
        pts = [(-h, -r), (h, -r), (h, r), (-h, r)]
        if vertical:
            pts = [(-y, x) for x, y in pts]
        self.contour(
            [
                (c[0] + x, c[1] + y, 1.0 if i % 2 else 0.0)
                for i, (x, y) in enumerate(pts)
            ],
            segments=self.rng.random() < 0.5,
        )

    def hatch_rect(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self.hatch_poly([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])

    def hatch_poly(self, pts: Sequence[tuple[float, float]]) -> None:
        if not self._front([q[0] for q in pts]):
            return
        h = self.msp.add_hatch(dxfattribs={"layer": self.layers["h"]})
        h.set_pattern_fill("ANSI31", scale=0.5 + self.rng.random())
        h.paths.add_polyline_path([self.p(*q) for q in pts], is_closed=True)

    def centre_cross(self, c: tuple[float, float], r: float) -> None:
        e = r * 1.15
        self.line((c[0] - e, c[1]), (c[0] + e, c[1]), "c")
        self.line((c[0], c[1] - e), (c[0], c[1] + e), "c")

    def dim(self, a: tuple[float, float], b: tuple[float, float], dist: float) -> None:
        if not self._front((a[0], b[0])):
            return
        d = self.msp.add_aligned_dim(
            p1=self.p(*a),
            p2=self.p(*b),
            distance=dist,
            dxfattribs={"layer": self.layers["d"]},
        )
        d.render()

    def dia(self, c: tuple[float, float], r: float, text: str = "<>") -> None:
        d = self.msp.add_diameter_dim(
            center=self.p(*c),
            radius=r,
            angle=self.angle + self.rng.uniform(20, 70),
            text=text,
            dxfattribs={"layer": self.layers["d"]},
        )
        d.render()


def _ring(n: int, r: float, phase: float = 0.0) -> list[tuple[float, float]]:
    return [
        (
            r * math.cos(phase + 2 * math.pi * i / n),
            r * math.sin(phase + 2 * math.pi * i / n),
        )
        for i in range(n)
    ]


def _side_section(pen: Pen, x0: float, width: float, rings: list[tuple[float, float]]):
    """Section view of a turned part: hatched walls between radius pairs."""
    for r_in, r_out in rings:
        pen.rect(x0, -r_out, x0 + width, r_out)
        pen.hatch_rect(x0, r_in, x0 + width, r_out)
        pen.hatch_rect(x0, -r_out, x0 + width, -r_in)
    pen.line((x0 - 5, 0), (x0 + width + 5, 0), "c")


def _flange(pen: Pen, rng: random.Random, s: float) -> float:
    ro, rb = s / 2, s * rng.uniform(0.12, 0.25)
    n = rng.choice((4, 6, 8, 12))
    rp, rh = (ro + rb) / 2 * rng.uniform(1.0, 1.15), s * rng.uniform(0.03, 0.06)
    pen.circle((0, 0), ro)
    pen.circle((0, 0), rb)
    pen.circle((0, 0), rp, "c")
    for c in _ring(n, rp, rng.uniform(0, 1)):
        pen.circle(c, rh)
        pen.centre_cross(c, rh)
    pen.centre_cross((0, 0), ro)
    pen.dia((0, 0), ro)
    pen.dia((0, 0), rb, f"%%c{rb * 2:.1f} H7")
    t = s * rng.uniform(0.1, 0.25)
    _side_section(pen, ro * 1.6, t, [(rb, ro)])
    pen.dim((ro * 1.6, ro), (ro * 1.6 + t, ro), s * 0.1)
    return ro


def _gear(pen: Pen, rng: random.Random, s: float) -> float:
    z = rng.randint(8, 100) if pen.varied else rng.randint(14, 40)
    ro = s / 2
    m = 2 * ro / (z + 2)
    rr = ro - 2.25 * m
    style = rng.choice(("poly", "arcs", "lines")) if pen.varied else "poly"
    # Gear generators write curved flanks point by point (one polyline, or
    # LINEs), or as ARCs (Fusion's spur gear, many laser-cut files).
    curved = pen.varied and rng.random() < 0.5
    if style == "arcs":
        _arc_teeth(pen, z, ro, rr, arc_flanks=curved)
    else:
        pts: list[tuple[float, float]] = []
        w = math.pi / z
        steps = (
            ((-0.55, rr), (-0.3, ro), (0.3, ro), (0.55, rr))
            if style == "poly" and not curved
            else tuple(
                (f, rr + (ro - rr) * (1 - abs(f) / 0.55) ** 0.6)
                for f in (
                    -0.55,
                    -0.45,
                    -0.36,
                    -0.3,
                    -0.15,
                    0.0,
                    0.15,
                    0.3,
                    0.36,
                    0.45,
                    0.55,
                )
            )
        )
        for i in range(z):
            a = 2 * math.pi * i / z
            for f, r in steps:
                pts.append((r * math.cos(a + f * w), r * math.sin(a + f * w)))
        if style == "poly":
            pen.poly(pts)
        else:
            for q0, q1 in zip(pts, pts[1:] + pts[:1], strict=True):
                pen.line(q0, q1)
    rb = ro * (rng.uniform(0.03, 0.5) if pen.varied else rng.uniform(0.15, 0.3))
    # Gear generators (and the cut files made with them) mostly write the
    # toothed outline alone, else with a plain bore.
    bore = not pen.varied or rng.random() < (
        0.4 if pen.front_limit < math.inf else 0.75
    )
    if bore:
        pen.circle((0, 0), rb)
    pen.circle((0, 0), ro - m, "c")
    pen.centre_cross((0, 0), ro)
    kw = rb * 0.4
    if bore and (not pen.varied or rng.random() < 0.5):
        pen.poly(
            [
                (-kw / 2, rb * 0.9),
                (-kw / 2, rb * 1.25),
                (kw / 2, rb * 1.25),
                (kw / 2, rb * 0.9),
            ],
            False,
        )
    pen.dia((0, 0), ro)
    t = s * rng.uniform(0.15, 0.35)
    _side_section(pen, ro * 1.6, t, [(rb, ro)])
    pen.dim((ro * 1.6, -ro), (ro * 1.6 + t, -ro), -s * 0.1)
    lines = _gear_data(rng, m, z) if pen.varied else [f"m={m:.2f} z={z}"]
    for i, line in enumerate(lines):
        at = pen.p(-ro, -ro * 1.3 - i * s * 0.05)
        pen.notes.append((line, at, s * 0.03))
        pen.msp.add_text(
            line, height=s * 0.03, dxfattribs={"layer": pen.layers["d"]}
        ).set_placement(at)
    return ro


def _gear_data(rng: random.Random, m: float, z: int) -> list[str]:
    """The gear data gear drawings and generators print beside the wheel."""
    alpha = rng.choice((20, 20, 14.5, 25))
    return rng.choice(
        (
            [f"Module: {m:.2f}", f"Number of Teeth: {z}", f"Pressure Angle: {alpha}"],
            [
                f"Diametral Pitch: {25.4 / m:.4f}",
                f"Number Of Teeth: {z}",
                f"Pressure Angle: {alpha}",
            ],
            [f"Modul m = {m:.2f}", f"Zähnezahl z = {z}", f"Eingriffswinkel {alpha}°"],
            [f"模数 m={m:.2f}", f"齿数 z={z}", f"压力角 α={alpha}°"],
            [f"m={m:.2f} z={z}"],
        )
    )


def _arc_teeth(
    pen: Pen, z: int, ro: float, rr: float, *, arc_flanks: bool = False
) -> None:
    """Teeth as gear generators write them: tip and root lands as ARCs about the
    centre, flanks as SPLINEs (or, ``arc_flanks``, as ARCs bulging out of the
    tooth as an involute does)."""
    w = math.pi / z
    for i in range(z):
        a = 2 * math.pi * i / z
        tip0, tip1 = a - 0.3 * w, a + 0.3 * w
        root0, root1 = a + 0.55 * w, a + 2 * w - 0.55 * w
        for r, a0, a1 in ((ro, tip0, tip1), (rr, root0, root1)):
            pen.arc((0, 0), r, math.degrees(a0), math.degrees(a1))
        for (r0, b0), (r1, b1) in (
            ((rr, a - 0.55 * w), (ro, tip0)),
            ((ro, tip1), (rr, a + 0.55 * w)),
        ):
            mid_r, mid_b = (r0 + r1) / 2, (b0 + b1) / 2
            p0 = (r0 * math.cos(b0), r0 * math.sin(b0))
            p1 = (r1 * math.cos(b1), r1 * math.sin(b1))
            if arc_flanks:
                _arc_through(pen, p0, p1, a)
                continue
            pen.spline(
                [
                    (r0 * math.cos(b0), r0 * math.sin(b0)),
                    (mid_r * math.cos(mid_b), mid_r * math.sin(mid_b)),
                    (r1 * math.cos(b1), r1 * math.sin(b1)),
                ]
            )


def _arc_through(
    pen: Pen, p0: tuple[float, float], p1: tuple[float, float], axis: float
) -> None:
    """An ARC from ``p0`` to ``p1`` bulging away from the tooth's axis (the
    direction ``axis``) by a tenth of the chord."""
    mx, my = (p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2
    dx, dy = p1[0] - p0[0], p1[1] - p0[1]
    chord = math.hypot(dx, dy)
    if chord == 0:
        return
    nx, ny = -dy / chord, dx / chord
    ax, ay = math.cos(axis), math.sin(axis)
    # Bulge away from the tooth's centre line: the normal on the chord's side.
    if (ax * ny - ay * nx) * (ax * my - ay * mx) < 0:
        nx, ny = -nx, -ny
    h = 0.1 * chord  # the bulge (sagitta)
    r = (chord**2 / 4 + h**2) / (2 * h)
    cx, cy = mx - nx * (r - h), my - ny * (r - h)
    a0 = math.degrees(math.atan2(p0[1] - cy, p0[0] - cx))
    a1 = math.degrees(math.atan2(p1[1] - cy, p1[0] - cx))
    # Counter-clockwise through the bulge: start at whichever end makes it.
    mid = math.degrees(math.atan2(my + ny * h - cy, mx + nx * h - cx))
    if (mid - a0) % 360 > (a1 - a0) % 360:
        a0, a1 = a1, a0
    pen.arc((cx, cy), r, a0, a1)


def _timing_teeth(pen: Pen, rng: random.Random, ro: float) -> None:
    """A timing pulley's front: round-bottomed grooves between flat lands."""
    n = rng.randint(10, 48)
    w = 2 * math.pi / n
    groove = w * rng.uniform(0.35, 0.5)
    rg = ro * math.sin(groove / 2)  # the groove's round bottom
    # Belt standards fix a groove's depth, not its share of the radius: MXL,
    # T5 and GT2 grooves are 1.5 to 2.4 radii over the tooth count deep.
    depth = max(ro * rng.uniform(1.4, 2.5) / n, rg * 1.2)
    for i in range(n):
        a = w * i
        pen.arc(
            (0, 0), ro, math.degrees(a + groove / 2), math.degrees(a + w - groove / 2)
        )
        rc = ro - depth + rg
        c = (rc * math.cos(a), rc * math.sin(a))
        pen.arc(c, rg, math.degrees(a) + 90, math.degrees(a) + 270)
        for side in (-1, 1):  # the straight flanks from land to bottom
            t = a + side * groove / 2
            q = (c[0] - side * rg * math.sin(a), c[1] + side * rg * math.cos(a))
            pen.line((ro * math.cos(t), ro * math.sin(t)), q)


def _shaft(pen: Pen, rng: random.Random, s: float) -> float:
    steps = rng.randint(3, 5)
    x = 0.0
    radii = []
    r = s * rng.uniform(0.06, 0.12)
    for i in range(steps):
        length = s * rng.uniform(0.12, 0.35)
        r = (
            r * rng.uniform(1.15, 1.5)
            if i < steps // 2 + 1
            else r / rng.uniform(1.15, 1.4)
        )
        radii.append(r)
        pen.rect(x, -r, x + length, r)
        if i in (0, steps - 1):
            pen.dim((x, r), (x + length, r), r + s * 0.05)
        x += length
    pen.line((-5, 0), (x + 5, 0), "c")
    pen.msp.add_text(
        f"M{int(radii[0] * 2)}x1.5",
        height=s * 0.025,
        dxfattribs={"layer": pen.layers["d"]},
    ).set_placement(pen.p(0, -radii[0] - s * 0.06))
    cx = x + max(radii) * 1.6
    for r in radii:
        pen.circle((cx, 0), r)
    pen.centre_cross((cx, 0), max(radii))
    pen.dia((cx, 0), max(radii))
    return max(x, cx)


def _bracket(pen: Pen, rng: random.Random, s: float) -> float:
    if pen.varied and rng.random() < 0.6:
        return _cut_bracket(pen, rng, s)
    a, b = s, s * rng.uniform(0.5, 1.0)
    t = s * rng.uniform(0.08, 0.15)
    pen.poly([(0, 0), (a, 0), (a, t), (t, t), (t, b), (0, b)])
    pen.dim((0, 0), (a, 0), -s * 0.1)
    pen.dim((0, 0), (0, b), s * 0.1)
    w = s * rng.uniform(0.4, 0.8)
    x0 = a * 1.3
    pen.rect(x0, 0, x0 + w, a)
    n = rng.randint(1, 3)
    rh = min(w, a) * 0.06
    for i in range(n):
        c = (x0 + w / 2, a * (i + 1) / (n + 1))
        pen.circle(c, rh)
        pen.centre_cross(c, rh)
    pen.line((t / 2, t), (t / 2, b), "c")
    return x0 + w


def _cut_bracket(pen: Pen, rng: random.Random, s: float) -> float:
    """An angle bracket as other tools draw it: the L profile, perhaps with
    a gusset and a fillet, and the arms seen from above and the side with
    holes or slots; or its flat pattern, an L-shaped plate with holes."""
    a, b = s, s * rng.uniform(0.5, 1.0)
    t = s * rng.uniform(0.05, 0.15)
    if rng.random() < 0.35:
        w = s * rng.uniform(0.2, 0.4)
        corners = [(0, 0), (a, 0), (a, w), (w, w), (w, b), (0, b)]
        pen.contour(
            _outline(corners, rng, w * rng.uniform(0.1, 0.3)),
            segments=rng.random() < 0.5,
        )
        rh = w * rng.uniform(0.1, 0.2)
        for i in range(rng.randint(1, 3)):
            pen.circle((w + (a - w) * (i + 0.6) / 3.2, w / 2), rh)
            pen.circle((w / 2, w + (b - w) * (i + 0.6) / 3.2), rh)
        pen.dim((0, 0), (a, 0), -s * 0.1)
        return a
    pen.contour(
        _outline([(0, 0), (a, 0), (a, t), (t, t), (t, b), (0, b)], rng, t * 0.8),
        segments=rng.random() < 0.5,
    )
    if rng.random() < 0.5:
        pen.line((t, b * rng.uniform(0.5, 1.0)), (a * rng.uniform(0.5, 1.0), t))
    pen.dim((0, 0), (a, 0), -s * 0.1)
    pen.dim((0, 0), (0, b), s * 0.1)
    w = s * rng.uniform(0.3, 0.8)
    slots = rng.random() < 0.5
    for x0, length, tall in ((a * 1.3, b, True), (0.0, a, False)):
        if tall:
            pen.rect(x0, 0, x0 + w, length)
        elif pen.front_limit < math.inf:
            continue  # one view: the profile alone
        else:
            y0 = b * 1.3
            pen.rect(0, y0, length, y0 + w)
        if slots:
            c = (
                (x0 + w / 2, length * 0.55)
                if tall
                else (length * 0.55, b * 1.3 + w / 2)
            )
            pen.slot(
                c, length * rng.uniform(0.4, 0.7), w * rng.uniform(0.15, 0.3), tall
            )
        else:
            n = rng.randint(1, 3)
            for i in range(n):
                f = (i + 1) / (n + 1) * (length - t) + t
                c = (x0 + w / 2, f) if tall else (f, b * 1.3 + w / 2)
                pen.circle(c, min(w, length) * 0.08)
    return a * 1.3 + w


def _plate(pen: Pen, rng: random.Random, s: float) -> float:
    if pen.varied and rng.random() < 0.7:
        return _cut_plate(pen, rng, s)
    a, b = s, s * rng.uniform(0.5, 1.0)
    pen.rect(0, 0, a, b)
    nx, ny = rng.randint(2, 5), rng.randint(2, 4)
    rh = min(a / nx, b / ny) * rng.uniform(0.1, 0.25)
    for i in range(nx):
        for j in range(ny):
            c = (a * (i + 0.5) / nx, b * (j + 0.5) / ny)
            pen.circle(c, rh)
            pen.centre_cross(c, rh)
    pen.dim((0, 0), (a, 0), -s * 0.1)
    pen.dim((0, 0), (0, b), s * 0.1)
    pen.dia((a * 0.5 / nx, b * 0.5 / ny), rh, f"{nx * ny}x%%c{rh * 2:.1f}")
    t = s * rng.uniform(0.03, 0.08)
    pen.rect(a * 1.2, 0, a * 1.2 + t, b)
    return a * 1.2 + t


def _unit(x: float, y: float) -> tuple[float, float]:
    n = math.hypot(x, y)
    return x / n, y / n


def _outline(
    corners: Sequence[tuple[float, float]], rng: random.Random, r: float
) -> list[tuple[float, float, float]]:
    """A counter-clockwise polygon's corners sharp, rounded or chamfered
    (convex ones only), as ``(x, y, bulge)`` points."""
    style = rng.choice(("sharp", "round", "round", "chamfer"))
    quarter = math.tan(math.radians(22.5))
    pts: list[tuple[float, float, float]] = []
    n = len(corners)
    for i, (x, y) in enumerate(corners):
        px, py = corners[i - 1]
        nx, ny = corners[(i + 1) % n]
        dp, dn = _unit(px - x, py - y), _unit(nx - x, ny - y)
        convex = (x - px) * (ny - y) - (y - py) * (nx - x) > 0
        if style == "sharp" or not convex:
            pts.append((x, y, 0.0))
            continue
        pts.append((x + dp[0] * r, y + dp[1] * r, quarter if style == "round" else 0.0))
        pts.append((x + dn[0] * r, y + dn[1] * r, 0.0))
    return pts


def _notched(a: float, b: float, rng: random.Random) -> list[tuple[float, float]]:
    """A rectangle with rectangular notches cut into its long edges."""
    pts: list[tuple[float, float]] = [(0, 0)]
    for x in sorted(rng.uniform(0.15, 0.75) * a for _ in range(rng.randint(1, 2))):
        w, d = a * rng.uniform(0.05, 0.1), b * rng.uniform(0.08, 0.2)
        pts += [(x, 0), (x, d), (x + w, d), (x + w, 0)]
    pts += [(a, 0), (a, b)]
    if rng.random() < 0.6:
        for x in sorted(
            (rng.uniform(0.15, 0.75) * a for _ in range(rng.randint(1, 2))),
            reverse=True,
        ):
            w, d = a * rng.uniform(0.05, 0.1), b * rng.uniform(0.08, 0.2)
            pts += [(x + w, b), (x + w, b - d), (x, b - d), (x, b)]
    return [*pts, (0, b)]


def _holes(
    pen: Pen, rng: random.Random, a: float, b: float, cross: bool
) -> tuple[tuple[float, float], float]:
    """Holes as cut plates carry them: in the corners, around a motor's
    boss, scattered, in rows; sometimes slots and a cut-out. Returns one hole
    (centre, radius) for a diameter dimension."""
    m = min(a, b)
    rh = m * rng.uniform(0.03, 0.08)
    pattern = rng.choice(("corners", "motor", "scatter", "rows"))
    holes: list[tuple[tuple[float, float], float]] = []
    if pattern in ("corners", "motor"):
        e = m * rng.uniform(0.08, 0.18)
        holes += [((x, y), rh) for x in (e, a - e) for y in (e, b - e)]
    if pattern == "motor":
        c = (a * rng.uniform(0.35, 0.65), b / 2)
        big = m * rng.uniform(0.1, 0.22)
        holes.append((c, big))
        d, k = big * rng.uniform(1.4, 1.9), rng.choice((3, 4, 4, 6))
        phase = rng.choice((0.0, math.pi / 4))
        holes += [((c[0] + x, c[1] + y), rh * 0.7) for x, y in _ring(k, d, phase)]
    elif pattern == "scatter":
        sizes = [m * rng.uniform(0.02, 0.12) for _ in range(rng.randint(1, 3))]
        for _ in range(rng.randint(2, 9)):
            r = rng.choice(sizes)
            holes.append(
                (
                    (
                        rng.uniform(r + m * 0.1, a - r - m * 0.1),
                        rng.uniform(r + m * 0.1, b - r - m * 0.1),
                    ),
                    r,
                )
            )
    elif pattern == "rows":
        nx, ny = rng.randint(2, 6), rng.randint(1, 3)
        for i in range(nx):
            for j in range(ny):
                holes.append(((a * (i + 0.5) / nx, b * (j + 0.5) / ny), rh))
    for c, r in holes:
        pen.circle(c, r)
        if cross:
            pen.centre_cross(c, r)
    if rng.random() < 0.4:
        vertical = rng.random() < 0.3
        for _ in range(rng.randint(1, 3)):
            w = m * rng.uniform(0.04, 0.1)
            length = (b if vertical else a) * rng.uniform(0.15, 0.4)
            pen.slot(
                (rng.uniform(0.3, 0.7) * a, rng.uniform(0.25, 0.75) * b),
                length,
                w,
                vertical,
            )
    if rng.random() < 0.2:
        x, y = a * rng.uniform(0.3, 0.5), b * rng.uniform(0.3, 0.5)
        pen.contour(
            _outline(
                [
                    (x, y),
                    (x + a * 0.2, y),
                    (x + a * 0.2, y + b * 0.2),
                    (x, y + b * 0.2),
                ],
                rng,
                m * 0.03,
            ),
            segments=rng.random() < 0.5,
        )
    return holes[0]


def _cut_plate(pen: Pen, rng: random.Random, s: float) -> float:
    """A plate as laser-cut and CNC files draw it: rounded or chamfered
    corners, notches, holes in corners or around a boss, slots."""
    a, b = s, s * rng.uniform(0.3, 1.0)
    corners = (
        _notched(a, b, rng) if rng.random() < 0.3 else [(0, 0), (a, 0), (a, b), (0, b)]
    )
    pen.contour(
        _outline(corners, rng, min(a, b) * rng.uniform(0.04, 0.15)),
        segments=rng.random() < 0.5,
    )
    (c, r) = _holes(pen, rng, a, b, cross=rng.random() < 0.5)
    pen.dim((0, 0), (a, 0), -s * 0.1)
    pen.dim((0, 0), (0, b), s * 0.1)
    pen.dia(c, r)
    t = s * rng.uniform(0.02, 0.08)
    pen.rect(a * 1.2, 0, a * 1.2 + t, b)
    return a * 1.2 + t


def _washer(pen: Pen, rng: random.Random, s: float) -> float:
    ro, ri = s / 2, s / 2 * rng.uniform(0.35, 0.6)
    pen.circle((0, 0), ro)
    pen.circle((0, 0), ri)
    pen.centre_cross((0, 0), ro)
    pen.dia((0, 0), ro)
    pen.dia((0, 0), ri)
    t = s * rng.uniform(0.04, 0.1)
    _side_section(pen, ro * 1.5, t, [(ri, ro)])
    return ro * 1.5 + t


def _bushing(pen: Pen, rng: random.Random, s: float) -> float:
    ro, ri = s / 2 * 0.6, s / 2 * 0.6 * rng.uniform(0.5, 0.8)
    rf = ro * rng.uniform(1.2, 1.6)
    pen.circle((0, 0), rf)
    pen.circle((0, 0), ro, "c")
    pen.circle((0, 0), ri)
    pen.centre_cross((0, 0), rf)
    length = s * rng.uniform(0.6, 1.2)
    tf = length * rng.uniform(0.1, 0.25)
    x0 = rf * 1.6
    _side_section(pen, x0, tf, [(ri, rf)])
    _side_section(pen, x0 + tf, length - tf, [(ri, ro)])
    pen.dim((x0, rf), (x0 + length, rf), s * 0.08)
    pen.dia((0, 0), ri, f"%%c{ri * 2:.1f} H7/g6")
    return x0 + length


def _nut(pen: Pen, rng: random.Random, s: float) -> float:
    ra = s / 2
    pen.poly(_ring(6, ra, math.pi / 6))
    rt = ra * math.cos(math.pi / 6) * rng.uniform(0.5, 0.65)
    pen.circle((0, 0), rt)
    pen.circle((0, 0), ra * math.cos(math.pi / 6) * 0.95, "c")
    pen.centre_cross((0, 0), ra)
    pen.dim(
        (-ra * math.cos(math.pi / 6), -ra), (ra * math.cos(math.pi / 6), -ra), -s * 0.1
    )
    pen.msp.add_text(
        f"M{int(rt * 2)}", height=s * 0.05, dxfattribs={"layer": pen.layers["d"]}
    ).set_placement(pen.p(ra * 0.3, ra * 0.8))
    h = s * rng.uniform(0.35, 0.6)
    x0 = ra * 1.6
    pen.rect(x0, -ra, x0 + h, ra)
    pen.line((x0, ra / 2), (x0 + h, ra / 2))
    pen.line((x0, -ra / 2), (x0 + h, -ra / 2))
    return x0 + h


def _pulley(pen: Pen, rng: random.Random, s: float) -> float:
    ro = s / 2
    rg = ro * rng.uniform(0.8, 0.9)
    rh, rb = ro * rng.uniform(0.3, 0.4), ro * rng.uniform(0.1, 0.2)
    timing = pen.varied and rng.random() < 0.5
    if timing:
        _timing_teeth(pen, rng, ro)
    for r in (rh, rb) if timing else (ro, rh, rb):
        pen.circle((0, 0), r)
    pen.circle((0, 0), rg, "c")
    n = rng.choice((0, 4, 5, 6))
    for c in _ring(n, (rg + rh) / 2) if n else []:
        pen.circle(c, (rg - rh) * 0.25)
    pen.centre_cross((0, 0), ro)
    pen.dia((0, 0), ro)
    w = s * rng.uniform(0.2, 0.4)
    x0 = ro * 1.6
    g = w * 0.3
    prof = [
        (x0, rb),
        (x0, rh),
        (x0 + w * 0.3, rh),
        (x0 + w * 0.3, rg),
        (x0, rg),
        (x0, ro),
        (x0 + w / 2 - g / 2, ro),
        (x0 + w / 2, rg),
        (x0 + w / 2 + g / 2, ro),
        (x0 + w, ro),
        (x0 + w, rg),
        (x0 + w * 0.7, rg),
        (x0 + w * 0.7, rh),
        (x0 + w, rh),
        (x0 + w, rb),
    ]
    pen.poly(prof)
    pen.hatch_poly(prof)
    pen.poly([(x, -y) for x, y in prof])
    pen.hatch_poly([(x, -y) for x, y in prof])
    pen.line((x0 - 5, 0), (x0 + w + 5, 0), "c")
    pen.dim((x0, ro), (x0 + w, ro), s * 0.08)
    return x0 + w


def _housing(pen: Pen, rng: random.Random, s: float) -> float:
    a, b = s, s * rng.uniform(0.6, 0.9)
    rc = s * 0.06
    pen.rect(0, 0, a, b)
    rbore = min(a, b) * rng.uniform(0.2, 0.35)
    c = (a / 2, b / 2)
    pen.circle(c, rbore)
    pen.circle(c, rbore * 1.2, "c")
    pen.centre_cross(c, rbore)
    for hx, hy in (
        (rc * 1.8, rc * 1.8),
        (a - rc * 1.8, rc * 1.8),
        (rc * 1.8, b - rc * 1.8),
        (a - rc * 1.8, b - rc * 1.8),
    ):
        pen.circle((hx, hy), rc * 0.6)
        pen.centre_cross((hx, hy), rc * 0.6)
    pen.dim((0, 0), (a, 0), -s * 0.1)
    pen.dia(c, rbore, f"%%c{rbore * 2:.0f} H7")
    d = s * rng.uniform(0.4, 0.7)
    wall = s * rng.uniform(0.05, 0.1)
    x0 = a * 1.25
    pen.rect(x0, 0, x0 + d, b)
    pen.hatch_rect(x0, 0, x0 + d, wall)
    pen.hatch_rect(x0, b - wall, x0 + d, b)
    pen.hatch_rect(x0, wall, x0 + wall, b / 2 - rbore)
    pen.hatch_rect(x0, b / 2 + rbore, x0 + wall, b - wall)
    pen.line((x0 - 5, b / 2), (x0 + d + 5, b / 2), "c")
    return x0 + d


def _bolt(pen: Pen, rng: random.Random, s: float) -> float:
    """Side view (head, shank, thread lines) and the head seen from above."""
    d = s * rng.uniform(0.12, 0.25)
    length = s * rng.uniform(0.6, 1.0)
    head_w, head_h = d * 1.6, d * rng.uniform(0.6, 0.7)
    thread = length * rng.uniform(0.4, 1.0)
    x0 = -length / 2
    pen.rect(x0 - head_h, -head_w, x0, head_w)
    pen.line((x0 - head_h, head_w / 2), (x0, head_w / 2))
    pen.line((x0 - head_h, -head_w / 2), (x0, -head_w / 2))
    c = d * 0.1  # end chamfer
    pen.poly(
        [
            (x0, -d / 2),
            (x0 + length - c, -d / 2),
            (x0 + length, -d / 2 + c),
            (x0 + length, d / 2 - c),
            (x0 + length - c, d / 2),
            (x0, d / 2),
        ]
    )
    minor = d / 2 * 0.82
    xt = x0 + length - thread
    pen.line((xt, minor), (x0 + length, minor), "c")
    pen.line((xt, -minor), (x0 + length, -minor), "c")
    pen.line((xt, -d / 2), (xt, d / 2))
    pen.line((x0 - head_h - 5, 0), (x0 + length + 5, 0), "c")
    pen.dim((x0, -head_w), (x0 + length, -head_w), -s * 0.08)
    pen.msp.add_text(
        f"M{max(1, round(d))}x{round(length)}",
        height=s * 0.04,
        dxfattribs={"layer": pen.layers["d"]},
    ).set_placement(pen.p(x0, head_w + s * 0.05))
    # The head from above, beside the side view.
    hx = x0 + length + head_w * 2.5
    pen.offset = Vec2(hx, 0)
    pen.poly(_ring(6, head_w, math.pi / 6 if rng.random() < 0.5 else 0.0))
    pen.circle((0, 0), head_w * math.cos(math.pi / 6) * 0.95, "c")
    pen.centre_cross((0, 0), head_w)
    pen.offset = Vec2(0, 0)
    return hx + head_w


def _bearing(pen: Pen, rng: random.Random, s: float) -> float:
    """Front view (rings, balls on the pitch circle) and a hatched section."""
    ro = s / 2
    ri = ro * rng.uniform(0.4, 0.55)
    width = (ro - ri) * rng.uniform(0.6, 1.0)
    pitch = (ro + ri) / 2
    ball = (ro - ri) * rng.uniform(0.28, 0.34)
    n = rng.randint(7, 12)
    for r in (ro, ri, pitch + ball * 1.2, pitch - ball * 1.2):
        pen.circle((0, 0), r)
    pen.circle((0, 0), pitch, "c")
    for c in _ring(n, pitch, rng.uniform(0, math.pi)):
        pen.circle(c, ball)
    pen.centre_cross((0, 0), ro)
    pen.dia((0, 0), ro)
    x0 = ro * 1.5
    for lo, hi in ((pitch + ball * 0.8, ro), (ri, pitch - ball * 0.8)):
        for sign in (1, -1):
            pen.rect(x0, sign * lo, x0 + width, sign * hi)
            pen.hatch_rect(x0, sign * lo, x0 + width, sign * hi)
    for sign in (1, -1):
        pen.circle((x0 + width / 2, sign * pitch), ball)
    pen.line((x0 - 5, 0), (x0 + width + 5, 0), "c")
    pen.dim((x0, ro), (x0 + width, ro), s * 0.08)
    return x0 + width


def _spring(pen: Pen, rng: random.Random, s: float) -> float:
    """Side view of the coils (wire sections and slanted flanks) and the end."""
    dm = s * rng.uniform(0.2, 0.35)  # mean coil diameter
    wire = dm * rng.uniform(0.1, 0.18)
    coils = rng.randint(5, 12)
    pitch = wire * rng.uniform(1.6, 3.0)
    length = coils * pitch
    x0 = -length / 2
    sectioned = rng.random() < 0.5
    for i in range(coils + 1):
        xa, xb = x0 + i * pitch, x0 + (i + 0.5) * pitch
        if sectioned:
            pen.circle((xa, dm / 2), wire / 2)
            pen.circle((xb, -dm / 2), wire / 2)
        if i < coils:
            pen.line((xa, dm / 2 + wire / 2), (xb, -dm / 2 + wire / 2))
            pen.line((xa, dm / 2 - wire / 2), (xb, -dm / 2 - wire / 2))
            pen.line((xb, -dm / 2), (xa + pitch, dm / 2), "c" if sectioned else "o")
    pen.line((x0 - 5, 0), (x0 + length + 5, 0), "c")
    pen.dim((x0, dm), (x0 + length, dm), s * 0.06)
    ex = x0 + length + dm * 1.5
    pen.circle((ex, 0), dm / 2 + wire / 2)
    pen.circle((ex, 0), dm / 2 - wire / 2)
    pen.centre_cross((ex, 0), dm / 2)
    return ex + dm


def _pin(pen: Pen, rng: random.Random, s: float) -> float:
    """A slender chamfered cylinder and its end view."""
    length = s * rng.uniform(0.6, 1.0)
    d = length * rng.uniform(0.08, 0.2)
    c = d * rng.uniform(0.08, 0.15)
    x0 = -length / 2
    pen.poly(
        [
            (x0 + c, -d / 2),
            (x0 + length - c, -d / 2),
            (x0 + length, -d / 2 + c),
            (x0 + length, d / 2 - c),
            (x0 + length - c, d / 2),
            (x0 + c, d / 2),
            (x0, d / 2 - c),
            (x0, -d / 2 + c),
        ]
    )
    pen.line((x0 + c, -d / 2), (x0 + c, d / 2))
    pen.line((x0 + length - c, -d / 2), (x0 + length - c, d / 2))
    pen.line((x0 - 5, 0), (x0 + length + 5, 0), "c")
    pen.dim((x0, -d / 2), (x0 + length, -d / 2), -s * 0.06)
    pen.msp.add_text(
        rng.choice(("ISO 2338", "ISO 8734", "GB/T 119", "DIN 6325"))
        + f" {max(1, round(d))} m6x{round(length)}",
        height=s * 0.03,
        dxfattribs={"layer": pen.layers["d"]},
    ).set_placement(pen.p(x0, d + s * 0.04))
    ex = x0 + length + d * 2
    pen.circle((ex, 0), d / 2)
    pen.circle((ex, 0), d / 2 - c)
    pen.centre_cross((ex, 0), d / 2)
    return ex + d


# Flat and round parts, with how far their front view reaches along x (in
# sizes); their side views all start beyond it.
_FRONT_LIMITS = {
    "flange": 0.65,
    "spur_gear": 0.65,
    "washer": 0.65,
    "bushing": 0.65,
    "hex_nut": 0.65,
    "pulley": 0.65,
    "ball_bearing": 0.65,
    "hole_plate": 1.1,
    "l_bracket": 1.1,
}

_DRAWERS: dict[str, Callable[[Pen, random.Random, float], float]] = {
    "flange": _flange,
    "spur_gear": _gear,
    "stepped_shaft": _shaft,
    "l_bracket": _bracket,
    "hole_plate": _plate,
    "washer": _washer,
    "bushing": _bushing,
    "hex_nut": _nut,
    "pulley": _pulley,
    "housing": _housing,
    "hex_bolt": _bolt,
    "ball_bearing": _bearing,
    "compression_spring": _spring,
    "dowel_pin": _pin,
}


def _title_values(label: str, rng: random.Random) -> dict[str, str]:
    prefix = rng.choice(("DWG", "P", "ZJ"))
    return {
        "drawing_number": f"{prefix}-{rng.randint(1, 99999):05d}",
        "part_name": rng.choice(_NAMES[label]),
        "material": rng.choice(_MATERIALS),
        "scale": rng.choice(("1:1", "1:2", "2:1", "1:5", "1:10")),
        "revision": rng.choice("ABCDEF"),
        "date": f"20{rng.randint(10, 26)}-{rng.randint(1, 12):02d}"
        f"-{rng.randint(1, 28):02d}",
        "drawn_by": rng.choice(_AUTHORS),
        "sheet": f"{rng.randint(1, 3)}/3",
        "weight": f"{rng.uniform(0.05, 30):.2f} kg",
        "company": rng.choice(_COMPANIES),
    }


def _title_block(
    doc: DxfDocument,
    x0: float,
    y0: float,
    h: float,
    values: dict[str, str],
    rng: random.Random,
) -> None:
    msp = doc.modelspace()
    chinese = rng.random() < 0.4
    if rng.random() < 0.4:
        # As a block with attributes, the way CAD templates do it.
        blk = doc.blocks.new(name=f"TB{rng.randint(0, 10**6)}")
        for i, field in enumerate(values):
            blk.add_attdef(field.upper(), (0, -i * h * 1.6), dxfattribs={"height": h})
        ref = msp.add_blockref(blk.name, (x0, y0))
        ref.add_auto_attribs({k.upper(): v for k, v in values.items()})
        return
    col_w = h * 14
    for i, (field, value) in enumerate(values.items()):
        en, zh = _LABELS[field]
        label = zh if chinese or rng.random() < 0.15 else en
        cx = x0 + (i % 2) * col_w * 2
        cy = y0 - (i // 2) * h * 2.4
        msp.add_text(
            label, height=h * 0.7, dxfattribs={"layer": "TITLE"}
        ).set_placement((cx, cy))
        msp.add_text(value, height=h, dxfattribs={"layer": "TITLE"}).set_placement(
            (cx + col_w, cy)
        )
    msp.add_lwpolyline(
        [
            (x0 - h, y0 + h * 2),
            (x0 + col_w * 4, y0 + h * 2),
            (x0 + col_w * 4, y0 - h * 12),
            (x0 - h, y0 - h * 12),
        ],
        close=True,
        dxfattribs={"layer": "TITLE"},
    )


def generate_part(
    label: str,
    rng: random.Random,
    *,
    style_shift: bool = False,
    conventions: bool = False,
) -> bytes:
    """DXF bytes of one drawing of ``label``.

    ``style_shift`` changes drafting conventions (imperial units, other layer
    names, Chinese title block, heavier clutter) to test robustness to a shift.
    ``conventions`` also draws, at random, how other tools save parts: bare
    geometry (no title block, dimensions, text or hatching, as in laser-cut
    and CAM files) and exploded geometry (circles and arcs as short LINEs,
    polylines as LINEs, as many exporters write them).
    """
    if label not in _DRAWERS:
        raise ValueError(f"unknown part class {label!r}; choose from {PART_CLASSES}")
    # ezdxf stamps creation/write times and fresh GUIDs into the file; its fixed
    # metadata switch makes the same seed give the same bytes. (A process-wide
    # option: harmless, only this generator writes documents.)
    fixed = ezdxf.options.write_fixed_meta_data_for_testing
    ezdxf.options.write_fixed_meta_data_for_testing = True
    try:
        return _generate(label, rng, style_shift, conventions)
    finally:
        ezdxf.options.write_fixed_meta_data_for_testing = fixed


def _generate(
    label: str, rng: random.Random, style_shift: bool, conventions: bool
) -> bytes:
    doc = ezdxf.new(rng.choice(("R2000", "R2010", "R2018")), setup=True)
    imperial = rng.random() < (0.7 if style_shift else 0.15)
    doc.header["$INSUNITS"] = 1 if imperial else 4
    layers = {
        "o": rng.choice(_OUTLINE_LAYERS[3:] if style_shift else _OUTLINE_LAYERS[:3]),
        "c": "CENTER",
        "d": rng.choice(_DIM_LAYERS),
        "h": rng.choice(_HATCH_LAYERS),
    }
    for name in {*layers.values(), "TITLE", "NOTES"}:
        if name not in doc.layers:
            doc.layers.add(name)
    doc.layers.get("CENTER").dxf.linetype = "CENTER"
    size = rng.uniform(20, 300) / (25.4 if imperial else 1)
    angle = rng.choice((0.0, 0.0, math.pi / 2, rng.uniform(0, 2 * math.pi)))
    msp = doc.modelspace()
    pen = Pen(msp, rng, angle, layers)
    one_view = False
    if conventions:
        pen.varied = True
        if label in _FRONT_LIMITS and rng.random() < 0.4:
            # How laser-cut, CNC and gear-generator files hold a flat part:
            # its one outline view, no sheet around it.
            one_view = True
            pen.front_limit = size * _FRONT_LIMITS[label]
    extent = _DRAWERS[label](pen, rng, size)
    if one_view:
        _strip_annotation(msp)
        if rng.random() < 0.6:
            for e in list(msp):
                if e.dxf.get("layer") == layers["c"]:
                    msp.delete_entity(e)
        if rng.random() < 0.3:
            _explode(msp, rng.choice((24, 36, 48, 72, 96)))
        elif rng.random() < 0.25:
            _old_polylines(msp)
        if pen.notes and rng.random() < 0.5:
            for text, at, height in pen.notes:
                msp.add_text(text, height=height).set_placement(at)
        if rng.random() < 0.5:
            # Cut and CAM files carry no drafting tables (dimension styles,
            # linetypes, layers nobody drew on): only what the part needs.
            doc = bare_copy(doc)
        stream = io.StringIO()
        doc.write(stream)
        return doc.encode(stream.getvalue())

    reach = max(extent, size) * 1.5
    h = size * 0.04
    values = _title_values(label, rng)
    if style_shift:
        values["part_name"] = _NAMES[label][1]
    _title_block(doc, reach * 0.6, -reach * 0.9, h, values, rng)
    clutter = rng.random() < (0.9 if style_shift else 0.5)
    if clutter:
        notes = rng.sample(
            (
                "ALL DIMENSIONS IN MM",
                "BREAK SHARP EDGES 0.5x45°",
                "未注倒角C1",
                "Ra 3.2 UNLESS STATED",
                "GENERAL TOLERANCE ISO 2768-m",
                "TOLERANCE ±0.1",
                "技术要求: 调质处理",
            ),
            k=rng.randint(1, 3),
        )
        for i, note in enumerate(notes):
            msp.add_text(
                note, height=h * 0.8, dxfattribs={"layer": "NOTES"}
            ).set_placement((-reach, -reach * 0.6 - i * h * 1.6))
    if clutter and rng.random() < 0.6:
        msp.add_lwpolyline(
            [
                (-reach * 1.1, -reach * 1.5),
                (reach * 2.5, -reach * 1.5),
                (reach * 2.5, reach),
                (-reach * 1.1, reach),
            ],
            close=True,
            dxfattribs={"layer": "TITLE"},
        )
    if conventions:
        # Drawn last, so the rest of the drawing is what the same seed gives
        # without conventions.
        if rng.random() < 0.3:
            _strip_annotation(msp)
        if rng.random() < 0.3:
            _explode(msp, rng.choice((24, 36, 48, 72, 96)))
    # doc.encode picks the file's encoding (cp1252 with \U+ escapes before
    # R2007, UTF-8 after), exactly as a CAD program saves it.
    stream = io.StringIO()
    doc.write(stream)
    return doc.encode(stream.getvalue())


def bare_copy(doc: DxfDocument) -> DxfDocument:
    """The model space's entities in a new document without the drafting
    setup: the layers drawn on and nothing else."""
    bare = ezdxf.new(doc.dxfversion)
    bare.header["$INSUNITS"] = doc.header.get("$INSUNITS", 0)
    msp = bare.modelspace()
    for e in doc.modelspace():
        layer = e.dxf.get("layer", "0")
        if layer not in bare.layers:
            bare.layers.add(layer)
        msp.add_entity(e.copy())
    return bare


def _strip_annotation(msp: Modelspace) -> None:
    for e in list(msp):
        if e.dxftype() in ("DIMENSION", "TEXT", "MTEXT", "INSERT", "HATCH") or (
            e.dxf.get("layer") in ("TITLE", "NOTES")
        ):
            msp.delete_entity(e)


def _old_polylines(msp: Modelspace) -> None:
    """Every LWPOLYLINE as a 2D POLYLINE, as R12-era exporters write them."""
    for e in list(msp.query("LWPOLYLINE")):
        if isinstance(e, LWPolyline):
            msp.add_polyline2d(
                list(e.get_points("xyb")),
                format="xyb",
                close=e.closed,
                dxfattribs={"layer": e.dxf.layer},
            )
            msp.delete_entity(e)


def _explode(msp: Modelspace, segments: int) -> None:
    for e in list(msp):
        kind = e.dxftype()
        if kind in ("CIRCLE", "ARC"):
            c, r = e.dxf.center, e.dxf.radius
            if kind == "CIRCLE":
                a0, sweep = 0.0, 2 * math.pi
            else:
                a0 = math.radians(e.dxf.start_angle)
                sweep = math.radians(e.dxf.end_angle - e.dxf.start_angle) % (
                    2 * math.pi
                )
            n = max(2, round(segments * sweep / (2 * math.pi)))
            pts = [
                (
                    c.x + r * math.cos(a0 + sweep * i / n),
                    c.y + r * math.sin(a0 + sweep * i / n),
                )
                for i in range(n + 1)
            ]
            attribs = {"layer": e.dxf.layer}
            for a, b in zip(pts, pts[1:], strict=False):
                msp.add_line(a, b, dxfattribs=attribs)
            msp.delete_entity(e)
        elif kind == "LWPOLYLINE" and isinstance(e, LWPolyline):
            e.explode()
