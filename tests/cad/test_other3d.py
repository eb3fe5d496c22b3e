"""Generated 3D models of other domains, what the default STEP/IGES model
learns is no part of its families: one seed gives one file, every kind is a
valid solid that reads back, and each kind is what its name says."""

from __future__ import annotations

import random

import pytest

from apps.cad.pipeline import analyze_bytes
from apps.cad.synth import NOT_A_PART, PART_CLASSES, other3d
from apps.cad.synth import solids as S


def _solid(kind: str, seed: int = 0) -> dict:  # type: ignore[type-arg]
    shape = other3d.build_other_solid(random.Random(seed), kind)
    result = analyze_bytes("m.step", S.step_bytes(shape), preview=False)
    assert result["feature_version"] == "brep-2"
    return result["stats"]["solid"]  # type: ignore[no-any-return]


def test_the_same_seed_gives_the_same_file_and_another_seed_another() -> None:
    first = other3d.generate_other_solid(random.Random(7))
    assert first == other3d.generate_other_solid(random.Random(7))
    assert first[1] != other3d.generate_other_solid(random.Random(8))[1]
    with pytest.raises(ValueError, match="unknown kind 'car'"):
        other3d.build_other_solid(random.Random(0), "car")


@pytest.mark.parametrize("kind", sorted(other3d.KINDS))
def test_each_kind_builds_valid_solids_that_read_back(kind: str) -> None:
    from OCP.BRepCheck import BRepCheck_Analyzer

    for seed in range(3):
        shape = other3d.build_other_solid(random.Random(seed), kind)
        assert BRepCheck_Analyzer(shape).IsValid(), (kind, seed)
        name, content = other3d.generate_other_solid(random.Random(seed), kind)
        result = analyze_bytes(name, content, preview=False)
        assert result["format"] == ("iges" if name.endswith(".igs") else "step")
        assert result["stats"]["solid"]["volume_mm3"] > 0


def test_the_kinds_look_like_their_names() -> None:
    board = _solid("board")
    assert board["solids"] >= 9  # the board and at least eight components
    assert board["genus"] >= 4  # its mounting holes
    heatsink = _solid("heatsink")
    assert heatsink["solids"] == 1 and heatsink["faces_by_type"]["plane"] >= 6 * 4
    assert set(_solid("freeform")["faces_by_type"]) >= {"bspline"}
    building = _solid("building")
    lo, hi = building["bbox_mm"][:3], building["bbox_mm"][3:]
    assert min(b - a for a, b in zip(lo, hi, strict=True)) >= 2400  # a storey
    # Two to five parts of different families, each a body of its own.
    assert 2 <= _solid("assembly")["solids"]


def test_the_3d_training_set_holds_them_as_not_a_part_in_the_drawings_share() -> None:
    from apps.modelreg import training

    data = training.synthetic_dataset(per_class=4, seed=3, workers=1, solids=True)
    labels = list(data.y)
    assert set(labels) == {*PART_CLASSES, NOT_A_PART}
    # Every file was written and read: the IGES writer's own failures on some
    # shapes fall back to STEP.
    assert labels.count(NOT_A_PART) == training.NOT_A_PART_PER_CLASS * 4
    assert len(labels) == (len(PART_CLASSES) + training.NOT_A_PART_PER_CLASS) * 4
