"""The generator of other domains' drawings (what the default model learns a
part is not): every kind reads as a DXF with a finite vector, and the same seed
gives the same file."""

from __future__ import annotations

import random

import numpy as np
import pytest

from apps.cad.pipeline import analyze_bytes
from apps.cad.synth import OTHER_KINDS, generate_other


@pytest.mark.parametrize("kind", OTHER_KINDS)
def test_each_kind_is_a_drawing_with_a_finite_vector(kind: str) -> None:
    content = generate_other(random.Random(3), kind)
    out = analyze_bytes(f"{kind}.dxf", content, preview=False)
    vec = np.asarray(out["features"], dtype=float)
    # A library symbol is a few strokes and a sample file a handful of
    # entities; every other kind is a whole sheet.
    least = {"symbol": 3, "sample": 1}.get(kind, 6)
    assert out["stats"]["entities"] >= least
    assert np.isfinite(vec).all()


def test_the_same_seed_gives_the_same_file() -> None:
    a = generate_other(random.Random(11))
    assert a == generate_other(random.Random(11))
    assert a != generate_other(random.Random(12))


def test_sample_files_hold_a_handful_of_assorted_entities() -> None:
    """As CAD libraries' test files do: one to six entities, of many types
    over the kind's drawings, not a drawing of anything."""
    import io

    import ezdxf

    types: set[str] = set()
    for seed in range(30):
        content = generate_other(random.Random(seed), "sample")
        doc = ezdxf.read(io.StringIO(content.decode("utf-8", "replace")))
        found = [e.dxftype() for e in doc.modelspace()]
        assert 1 <= len(found) <= 6, found
        types.update(found)
    assert {"LINE", "CIRCLE", "ELLIPSE", "SPLINE", "TEXT", "POINT", "HATCH"} <= types
