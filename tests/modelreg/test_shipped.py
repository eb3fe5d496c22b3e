"""The real drawings shipped for the default model (apps/modelreg/shipped)."""

from __future__ import annotations

import csv
import tarfile
from pathlib import Path

import numpy as np
import pytest

from apps.cad.synth import NOT_A_PART, PART_CLASSES
from apps.modelreg import training
from tests.conftest import PROJECT_ROOT

SHIPPED = PROJECT_ROOT / "apps" / "modelreg" / "shipped"
# Licences that let a drawing be redistributed with the project.
REDISTRIBUTABLE = {"CC0-1.0", "CC-BY-3.0", "CC-BY-4.0", "MIT", "BSD-3-Clause"}


def _tsv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def _sources() -> list[dict[str, str]]:
    return _tsv(SHIPPED / "SOURCES.tsv")


def test_every_shipped_drawing_is_listed_with_a_licence_that_lets_it_ship():
    with tarfile.open(training.SHIPPED_DRAWINGS) as tar:
        members = sorted(m.name for m in tar.getmembers() if m.isfile())
    rows = _sources()
    assert sorted(r["file"] for r in rows) == members
    assert {r["licence"] for r in rows} <= REDISTRIBUTABLE
    assert {r["class"] for r in rows} <= {*PART_CLASSES, NOT_A_PART}
    assert all(r["file"].split("/")[0] == r["class"] for r in rows)
    assert all(len(r["commit"]) == 40 for r in rows)
    # The notices MIT and BSD ask for are in the folder's README.
    notices = (SHIPPED / "README.md").read_text()
    for repo in {r["repo"] for r in rows if r["licence"] in ("MIT", "BSD-3-Clause")}:
        assert f"github.com/{repo}" in notices, repo


def _listing(name: str) -> list[dict[str, str]]:
    return _tsv(PROJECT_ROOT / "docs" / "data" / name)


@pytest.mark.parametrize(
    "listing", ["real-drawings.tsv", "flowcharts.tsv", "architecture.tsv"]
)
def test_no_shipped_drawing_comes_from_a_repository_the_figures_are_measured_on(
    listing: str,
) -> None:
    measured = {r["repo"] for r in _listing(listing)}
    assert measured and not measured & {r["repo"] for r in _sources()}


def test_only_cc0_standard_part_sheets_ship_and_the_others_stay_held_out():
    # The CC0 catalogue sheets of std ship (each sheet and the views cut from
    # it), measured by bench/shipped_holdout.py one sheet held out at a time;
    # the sheets under other licences never ship and are answered as unseen.
    shipped = {(r["repo"], r["path"]) for r in _sources()}
    std = _listing("standard-parts.tsv")
    held_out = [r for r in std if (r["repo"], r["path"]) not in shipped]
    assert held_out and len(held_out) < len(std)
    for row in std:
        if (row["repo"], row["path"]) in shipped:
            assert row["licence"].startswith("CC0-1.0"), row["file"]
        else:
            assert not row["licence"].startswith("CC0-1.0"), row["file"]


def test_the_default_model_learns_every_shipped_drawing(settings):  # type: ignore[no-untyped-def]
    real = training.shipped_dataset(workers=1)
    rows = _sources()
    assert len(real.y) == len(rows)
    assert sorted(real.y) == sorted(r["class"] for r in rows)
    assert real.feature_version == settings.CADML_SYNTHETIC_FEATURE_VERSION
    assert (
        real.X.shape[1]
        == training.synthetic_dataset(per_class=1, seed=0, workers=1).X.shape[1]
    )
    assert np.isfinite(real.X).all()


def test_the_default_set_holds_them_unless_turned_off(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.CADML_GENERATED_SET_DIR = tmp_path
    generated = training.synthetic_dataset(per_class=1, seed=0, workers=1)
    with_real = training.generated_base(per_class=1, seed=0, workers=1)
    settings.CADML_DEFAULT_SHIPPED_DRAWINGS = False
    without = training.generated_base(per_class=1, seed=0, workers=1)
    # Kept apart on disk: turning them off is not answered from the cache.
    assert len(list(tmp_path.glob("generated-*.npz"))) == 2
    assert np.array_equal(without.X, generated.X)
    assert len(with_real.y) == len(generated.y) + len(_sources())
    assert np.array_equal(with_real.X[: len(generated.y)], generated.X)
    assert with_real.summary["shipped_rows"] == len(_sources())
