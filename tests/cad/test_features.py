"""Feature vectors: versioned, named, deterministic and invariant as documented."""

from __future__ import annotations

import io
import math
import random

import ezdxf
import numpy as np
import pytest
from ezdxf.math import Matrix44
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from apps.cad.features import (
    DXF2_SLOTS,
    DXF3_SLOTS,
    DXF3T_SLOTS,
    DXF3TH_SLOTS,
    DXF4_SLOTS,
    DXF5_SLOTS,
    DXF6_SLOTS,
    DXF7_SLOTS,
    DXF_SLOTS,
    HATCH_SLOTS,
    downgrade,
    readable_as,
    schema,
    served_by,
)
from apps.cad.pipeline import analyze_bytes
from apps.cad.synth import PART_CLASSES, generate_part
from cadml.lib.errors import DomainError


def transformed(content: bytes, m: Matrix44) -> bytes:
    doc = ezdxf.read(
        io.StringIO(content.decode("utf-8", "surrogateescape"), newline=None)
    )
    for e in doc.modelspace():
        e.transform(m)
    stream = io.StringIO()
    doc.write(stream)
    return doc.encode(stream.getvalue())


def vector(content: bytes) -> list[float]:
    return analyze_bytes("x.dxf", content, preview=False)["features"]


@pytest.fixture(scope="module")
def drawings() -> dict[str, bytes]:
    rng = random.Random(11)
    # R2018 files are UTF-8, so the test can round-trip them through ezdxf.read.
    out = {}
    for label in ("flange", "hole_plate", "stepped_shaft", "pulley"):
        while True:
            b = generate_part(label, rng)
            if b"AC1032" in b[:400]:
                out[label] = b
                break
    return out


def assert_close(a: list[float], b: list[float], slots: set[str], tol: float) -> None:
    names = [s.name for s in DXF7_SLOTS]
    bad = {
        n: (x, y)
        for n, x, y in zip(names, a, b, strict=True)
        if n in slots and not math.isclose(x, y, rel_tol=tol, abs_tol=tol)
    }
    assert not bad, bad


ALL = {s.name for s in DXF7_SLOTS}
SCALE_EXACT = {s.name for s in DXF7_SLOTS if s.scale == "exact"}
ROTATION_EXACT = {s.name for s in DXF7_SLOTS if s.rotation == "exact"}
PICTURE = {s.name for s in DXF7_SLOTS if s.name.startswith("pic_")}
OUTLINE = {s.name for s in DXF7_SLOTS if s.name.startswith("out_")}
TOPOLOGY = {s.name for s in DXF7_SLOTS if s.name.startswith("topo_")}
LAYOUT = {s.name for s in DXF7_SLOTS if s.name.startswith("lay_")}
NAMES = [i for i, s in enumerate(DXF4_SLOTS) if s.name.startswith("names_")]


def test_same_bytes_give_the_identical_vector(drawings: dict[str, bytes]) -> None:
    b = drawings["flange"]
    assert vector(b) == vector(b)
    assert len(vector(b)) == len(DXF7_SLOTS)


@pytest.mark.parametrize("label", ["flange", "hole_plate", "stepped_shaft", "pulley"])
def test_translation_and_uniform_scale_leave_every_slot(
    drawings: dict[str, bytes], label: str
) -> None:
    base = vector(drawings[label])
    moved = vector(transformed(drawings[label], Matrix44.translate(1234.5, -987.0, 0)))
    scaled = vector(transformed(drawings[label], Matrix44.scale(7.25)))
    assert_close(base, moved, ALL, 1e-3)
    assert_close(base, scaled, SCALE_EXACT, 1e-3)


@pytest.mark.parametrize("angle", [90, 33])
@pytest.mark.parametrize("label", ["flange", "hole_plate"])
def test_rotation_leaves_slots_marked_exact(
    drawings: dict[str, bytes], label: str, angle: int
) -> None:
    base = vector(drawings[label])
    turned = vector(
        transformed(drawings[label], Matrix44.z_rotate(math.radians(angle)))
    )
    assert_close(base, turned, ROTATION_EXACT, 2e-2)
    # The picture's grid and the outline's directions turn with the drawing:
    # close, not exact.
    assert_close(base, turned, PICTURE, 6e-2)
    assert_close(base, turned, OUTLINE, 8e-2)
    # Shared ends stay shared on the turned snapping grid.
    assert_close(base, turned, TOPOLOGY, 2e-2)
    if angle == 90:
        # A quarter turn keeps even the bounding-box slot; the layout view
        # measures the drawing's own axes (its own test).
        assert_close(base, turned, ALL - LAYOUT, 2e-2)


def with_units(content: bytes, insunits: int, m: Matrix44 | None = None) -> bytes:
    doc = ezdxf.read(
        io.StringIO(content.decode("utf-8", "surrogateescape"), newline=None)
    )
    doc.header["$INSUNITS"] = insunits
    if m is not None:
        for e in doc.modelspace():
            e.transform(m)
    stream = io.StringIO()
    doc.write(stream)
    return doc.encode(stream.getvalue())


def sizes(content: bytes) -> dict[str, float]:
    v = dict(zip([s.name for s in DXF7_SLOTS], vector(content), strict=True))
    return {k: x for k, x in v.items() if k.startswith("size_")}


def test_the_size_view_tells_a_part_from_the_same_part_at_another_size(
    drawings: dict[str, bytes],
) -> None:
    mm = with_units(drawings["hole_plate"], 4)
    base = sizes(mm)
    # Three times as large: every size slot moves by log10(3).
    big = sizes(with_units(mm, 4, Matrix44.scale(3.0)))
    measured = [name for name in base if name != "size_units_stated"]
    assert all(base[name] != 0 for name in measured)
    for name in measured:
        assert big[name] - base[name] == pytest.approx(math.log10(3.0), abs=1e-4)
    assert base["size_log_major"] >= base["size_log_minor"]
    assert base["size_units_stated"] == big["size_units_stated"] == 1.0
    # The same numbers in metres are a part a thousand times as large; with
    # no unit stated they are read as they are, and the slot says so.
    metres = sizes(with_units(mm, 6))
    assert metres["size_log_gyration"] - base["size_log_gyration"] == pytest.approx(3.0)
    unitless = sizes(with_units(mm, 0))
    assert unitless["size_log_gyration"] == base["size_log_gyration"]
    assert unitless["size_units_stated"] == 0.0
    # A unit code outside the table counts as unstated.
    assert sizes(with_units(mm, 99))["size_units_stated"] == 0.0


def test_a_drawing_without_geometry_has_the_neutral_size() -> None:
    doc = ezdxf.new(units=4)
    doc.modelspace().add_text("NOTES ONLY")
    stream = io.StringIO()
    doc.write(stream)
    neutral = sizes(stream.getvalue().encode())
    assert neutral.pop("size_units_stated") == 1.0
    assert set(neutral.values()) == {0.0}


def test_a_flange_shows_a_bolt_circle_and_concentric_circles() -> None:
    b = generate_part("flange", random.Random(3))
    v = dict(zip([s.name for s in DXF7_SLOTS], vector(b), strict=True))
    assert v["log_bolt_circles"] > 0
    assert v["log_concentric_groups"] > 0


def test_symmetry_slots_tell_a_symmetric_plate_from_an_l_shape() -> None:
    from tests.cad.conftest import dxf_bytes

    def plate(doc, msp):  # type: ignore[no-untyped-def]
        msp.add_lwpolyline([(0, 0), (100, 0), (100, 60), (0, 60)], close=True)
        for x, y in ((20, 15), (80, 15), (20, 45), (80, 45)):
            msp.add_circle((x, y), 5)

    def ell(doc, msp):  # type: ignore[no-untyped-def]
        msp.add_lwpolyline(
            [(0, 0), (100, 0), (100, 10), (10, 10), (10, 60), (0, 60)], close=True
        )
        msp.add_circle((70, 5), 3)

    names = [s.name for s in DXF7_SLOTS]
    sym = dict(zip(names, vector(dxf_bytes(plate)), strict=True))
    asym = dict(zip(names, vector(dxf_bytes(ell)), strict=True))
    for slot in ("mirror_sym_major", "mirror_sym_minor", "point_sym"):
        assert sym[slot] == 1.0
        assert asym[slot] < 0.7


def test_different_classes_give_different_vectors() -> None:
    rng = random.Random(5)
    vecs = {label: tuple(vector(generate_part(label, rng))) for label in PART_CLASSES}
    assert len(set(vecs.values())) == len(PART_CLASSES)


def test_schema_lists_every_slot_with_description_and_invariance() -> None:
    s = schema()
    assert set(s) == {
        "dxf-1",
        "dxf-2",
        "dxf-3",
        "dxf-4",
        "dxf-5",
        "dxf-6",
        "dxf-7",
        "dxf-3t",
        "dxf-3th",
        "mesh-1",
        "brep-1",
        "brep-2",
    }
    assert [x["name"] for x in s["dxf-1"]] == [x.name for x in DXF_SLOTS]
    assert [x["name"] for x in s["dxf-2"]] == [x.name for x in DXF2_SLOTS]
    assert [x["name"] for x in s["dxf-3"]] == [x.name for x in DXF3_SLOTS]
    assert [x["name"] for x in s["dxf-4"]] == [x.name for x in DXF4_SLOTS]
    assert [x["name"] for x in s["dxf-5"]] == [x.name for x in DXF5_SLOTS]
    assert [x["name"] for x in s["dxf-6"]] == [x.name for x in DXF6_SLOTS]
    assert [x["name"] for x in s["dxf-7"]] == [x.name for x in DXF7_SLOTS]
    assert [x["name"] for x in s["dxf-3t"]] == [x.name for x in DXF3T_SLOTS]
    assert [x["name"] for x in s["dxf-3th"]] == [x.name for x in DXF3TH_SLOTS]
    assert len({x["name"] for x in s["dxf-7"]}) == len(s["dxf-7"])
    for slot in s["dxf-1"] + s["dxf-2"] + s["dxf-3"] + s["dxf-7"] + s["mesh-1"]:
        assert slot["description"]
        assert slot["invariance"]["translation"] == "exact"
        assert slot["invariance"]["rotation"] in {"exact", "robust", "none"}
    # Only the size view measures the drawing's scale, only the layout view
    # its orientation.
    assert [x["name"] for x in s["dxf-7"] if x["invariance"]["scale"] != "exact"] == [
        x.name for x in DXF5_SLOTS[len(DXF4_SLOTS) :] if x.name != "size_units_stated"
    ]
    assert [x["name"] for x in s["dxf-7"] if x["invariance"]["rotation"] == "none"] == [
        x.name for x in DXF7_SLOTS[len(DXF6_SLOTS) :]
    ]


def test_each_dxf_version_starts_with_the_one_before_so_older_models_keep_serving(
    drawings: dict[str, bytes],
) -> None:
    v7 = vector(drawings["flange"])
    assert len(v7) == len(DXF7_SLOTS)
    v6 = downgrade(v7, source="dxf-7", target="dxf-6")
    assert v6 is not None and len(v6) == len(DXF6_SLOTS)
    v5 = downgrade(v6, source="dxf-6", target="dxf-5")
    assert v5 is not None and len(v5) == len(DXF5_SLOTS)
    v4 = downgrade(v5, source="dxf-5", target="dxf-4")
    assert v4 is not None and len(v4) == len(DXF4_SLOTS)
    v3 = downgrade(v5, source="dxf-5", target="dxf-3")
    assert v3 == downgrade(v4, source="dxf-4", target="dxf-3")
    assert v3 is not None and len(v3) == len(DXF3_SLOTS)
    assert downgrade(v4, source="dxf-4", target="dxf-2") == downgrade(
        v3, source="dxf-3", target="dxf-2"
    )
    v2 = downgrade(v3, source="dxf-3", target="dxf-2")
    v1 = downgrade(v3, source="dxf-3", target="dxf-1")
    assert v2 is not None and len(v2) == len(DXF2_SLOTS)
    assert v1 is not None and v1 == downgrade(v2, source="dxf-2", target="dxf-1")
    assert len(v1) == len(DXF_SLOTS)
    assert [s.name for s in DXF7_SLOTS[: len(DXF6_SLOTS)]] == [
        s.name for s in DXF6_SLOTS
    ]
    assert [s.name for s in DXF6_SLOTS[: len(DXF5_SLOTS)]] == [
        s.name for s in DXF5_SLOTS
    ]
    assert [s.name for s in DXF5_SLOTS[: len(DXF4_SLOTS)]] == [
        s.name for s in DXF4_SLOTS
    ]
    assert [s.name for s in DXF4_SLOTS[: len(DXF3_SLOTS)]] == [
        s.name for s in DXF3_SLOTS
    ]
    assert [s.name for s in DXF3_SLOTS[: len(DXF2_SLOTS)]] == [
        s.name for s in DXF2_SLOTS
    ]
    assert [s.name for s in DXF2_SLOTS[: len(DXF_SLOTS)]] == [s.name for s in DXF_SLOTS]
    # Never upwards, never across families.
    assert downgrade(v2, source="dxf-2", target="dxf-3") is None
    assert downgrade(v3, source="dxf-3", target="dxf-4") is None
    assert downgrade(v4, source="dxf-4", target="dxf-5") is None
    assert downgrade(v5, source="dxf-5", target="dxf-6") is None
    assert downgrade(v6, source="dxf-6", target="dxf-7") is None
    assert downgrade(v7, source="dxf-7", target="mesh-1") is None
    assert readable_as("dxf-7") == (
        *("dxf-7", "dxf-3th", "dxf-6", "dxf-3t", "dxf-5", "dxf-4", "dxf-3"),
        *("dxf-2", "dxf-1"),
    )
    assert served_by("dxf-2") == (
        *("dxf-2", "dxf-3", "dxf-4", "dxf-5", "dxf-3t", "dxf-3th", "dxf-6", "dxf-7"),
    )
    assert served_by("dxf-6") == ("dxf-6", "dxf-7")
    assert served_by("brep-2") == ("brep-2",)


def test_dxf3t_is_dxf3_and_the_topology_read_from_dxf6(
    drawings: dict[str, bytes],
) -> None:
    v7 = vector(drawings["flange"])
    v6 = v7[: len(DXF6_SLOTS)]
    # Read from a dxf-7 vector as from its dxf-6 prefix.
    assert downgrade(v7, source="dxf-7", target="dxf-3t") == downgrade(
        v6, source="dxf-6", target="dxf-3t"
    )
    v3t = downgrade(v6, source="dxf-6", target="dxf-3t")
    assert v3t is not None and len(v3t) == len(DXF3T_SLOTS)
    # dxf-3 first, then the same topology slots a dxf-6 vector ends with.
    assert v3t == v6[: len(DXF3_SLOTS)] + v6[len(DXF5_SLOTS) :]
    assert downgrade(v3t, source="dxf-3t", target="dxf-3") == v6[: len(DXF3_SLOTS)]
    # It has no names, hatch or size slots to give, and dxf-5 has no topology.
    assert downgrade(v3t, source="dxf-3t", target="dxf-5") is None
    assert (
        downgrade(v5 := v6[: len(DXF5_SLOTS)], source="dxf-5", target="dxf-3t") is None
    )
    assert v5 is not None
    assert readable_as("dxf-3t") == ("dxf-3t", "dxf-3", "dxf-2", "dxf-1")
    # A model on dxf-3t (the default model before dxf-3th) serves drawings
    # analysed as dxf-6 or dxf-7, not dxf-5.
    assert served_by("dxf-3t") == ("dxf-3t", "dxf-3th", "dxf-6", "dxf-7")
    assert served_by("brep-2") == ("brep-2",)


def test_the_default_models_version_adds_the_hatch_view_read_from_dxf7(
    drawings: dict[str, bytes],
) -> None:
    """``dxf-3th`` is ``dxf-3t`` and the hatch view (solid fills, hatched
    area), which a ``dxf-6`` or ``dxf-7`` vector holds."""
    v7 = vector(drawings["flange"])
    v6 = v7[: len(DXF6_SLOTS)]
    v3th = downgrade(v7, source="dxf-7", target="dxf-3th")
    assert v3th is not None and len(v3th) == len(DXF3TH_SLOTS)
    assert v3th == downgrade(v6, source="dxf-6", target="dxf-3th")
    hatch = v6[len(DXF4_SLOTS) - len(HATCH_SLOTS) : len(DXF4_SLOTS)]
    assert v3th == downgrade(v7, source="dxf-7", target="dxf-3t") + hatch
    # The generated flange hatches its section: the view is not empty.
    assert any(hatch)
    assert downgrade(v3th, source="dxf-3th", target="dxf-3t") == v3th[: -len(hatch)]
    assert readable_as("dxf-3th") == ("dxf-3th", "dxf-3t", "dxf-3", "dxf-2", "dxf-1")
    # Served by the analyses that hold both views: dxf-6 and dxf-7.
    assert served_by("dxf-3th") == ("dxf-3th", "dxf-6", "dxf-7")


def test_the_picture_survives_line_weight_duplicates_and_small_gaps() -> None:
    from tests.cad.conftest import dxf_bytes

    def ring_plate(doc, msp, *, weight=0, twice=False, gap=0.0):  # type: ignore[no-untyped-def]
        for _ in range(2 if twice else 1):
            msp.add_circle((0, 0), 50, dxfattribs={"lineweight": weight})
            msp.add_circle((0, 0), 20, dxfattribs={"lineweight": weight})
            # The outline with a gap cut in each side.
            for a, b in (((-60, -60), (60, -60)), ((60, -60), (60, 60))):
                mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
                msp.add_line(
                    a, (mid[0] - gap * (b[0] - a[0]), mid[1] - gap * (b[1] - a[1]))
                )
                msp.add_line(
                    (mid[0] + gap * (b[0] - a[0]), mid[1] + gap * (b[1] - a[1])), b
                )
            msp.add_line((60, 60), (-60, 60))
            msp.add_line((-60, 60), (-60, -60))

    base = vector(dxf_bytes(ring_plate))
    heavy = vector(dxf_bytes(lambda d, m: ring_plate(d, m, weight=100, twice=True)))
    gappy = vector(dxf_bytes(lambda d, m: ring_plate(d, m, gap=0.01)))
    assert_close(base, heavy, PICTURE, 1e-6)
    assert_close(base, gappy, PICTURE, 3e-2)


def test_words_see_title_layer_and_block_names_whatever_the_case() -> None:
    from tests.cad.conftest import dxf_bytes

    def named(title: str, layer: str):  # type: ignore[no-untyped-def]
        def draw(doc, msp):  # type: ignore[no-untyped-def]
            doc.layers.add(layer)
            msp.add_line((0, 0), (10, 0), dxfattribs={"layer": layer})
            msp.add_text(title, dxfattribs={"layer": layer})

        return draw

    words = [i for i, s in enumerate(DXF4_SLOTS) if s.name.startswith("words_")]
    lo, hi = words[0], words[-1] + 1
    a = vector(dxf_bytes(named("HEX BOLT M10", "CENTER")))[lo:hi]
    b = vector(dxf_bytes(named("hex bolt m12", "center")))[lo:hi]
    c = vector(dxf_bytes(named("WALL SECTION", "A-WALL")))[lo:hi]
    assert a == b
    assert a != c
    assert any(x > 0 for x in a)


def test_a_drawing_with_only_text_gets_neutral_geometry_and_picture_slots() -> None:
    from tests.cad.conftest import dxf_bytes

    v = vector(dxf_bytes(lambda doc, msp: msp.add_text("NOTES ONLY")))
    named = dict(zip([s.name for s in DXF7_SLOTS], v, strict=True))
    assert all(named[n] == 0.0 for n in PICTURE | OUTLINE)
    assert named["words_log_count"] > 0
    assert named["names_log_count"] > 0


coord = st.floats(allow_nan=True, allow_infinity=True, width=64)


@hsettings(max_examples=60, deadline=None)
@given(
    lines=st.lists(st.tuples(coord, coord, coord, coord), max_size=12),
    circles=st.lists(st.tuples(coord, coord, coord), max_size=6),
    arcs=st.lists(st.tuples(coord, coord, coord, coord, coord), max_size=4),
    splines=st.lists(
        st.lists(st.tuples(coord, coord), min_size=2, max_size=5), max_size=3
    ),
    texts=st.lists(st.text(max_size=20), max_size=4),
    hatches=st.lists(
        st.lists(st.tuples(coord, coord), min_size=1, max_size=5), max_size=3
    ),
    hatch_arcs=st.lists(st.tuples(coord, coord, coord, coord, coord), max_size=2),
    # Every unit code and some that name none: the size view converts by it.
    insunits=st.integers(min_value=-(2**31), max_value=2**31 - 1),
)
def test_dxf_vectors_never_hold_nan_whatever_the_coordinates(
    lines: list[tuple[float, ...]],
    circles: list[tuple[float, ...]],
    arcs: list[tuple[float, ...]],
    splines: list[list[tuple[float, float]]],
    texts: list[str],
    hatches: list[list[tuple[float, float]]],
    hatch_arcs: list[tuple[float, ...]],
    insunits: int,
) -> None:
    from tests.cad.conftest import dxf_bytes

    def draw(doc, msp):  # type: ignore[no-untyped-def]
        doc.header["$INSUNITS"] = insunits if insunits % 3 else insunits % 25
        for x0, y0, x1, y1 in lines:
            msp.add_line((x0, y0), (x1, y1))
        for x, y, r in circles:
            msp.add_circle((x, y), r)
        for x, y, r, a0, a1 in arcs:
            msp.add_arc((x, y), r, a0, a1)
        for pts in splines:
            msp.add_spline(pts)
        for t in texts:
            msp.add_text(t)
        for pts in hatches:
            msp.add_hatch().paths.add_polyline_path(pts)
        if hatch_arcs:
            edges = msp.add_hatch(color=3).paths.add_edge_path()
            for x, y, r, a0, a1 in hatch_arcs:
                edges.add_arc((x, y), r, a0, a1)
                edges.add_ellipse((x, y), (r, a0), ratio=0.5)

    try:
        content = dxf_bytes(draw)
    except Exception:  # noqa: BLE001 - ezdxf itself refuses some values
        return
    try:
        v = vector(content)
    except DomainError as exc:
        assert 400 <= exc.status_code < 500
        return
    assert len(v) == len(DXF7_SLOTS)
    assert all(math.isfinite(x) for x in v)


@hsettings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.tuples(coord, coord, coord, coord), max_size=20),
    circles=st.lists(st.tuples(coord, coord, coord), max_size=10),
)
def test_the_picture_is_finite_for_any_finite_or_huge_geometry(
    lines: list[tuple[float, ...]], circles: list[tuple[float, ...]]
) -> None:
    import numpy as np

    from apps.cad import picture

    # collect() keeps only finite values below 1e12; mirror that here.
    ok = [x for x in lines if all(math.isfinite(c) and abs(c) < 1e12 for c in x)]
    oc = [
        x
        for x in circles
        if all(math.isfinite(c) and abs(c) < 1e12 for c in x) and x[2] > 0
    ]
    v = picture.picture_slots(
        picture.pose(
            np.asarray(ok, dtype=float).reshape(-1, 4),
            np.asarray(oc, dtype=float).reshape(-1, 3),
        )
    )
    assert len(v) == len(picture.slot_specs())
    assert all(math.isfinite(x) for x in v)


def test_millions_of_tiny_segments_give_a_bounded_picture() -> None:
    import numpy as np

    from apps.cad import picture

    n = 2_000_000
    x = np.arange(n, dtype=float) * 1e-3
    lines = np.stack([x, np.zeros(n), x + 1e-3, np.zeros(n)], axis=1)
    v = picture.picture_slots(picture.pose(lines, np.zeros((0, 3))))
    # A straight line: everything within the first rings, nothing far out.
    assert all(math.isfinite(a) for a in v)
    assert v[-1] == 0.0


def test_circles_exported_as_short_lines_give_nearly_the_same_picture() -> None:
    from tests.cad.conftest import dxf_bytes

    holes = [(0, 0, 30), (60, 40, 8), (-60, 40, 8), (60, -40, 8), (-60, -40, 8)]

    def plate(doc, msp, *, exploded: bool):  # type: ignore[no-untyped-def]
        msp.add_lwpolyline([(-80, -55), (80, -55), (80, 55), (-80, 55)], close=True)
        for x, y, r in holes:
            if not exploded:
                msp.add_circle((x, y), r)
                continue
            # As OpenSCAD and many CAM exporters write a circle.
            n = 72
            pts = [
                (
                    x + r * math.cos(2 * math.pi * i / n),
                    y + r * math.sin(2 * math.pi * i / n),
                )
                for i in range(n + 1)
            ]
            for a, b in zip(pts, pts[1:], strict=False):
                msp.add_line(a, b)

    drawn = vector(dxf_bytes(lambda d, m: plate(d, m, exploded=False)))
    exported = vector(dxf_bytes(lambda d, m: plate(d, m, exploded=True)))
    assert_close(drawn, exported, PICTURE, 3e-2)
    # The geometry view, built on entity types, does see the difference.
    names = [s.name for s in DXF7_SLOTS]
    assert drawn[names.index("hist_circle")] > 0 == exported[names.index("hist_circle")]


def test_names_tell_hatch_patterns_sizes_and_where_a_word_is_written() -> None:
    from tests.cad.conftest import dxf_bytes

    def symbol(*, pattern="GRASS", note="DN150", layer="TREES"):  # type: ignore[no-untyped-def]
        def draw(doc, msp):  # type: ignore[no-untyped-def]
            doc.layers.add(layer)
            msp.add_lwpolyline([(0, 0), (40, 0), (40, 20), (0, 20)], close=True)
            hatch = msp.add_hatch(dxfattribs={"layer": layer})
            hatch.set_pattern_fill(pattern, scale=0.5)
            hatch.paths.add_polyline_path([(0, 0), (40, 0), (40, 20), (0, 20)])
            msp.add_text(note, dxfattribs={"layer": layer})

        return draw

    grass = vector(dxf_bytes(symbol()))
    # Another hatch pattern: the same dxf-3 vector, not the same dxf-4 one.
    other = vector(dxf_bytes(symbol(pattern="ANSI31")))
    assert grass[: len(DXF3_SLOTS)] == other[: len(DXF3_SLOTS)]
    assert [grass[i] for i in NAMES] != [other[i] for i in NAMES]
    named = dict(zip([s.name for s in DXF7_SLOTS], grass, strict=True))
    assert named["names_log_hatch_patterns"] > 0
    # A size of the same shape is the same family; another magnitude is not.
    assert vector(dxf_bytes(symbol(note="DN300"))) == grass
    assert vector(dxf_bytes(symbol(note="DN1500"))) != grass
    # The same word as the layer's name and in a note: two different drawings
    # to the names view, one to the pooled words view.
    a = vector(dxf_bytes(symbol(note="TREES", layer="PLANTING")))
    b = vector(dxf_bytes(symbol(note="PLANTING", layer="TREES")))
    words = [i for i, s in enumerate(DXF4_SLOTS) if s.name.startswith("words_")]
    assert [a[i] for i in words] == [b[i] for i in words]
    assert [a[i] for i in NAMES] != [b[i] for i in NAMES]


def test_hatch_slots_see_the_filled_area_wherever_and_however_large() -> None:
    from tests.cad.conftest import dxf_bytes

    def tile(*, filled: bool, m: Matrix44 | None = None):  # type: ignore[no-untyped-def]
        def draw(doc, msp):  # type: ignore[no-untyped-def]
            square = [(0, 0), (40, 0), (40, 40), (0, 40)]
            msp.add_lwpolyline(square, close=True)
            if filled:
                hatch = msp.add_hatch()  # solid fill
                hatch.paths.add_polyline_path(square[:2] + [(40, 20), (0, 20)])
            if m is not None:
                for e in msp:
                    e.transform(m)

        return draw

    names = [s.name for s in DXF7_SLOTS]
    hatch = [names.index(n) for n in names if n.startswith("hatch_")]
    empty = vector(dxf_bytes(tile(filled=False)))
    half = vector(dxf_bytes(tile(filled=True)))
    assert [empty[i] for i in hatch] == [0.0] * len(hatch)
    named = dict(zip(names, half, strict=True))
    assert named["hatch_log_solid"] > 0 and named["hatch_area"] > 0
    # The lower half is filled: its centre sits off the tile's.
    assert named["hatch_offset"] > 0.2
    moved = Matrix44.chain(
        Matrix44.scale(3.5),
        Matrix44.z_rotate(math.radians(33)),
        Matrix44.translate(500, -80, 0),
    )
    turned = vector(dxf_bytes(tile(filled=True, m=moved)))
    assert [turned[i] for i in hatch] == pytest.approx(
        [half[i] for i in hatch], abs=1e-3
    )


def test_segments_too_short_to_measure_give_a_neutral_picture() -> None:
    from tests.cad.conftest import dxf_bytes

    def specks(doc, msp):  # type: ignore[no-untyped-def]
        # Lengths that underflow once divided into sampling steps, and one of
        # length zero.
        msp.add_line((0, 0), (1e-321, 0))
        msp.add_line((0, 0), (0, 0))
        msp.add_line((0, 0), (0, 2e-321))

    v = vector(dxf_bytes(specks))
    named = dict(zip([s.name for s in DXF7_SLOTS], v, strict=True))
    assert all(math.isfinite(x) for x in v)
    assert all(named[n] == 0.0 for n in PICTURE)


def _plate_with_hole_grid(*, as_array: bool, rotation: float = 0.0) -> bytes:
    """A 200 x 140 plate with a 3 x 4 grid of 8 mm holes at 40 x 30 mm
    pitch, drawn hole by hole or as one MINSERT of a one-hole block."""
    doc = ezdxf.new("R2018")
    msp = doc.modelspace()
    turn = Matrix44.z_rotate(math.radians(rotation))
    corners = [(0, 0), (200, 0), (200, 140), (0, 140)]
    msp.add_lwpolyline([turn.transform((x, y, 0)) for x, y in corners], close=True)
    origin = (40.0, 40.0)
    if as_array:
        hole = doc.blocks.new("HOLE")
        hole.add_circle((0, 0), 4)
        ref = msp.add_blockref("HOLE", turn.transform((*origin, 0)))
        ref.dxf.rotation = rotation
        ref.grid(size=(3, 4), spacing=(30, 40))  # rows x columns, row x column step
    else:
        for row in range(3):
            for column in range(4):
                centre = (origin[0] + 40 * column, origin[1] + 30 * row, 0)
                msp.add_circle(turn.transform(centre), 4)
    stream = io.StringIO()
    doc.write(stream)
    return doc.encode(stream.getvalue())


def named(values: list[float]) -> dict[str, float]:
    return dict(zip([s.name for s in DXF7_SLOTS], values, strict=True))


@pytest.mark.parametrize("rotation", [0.0, 30.0])
def test_a_hole_grid_drawn_as_one_array_reads_as_every_hole(rotation: float) -> None:
    # A MINSERT (AutoCAD's rectangular array of a block) draws its block in
    # every cell; the vector must see twelve holes, as the preview shows them.
    drawn = named(vector(_plate_with_hole_grid(as_array=False, rotation=rotation)))
    array = named(vector(_plate_with_hole_grid(as_array=True, rotation=rotation)))
    assert array["log_circles"] == pytest.approx(drawn["log_circles"])
    for slot in (
        "circle_r_mean",
        "mirror_sym_major",
        "mirror_sym_minor",
        "point_sym",
        "bbox_aspect",
    ):
        assert array[slot] == pytest.approx(drawn[slot], abs=1e-6), slot
    for slot in PICTURE | OUTLINE | TOPOLOGY:
        assert array[slot] == pytest.approx(drawn[slot], abs=1e-3), slot


def test_a_hostile_array_of_empty_blocks_stops_at_the_walk_budget() -> None:
    doc = ezdxf.new("R2018")
    doc.blocks.new("EMPTY")
    msp = doc.modelspace()
    msp.add_line((0, 0), (10, 0))
    msp.add_blockref("EMPTY", (0, 0)).grid(size=(32767, 32767), spacing=(1, 1))
    stream = io.StringIO()
    doc.write(stream)
    out = analyze_bytes("x.dxf", doc.encode(stream.getvalue()), preview=False)
    assert all(math.isfinite(x) for x in out["features"])


def add_straight_sides(msp, w: float, h: float, r: float) -> None:  # type: ignore[no-untyped-def]
    """The four straight sides of a w x h rectangle with corners rounded to r."""
    for a, b in [
        ((r, 0), (w - r, 0)),
        ((w, r), (w, h - r)),
        ((w - r, h), (r, h)),
        ((0, h - r), (0, r)),
    ]:
        msp.add_line(a, b)


def fillet_corners(w: float, h: float, r: float) -> list:  # type: ignore[type-arg]
    """Each rounded corner's centre and start angle (degrees, a quarter turn)."""
    return [((w - r, r), 270), ((w - r, h - r), 0), ((r, h - r), 90), ((r, r), 180)]


def _plate_with_holes(*, holes_as: str, extrusion_z: float = 1.0) -> bytes:
    """A 120 x 80 plate with rounded corners (radius 10) and four 6 mm holes,
    the corners and holes drawn as CAD tools write them: ``"entities"`` as
    LINEs, ARCs and CIRCLEs; ``"bulges"`` as one closed polyline with arc
    segments and each hole a closed two-vertex polyline of two half-circles;
    ``"old_polylines"`` the same as the 2D POLYLINEs R12 exporters write."""
    doc = ezdxf.new("R2018")
    msp = doc.modelspace()
    w, h, r = 120.0, 80.0, 10.0
    holes = [(15.0, 15.0), (105.0, 15.0), (105.0, 65.0), (35.0, 50.0)]
    if holes_as == "entities":
        add_straight_sides(msp, w, h, r)
        for centre, start in fillet_corners(w, h, r):
            msp.add_arc(centre, r, start, start + 90)
        for x, y in holes:
            msp.add_circle((x, y), 3.0)
    else:
        k = math.tan(math.radians(90) / 4)  # a quarter circle's bulge
        outline = [
            (r, 0, 0),
            (w - r, 0, k),
            (w, r, 0),
            (w, h - r, k),
            (w - r, h, 0),
            (r, h, k),
            (0, h - r, 0),
            (0, r, k),
        ]
        add = msp.add_polyline2d if holes_as == "old_polylines" else msp.add_lwpolyline
        add(outline, format="xyb", close=True)
        for x, y in holes:
            add([(x - 3, y, 1.0), (x + 3, y, 1.0)], format="xyb", close=True)
    if extrusion_z < 0:
        # Mirrored about the y axis: ezdxf keeps polylines, arcs and circles
        # in their own plane and turns its normal down (extrusion 0, 0, -1),
        # as CAD tools save a mirrored part.
        for entity in msp:
            entity.transform(Matrix44.scale(-1, 1, 1))
    stream = io.StringIO()
    doc.write(stream)
    return doc.encode(stream.getvalue())


@pytest.mark.parametrize("polylines", ["bulges", "old_polylines"])
def test_arc_segments_of_a_polyline_read_as_the_arcs_and_circles_they_draw(
    polylines: str,
) -> None:
    # CAM and laser-cut exports draw holes as closed polylines of two
    # half-circle segments; read as points they were a line across the hole.
    drawn = named(vector(_plate_with_holes(holes_as="entities")))
    bulged = named(vector(_plate_with_holes(holes_as=polylines)))
    for slot in ("log_circles", "log_arcs", "log_concentric_groups", "circle_r_mean"):
        assert bulged[slot] == pytest.approx(drawn[slot], abs=1e-6), slot
    assert bulged["log_circles"] == pytest.approx(math.log1p(4))
    for slot in PICTURE | OUTLINE | TOPOLOGY | LAYOUT:
        assert bulged[slot] == pytest.approx(drawn[slot], abs=2e-3), slot


def test_a_polyline_mirrored_by_its_extrusion_reads_where_it_is_drawn() -> None:
    # Points of a polyline lie in its own plane; with the plane's normal
    # turned down they must be mirrored into the drawing's, or the outline
    # and the holes drawn as circles end up on opposite sides.
    drawn = named(vector(_plate_with_holes(holes_as="entities", extrusion_z=-1)))
    bulged = named(vector(_plate_with_holes(holes_as="bulges", extrusion_z=-1)))
    for slot in ("log_circles", "log_arcs", "circle_r_mean", "bbox_aspect"):
        assert bulged[slot] == pytest.approx(drawn[slot], abs=1e-6), slot
    for slot in PICTURE | OUTLINE | TOPOLOGY | LAYOUT:
        assert bulged[slot] == pytest.approx(drawn[slot], abs=2e-3), slot


def drawn_and_exported(build) -> tuple[list[float], list[float]]:  # type: ignore[no-untyped-def]
    """Vectors of ``build(doc, msp, exploded=...)`` as drawn and as an
    exporter writes it (curves as short LINEs)."""
    from tests.cad.conftest import dxf_bytes

    return (
        vector(dxf_bytes(lambda d, m: build(d, m, exploded=False))),
        vector(dxf_bytes(lambda d, m: build(d, m, exploded=True))),
    )


def add_lines_through(msp, pts) -> None:  # type: ignore[no-untyped-def]
    for a, b in zip(pts, pts[1:], strict=False):
        msp.add_line(a, b)


def test_fillets_drawn_as_arcs_or_short_lines_give_nearly_the_same_picture() -> None:
    # An arc is drawn over its sweep: a fillet is a quarter of a circle in
    # the picture, not the whole circle around the corner.

    w, h, r = 160.0, 110.0, 20.0
    corners = fillet_corners(w, h, r)

    def plate(doc, msp, *, exploded: bool):  # type: ignore[no-untyped-def]
        add_straight_sides(msp, w, h, r)
        msp.add_circle((w / 2, h / 2), 25)
        for (cx, cy), start in corners:
            if not exploded:
                msp.add_arc((cx, cy), r, start, start + 90)
                continue
            n = 16
            pts = [
                (
                    cx + r * math.cos(math.radians(start + 90 * i / n)),
                    cy + r * math.sin(math.radians(start + 90 * i / n)),
                )
                for i in range(n + 1)
            ]
            add_lines_through(msp, pts)

    drawn, exported = drawn_and_exported(plate)
    assert_close(drawn, exported, PICTURE | LAYOUT, 3e-2)


def test_ellipses_and_splines_are_drawn_in_the_picture() -> None:
    # A slot or a cam drawn as an ELLIPSE, a profile as a SPLINE: the picture
    # sees their curves, as it sees the same curves exported as short lines.
    fit = [(0, 0), (30, 18), (60, 8), (90, 30), (120, 0)]

    def drawing(doc, msp, *, exploded: bool):  # type: ignore[no-untyped-def]
        if not exploded:
            msp.add_ellipse((60, -40), major_axis=(50, 0), ratio=0.4)
            msp.add_spline(fit)
            return
        ellipse = msp.add_ellipse((60, -40), major_axis=(50, 0), ratio=0.4)
        pts = [(p.x, p.y) for p in ellipse.flattening(0.05)]
        msp.delete_entity(ellipse)
        spline = msp.add_spline(fit)
        curve = [(p.x, p.y) for p in spline.flattening(0.05)]
        msp.delete_entity(spline)
        add_lines_through(msp, pts)
        add_lines_through(msp, curve)

    drawn, exported = drawn_and_exported(drawing)
    assert_close(drawn, exported, PICTURE | LAYOUT, 5e-2)


def test_rounding_noise_on_straight_polyline_edges_is_no_arc() -> None:
    # Exporters leave bulges like 1e-5 on straight edges; read as arcs they
    # were circles of enormous radius that swamped the drawing's statistics.
    from tests.cad.conftest import dxf_bytes

    corners = [(0, 0), (150, 0), (150, 90), (90, 90), (90, 40), (0, 40)]

    def bracket(doc, msp, *, noise: float):  # type: ignore[no-untyped-def]
        msp.add_lwpolyline(
            [(x, y, noise * (-1) ** i) for i, (x, y) in enumerate(corners)],
            format="xyb",
            close=True,
        )
        msp.add_circle((40, 20), 6)
        msp.add_lwpolyline([(120, 60, 1.0), (130, 60, 1.0)], format="xyb", close=True)

    clean = named(vector(dxf_bytes(lambda d, m: bracket(d, m, noise=0.0))))
    noisy = named(vector(dxf_bytes(lambda d, m: bracket(d, m, noise=2e-5))))
    assert noisy == clean


def test_a_hole_split_into_arcs_reads_as_one_circle() -> None:
    # CAD exports often write a hole as two or four ARCs; counted as arcs it
    # was no hole, no bolt circle and no concentric bore.
    from tests.cad.conftest import dxf_bytes

    holes = [(0.0, 0.0, 20.0), (45.0, 0.0, 4.0), (-45.0, 0.0, 4.0), (0.0, 45.0, 4.0)]
    holes.append((0.0, -45.0, 4.0))

    def flange(doc, msp, *, pieces: int):  # type: ignore[no-untyped-def]
        msp.add_circle((0, 0), 60)
        for x, y, r in holes:
            if pieces == 1:
                msp.add_circle((x, y), r)
                continue
            step = 360 / pieces
            for k in range(pieces):
                msp.add_arc((x, y), r, 30 + k * step, 30 + (k + 1) * step)

    drawn = named(vector(dxf_bytes(lambda d, m: flange(d, m, pieces=1))))
    for pieces in (2, 4):
        split = named(vector(dxf_bytes(lambda d, m: flange(d, m, pieces=pieces))))
        for slot in (
            "log_circles",
            "log_arcs",
            "log_bolt_circles",
            "bolt_holes_max",
            "log_concentric_groups",
            "circle_r_mean",
            "mirror_sym_major",
        ):
            assert split[slot] == pytest.approx(drawn[slot], abs=1e-6), (pieces, slot)
        for slot in PICTURE | OUTLINE | TOPOLOGY | LAYOUT:
            assert split[slot] == pytest.approx(drawn[slot], abs=2e-2), (pieces, slot)
    # Arcs that leave a gap stay arcs.
    d = ezdxf.new("R2018")
    d.modelspace().add_arc((0, 0), 10, 0, 170)
    d.modelspace().add_arc((0, 0), 10, 180, 350)
    stream = io.StringIO()
    d.write(stream)
    gapped = named(vector(d.encode(stream.getvalue())))
    assert gapped["log_circles"] == 0 and gapped["log_arcs"] == pytest.approx(
        math.log1p(2)
    )


@pytest.mark.parametrize("pieces", [2, 4])
@pytest.mark.parametrize("written", ["arcs", "bulges"])
def test_a_flange_split_into_arcs_keeps_its_rim_and_its_bore(
    written: str, pieces: int
) -> None:
    # Rim and bore share a centre (here the origin, where exports put a round
    # part): split into ARCs or bulged polylines (as CAM exports write
    # circles) they are still two circles of two radii, not the rim twice.
    def split(msp, x, y, r):  # type: ignore[no-untyped-def]
        turn = [2 * math.pi * i / pieces for i in range(pieces + 1)]
        if written == "arcs":
            for a0, a1 in zip(turn, turn[1:], strict=False):
                msp.add_arc((x, y), r, math.degrees(a0), math.degrees(a1))
            return
        k = math.tan(math.pi / pieces / 2)
        pts = [(x + r * math.cos(a), y + r * math.sin(a), k) for a in turn[:-1]]
        msp.add_lwpolyline(pts, format="xyb", close=True)

    drawn = _flange_written(lambda msp, x, y, r: msp.add_circle((x, y), r))
    assert drawn["log_concentric_groups"] == pytest.approx(math.log1p(1))
    other = _flange_written(split)
    for slot in (*CIRCLE_SLOTS, "circle_r_min", "circle_r_max", "concentric_max"):
        assert other[slot] == pytest.approx(drawn[slot], abs=1e-6), slot
    for slot in PICTURE:
        assert other[slot] == pytest.approx(drawn[slot], abs=2e-2), slot


FLANGE_HOLES = [(0.0, 0.0, 60.0), (0.0, 0.0, 20.0)] + [
    (45 * math.cos(a), 45 * math.sin(a), 4.0)
    for a in (2 * math.pi * k / 6 for k in range(6))
]
CIRCLE_SLOTS = (
    "log_circles",
    "log_arcs",
    "log_bolt_circles",
    "bolt_holes_max",
    "log_concentric_groups",
    "circle_r_distinct",
    "circle_r_mean",
)


def _flange_written(write) -> dict[str, float]:  # type: ignore[no-untyped-def]
    from tests.cad.conftest import dxf_bytes

    def build(doc, msp):  # type: ignore[no-untyped-def]
        for x, y, r in FLANGE_HOLES:
            write(msp, x, y, r)

    return named(vector(dxf_bytes(build)))


@pytest.mark.parametrize("decimals", [6, 3])
def test_holes_exported_with_rounded_coordinates_still_read_as_circles(
    decimals: int,
) -> None:
    # Exports round a polyline's vertices; each quarter's centre,
    # computed from its rounded ends, then misses the others' by more than
    # a millionth of the radius.
    def rounded(msp, x, y, r):  # type: ignore[no-untyped-def]
        k = round(math.tan(math.pi / 8), 6)
        pts = [
            (
                round(x + r * math.cos(a), decimals),
                round(y + r * math.sin(a), decimals),
                k,
            )
            for a in (math.pi / 2 * i + 0.3 for i in range(4))
        ]
        msp.add_lwpolyline(pts, format="xyb", close=True)

    drawn = _flange_written(lambda msp, x, y, r: msp.add_circle((x, y), r))
    exported = _flange_written(rounded)
    for slot in CIRCLE_SLOTS:
        assert exported[slot] == pytest.approx(drawn[slot], abs=1e-3), slot


def test_a_hostile_file_of_one_circle_in_many_pieces_is_one_circle() -> None:
    # 20,000 ARCs of one hole and its bore: each compared with every other
    # would be 20,000 squared; the grid keeps one piece of a circle a cell.
    from tests.cad.conftest import dxf_bytes

    def build(doc, msp):  # type: ignore[no-untyped-def]
        step = 360 / 20_000
        for k in range(20_000):
            msp.add_arc((5, 5), 3, k * step, (k + 1) * step)
        msp.add_circle((5, 5), 1)

    got = named(vector(dxf_bytes(build)))
    assert got["log_circles"] == pytest.approx(math.log1p(2))
    assert got["log_arcs"] == 0


def test_a_circle_written_as_an_ellipse_or_one_whole_arc_reads_as_a_circle() -> None:
    # Illustrator, Inkscape and some CAD views write circles as ELLIPSEs of
    # ratio 1, whole or as two halves; an ARC can sweep the whole turn.
    def ellipse(msp, x, y, r):  # type: ignore[no-untyped-def]
        msp.add_ellipse((x, y), major_axis=(r, 0), ratio=1.0)

    def halves(msp, x, y, r):  # type: ignore[no-untyped-def]
        for a in (0.0, math.pi):
            msp.add_ellipse(
                (x, y),
                major_axis=(0, r),
                ratio=1.0,
                start_param=a,
                end_param=a + math.pi,
            )

    def whole_arc(msp, x, y, r):  # type: ignore[no-untyped-def]
        msp.add_arc((x, y), r, 30, 390)

    drawn = _flange_written(lambda msp, x, y, r: msp.add_circle((x, y), r))
    for write in (ellipse, halves, whole_arc):
        other = _flange_written(write)
        for slot in CIRCLE_SLOTS:
            assert other[slot] == pytest.approx(drawn[slot], abs=1e-6), (write, slot)
        for slot in PICTURE | OUTLINE:
            assert other[slot] == pytest.approx(drawn[slot], abs=2e-2), (write, slot)


def test_past_the_drawings_budget_polylines_are_read_as_their_points(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Exploding a bulged polyline costs about ten times reading its points;
    # a file of millions of arc segments must not take minutes.
    import apps.cad.features as features_module
    from tests.cad.conftest import dxf_bytes

    def holes(doc, msp):  # type: ignore[no-untyped-def]
        for i in range(6):
            x = 20.0 * i
            msp.add_lwpolyline(
                [(x - 3, 0, 1.0), (x + 3, 0, 1.0)], format="xyb", close=True
            )

    content = dxf_bytes(holes)
    assert named(vector(content))["log_circles"] == pytest.approx(math.log1p(6))
    monkeypatch.setattr(features_module, "_MAX_EXPLODED_PER_DRAWING", 4)
    budgeted = named(vector(content))
    # Two segments a hole: the first two holes are exploded, the rest read
    # as their points, and the vector stays finite.
    assert budgeted["log_circles"] == pytest.approx(math.log1p(2))
    assert all(math.isfinite(v) for v in budgeted.values())


def test_rounding_noise_in_an_arcs_sweep_does_not_move_the_picture() -> None:
    # The same half circle, its sweep a rounding error above pi as one file
    # writes it and exactly pi as another, is drawn with the same chords.
    from apps.cad.features import _arc_chords

    exact = np.array([[0.0, 0.0, 10.0, 0.0, math.pi]] * 9000)
    noisy = exact.copy()
    noisy[:, 4] = np.nextafter(math.pi, 4.0)
    assert _arc_chords(noisy).shape == _arc_chords(exact).shape
    assert np.allclose(_arc_chords(noisy), _arc_chords(exact))


def test_symmetry_cells_far_from_the_centre_are_matched_as_near_ones() -> None:
    # Cells past 2**30 (a stray point far from the part) take another path
    # than the packed keys; both must find the same neighbours.
    from apps.cad.features import _near_share

    rng = np.random.default_rng(3)
    ga, gb = (
        rng.integers(-50, 50, 400).astype(float),
        rng.integers(-50, 50, 400).astype(float),
    )
    qa, qb = (
        rng.integers(-52, 52, 300).astype(float),
        rng.integers(-52, 52, 300).astype(float),
    )
    near = _near_share((ga, gb), (qa, qb))
    far = 2.0**40
    assert 0.2 < near < 1.0
    assert _near_share((ga + far, gb - far), (qa + far, qb - far)) == near


def test_the_drawings_extent_reaches_the_rims_of_its_circles_and_arcs() -> None:
    # stats.bbox: a circle is as wide as its rim, an arc reaches as far as
    # it sweeps, and an arc's centre (off the drawing) is not drawn.
    from tests.cad.conftest import dxf_bytes

    def disc(doc, msp):  # type: ignore[no-untyped-def]
        msp.add_circle((10, 10), 50)

    def arched_plate(doc, msp):  # type: ignore[no-untyped-def]
        # A 100 x 40 plate whose top edge bulges 10 above its corners: an
        # arc of radius 130 about (50, -80).
        msp.add_lwpolyline([(100, 40), (100, 0), (0, 0), (0, 40)])
        r = 130.0
        half = math.degrees(math.asin(50 / r))
        msp.add_arc((50, 40 + 10 - r), r, 90 - half, 90 + half)

    got = analyze_bytes("d.dxf", dxf_bytes(disc), preview=False)["stats"]["bbox"]
    assert got == pytest.approx([-40, -40, 60, 60])
    got = analyze_bytes("p.dxf", dxf_bytes(arched_plate), preview=False)["stats"][
        "bbox"
    ]
    assert got == pytest.approx([0, 0, 100, 50], abs=1e-6)


def test_circles_in_a_block_stretched_on_one_axis_read_as_the_ellipses_drawn() -> None:
    # A block of a round boss and a quarter arc, inserted twice as wide as
    # high, draws an ellipse and an elliptic arc: it reads as those ELLIPSEs
    # drawn directly, not as circles at the block's x scale.
    from tests.cad.conftest import dxf_bytes

    def stretched(doc, msp):  # type: ignore[no-untyped-def]
        block = doc.blocks.new("BOSS")
        block.add_lwpolyline([(-20, -20), (20, -20), (20, 20), (-20, 20)], close=True)
        block.add_circle((0, 0), 10)
        block.add_arc((0, 0), 15, 0, 90)
        msp.add_blockref("BOSS", (100, 50), dxfattribs={"xscale": 2, "yscale": 1})

    def drawn(doc, msp):  # type: ignore[no-untyped-def]
        msp.add_lwpolyline([(60, 30), (140, 30), (140, 70), (60, 70)], close=True)
        msp.add_ellipse((100, 50), major_axis=(20, 0), ratio=0.5)
        msp.add_ellipse(
            (100, 50),
            major_axis=(30, 0),
            ratio=0.5,
            start_param=0,
            end_param=math.pi / 2,
        )

    got, want = named(vector(dxf_bytes(stretched))), named(vector(dxf_bytes(drawn)))
    assert got["log_circles"] == got["log_arcs"] == 0.0
    for slot in PICTURE | OUTLINE | TOPOLOGY | LAYOUT:
        assert got[slot] == pytest.approx(want[slot], abs=1e-4), slot

    # The same block inserted at one scale still draws circles.
    def uniform(doc, msp):  # type: ignore[no-untyped-def]
        stretched(doc, msp)
        msp.query("INSERT").first.dxf.yscale = 2

    assert named(vector(dxf_bytes(uniform)))["log_circles"] == pytest.approx(
        math.log1p(1)
    )
