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


def _solid_fills(content: bytes) -> int:
    import io

    import ezdxf

    doc = ezdxf.read(io.StringIO(content.decode("utf-8", "replace")))
    layouts = [doc.modelspace(), *doc.blocks]
    return sum(
        1 for layout in layouts for e in layout.query("HATCH") if e.dxf.solid_fill
    )


def test_symbols_schematics_and_signs_fill_shapes_solid_and_parts_never_do() -> None:
    """Symbol libraries, schematics, sign and PCB files fill shapes solid; a
    part drawing hatches its sections with a pattern. The default model reads
    the hatch view (``dxf-3th``), so it can learn the difference only if the
    generated drawings show it."""
    from apps.cad.features import DXF3TH_SLOTS, downgrade
    from apps.cad.synth import PART_CLASSES, generate_part

    solid_slot = [s.name for s in DXF3TH_SLOTS].index("hatch_log_solid")
    for kind in ("symbol", "schematic", "pcb", "lettering", "flowchart"):
        fills = [
            _solid_fills(generate_other(random.Random(s), kind)) for s in range(12)
        ]
        # Some drawings of each kind, not all of them.
        assert 0 < sum(n > 0 for n in fills) < 12, (kind, fills)
    filled = next(
        c
        for s in range(12)
        if _solid_fills(c := generate_other(random.Random(s), "symbol"))
    )
    vector = analyze_bytes("symbol.dxf", filled, preview=False)["features"]
    read = downgrade(vector, source="dxf-7", target="dxf-3th")
    assert read is not None and read[solid_slot] > 0
    for label in PART_CLASSES:
        for seed in range(2):
            assert _solid_fills(generate_part(label, random.Random(seed))) == 0, label
