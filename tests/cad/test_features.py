"""Feature vectors: versioned, named, deterministic and invariant as documented."""

from __future__ import annotations

import io
import math
import random

import ezdxf
import pytest
from ezdxf.math import Matrix44

from apps.cad.features import DXF_SLOTS, schema
from apps.cad.pipeline import analyze_bytes
from apps.cad.synth import PART_CLASSES, generate_part


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
    names = [s.name for s in DXF_SLOTS]
    bad = {
        n: (x, y)
        for n, x, y in zip(names, a, b, strict=True)
        if n in slots and not math.isclose(x, y, rel_tol=tol, abs_tol=tol)
    }
    assert not bad, bad


ALL = {s.name for s in DXF_SLOTS}
ROTATION_EXACT = {s.name for s in DXF_SLOTS if s.rotation == "exact"}


def test_same_bytes_give_the_identical_vector(drawings: dict[str, bytes]) -> None:
    b = drawings["flange"]
    assert vector(b) == vector(b)
    assert len(vector(b)) == len(DXF_SLOTS)


@pytest.mark.parametrize("label", ["flange", "hole_plate", "stepped_shaft", "pulley"])
def test_translation_and_uniform_scale_leave_every_slot(
    drawings: dict[str, bytes], label: str
) -> None:
    base = vector(drawings[label])
    moved = vector(transformed(drawings[label], Matrix44.translate(1234.5, -987.0, 0)))
    scaled = vector(transformed(drawings[label], Matrix44.scale(7.25)))
    assert_close(base, moved, ALL, 1e-3)
    assert_close(base, scaled, ALL, 1e-3)


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
    if angle == 90:
        # A quarter turn keeps even the bounding-box slot.
        assert_close(base, turned, ALL, 2e-2)


def test_a_flange_shows_a_bolt_circle_and_concentric_circles() -> None:
    b = generate_part("flange", random.Random(3))
    v = dict(zip([s.name for s in DXF_SLOTS], vector(b), strict=True))
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

    names = [s.name for s in DXF_SLOTS]
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
    assert set(s) == {"dxf-1", "mesh-1", "brep-1"}
    assert [x["name"] for x in s["dxf-1"]] == [x.name for x in DXF_SLOTS]
    for slot in s["dxf-1"] + s["mesh-1"]:
        assert slot["description"]
        assert slot["invariance"]["translation"] == "exact"
        assert slot["invariance"]["rotation"] in {"exact", "robust"}
