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
    # A library symbol is a few strokes; every other kind is a whole sheet.
    assert out["stats"]["entities"] > (2 if kind == "symbol" else 5)
    assert np.isfinite(vec).all()


def test_the_same_seed_gives_the_same_file() -> None:
    a = generate_other(random.Random(11))
    assert a == generate_other(random.Random(11))
    assert a != generate_other(random.Random(12))
