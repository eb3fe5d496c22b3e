"""The generated 3D parts the default STEP/IGES model learns from: one seed
gives one file, every family's solid is valid and reads back as the solid that
was built."""

from __future__ import annotations

import random

import pytest

from apps.cad.pipeline import analyze_bytes
from apps.cad.synth import PART_CLASSES, parts3d
from apps.cad.synth import solids as S


def test_the_same_seed_gives_the_same_file_and_another_seed_another() -> None:
    for label in ("spur_gear", "ball_bearing", "compression_spring"):
        first = parts3d.generate_solid(label, random.Random(7))
        again = parts3d.generate_solid(label, random.Random(7))
        other = parts3d.generate_solid(label, random.Random(8))
        assert first == again
        assert first[1] != other[1]


def test_every_family_of_the_drawings_has_solids() -> None:
    assert set(parts3d.FAMILIES) == set(PART_CLASSES)
    with pytest.raises(ValueError, match="unknown part class 'sprocket'"):
        parts3d.build_solid("sprocket", random.Random(0))


def _volume(shape: object) -> float:
    from OCP.BRepGProp import BRepGProp
    from OCP.GProp import GProp_GProps

    props = GProp_GProps()
    BRepGProp.VolumeProperties_s(shape, props)
    return float(props.Mass())


@pytest.mark.parametrize("label", PART_CLASSES)
def test_each_family_builds_valid_solids_that_read_back_as_built(label: str) -> None:
    from OCP.BRepCheck import BRepCheck_Analyzer

    for seed in range(3):
        shape = parts3d.build_solid(label, random.Random(seed))
        assert BRepCheck_Analyzer(shape).IsValid(), (label, seed)
        solid = analyze_bytes("part.step", S.step_bytes(shape), preview=False)
        measured = solid["stats"]["solid"]
        assert solid["feature_version"] == "brep-2"
        assert measured["volume_mm3"] == pytest.approx(_volume(shape), rel=1e-6)
        name, content = parts3d.generate_solid(label, random.Random(seed))
        result = analyze_bytes(name, content, preview=False)
        assert result["format"] == ("iges" if name.endswith(".igs") else "step")
        # Placed, turned and perhaps written in inches: the same solid.
        assert result["stats"]["solid"]["volume_mm3"] == pytest.approx(
            measured["volume_mm3"], rel=1e-4
        )


def test_the_families_look_like_their_names() -> None:
    def solid(label: str, seed: int = 0) -> dict:  # type: ignore[type-arg]
        shape = parts3d.build_solid(label, random.Random(seed))
        return analyze_bytes("p.step", S.step_bytes(shape), preview=False)["stats"][
            "solid"
        ]

    bearing = solid("ball_bearing")
    assert bearing["solids"] >= 8  # two rings and at least six balls
    assert bearing["faces_by_type"]["sphere"] >= 6
    assert "torus" in bearing["faces_by_type"]  # the raceways
    assert "bspline" in solid("compression_spring")["faces_by_type"]
    washer = solid("washer")
    assert washer["genus"] == 1 and washer["solids"] == 1
    gear = solid("spur_gear")
    assert sum(gear["faces_by_type"].values()) >= 4 * 12  # flanks of 12+ teeth
    plate = solid("hole_plate")
    assert plate["genus"] == len(plate["holes"]) >= 1


def test_some_parts_are_iges_and_some_in_inches() -> None:
    formats, units = set(), set()
    for seed in range(30):
        name, content = parts3d.generate_solid("washer", random.Random(seed))
        result = analyze_bytes(name, content, preview=False)
        formats.add(result["format"])
        units.add(result["stats"]["solid"]["units"])
    assert formats == {"step", "iges"}
    assert units == {"mm", "inch"}
