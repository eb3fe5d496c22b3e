"""The reader on real drawings nobody in this project made (``tests/cad/real_set``)."""

from __future__ import annotations

import pytest

from tests.cad.real_set import RealCase, analyse, cases, dimension_misses, read
from tests.cad.titleblock_set import score
from tests.conftest import CORPUS_DIR, require

CASES = cases()
# Committed drawings and those of the shared corpus: what CI sees.
CI_SET = [c for c in CASES if c.committed or c.in_corpus]
COMMITTED = [c for c in CASES if c.committed]


def _available(case: RealCase) -> None:
    if not case.available():
        pytest.skip(
            f"{case.path} is absent or changed: fetch {case.source['repo']} "
            f"{case.source['path']} at {case.source['commit']} into it"
        )


@pytest.fixture(scope="module")
def committed() -> dict:
    require(
        all(c.available() for c in CI_SET if c.in_corpus),
        f"DXF corpus not found at {CORPUS_DIR}",
    )
    return score({c.name: read(c) for c in CI_SET}, CI_SET)


def test_the_committed_set_is_real_sourced_and_small() -> None:
    assert len(COMMITTED) >= 4
    for case in COMMITTED:
        assert case.path.is_file(), case.path
        assert (case.path.parent / "LICENSE").is_file()
        assert {"repo", "path", "commit", "licence"} <= set(case.source)
    total = sum(c.path.stat().st_size for c in COMMITTED)
    assert total < 5 * 1024 * 1024


def test_no_wrong_value_on_the_committed_and_corpus_real_set(committed: dict) -> None:
    assert committed["precision"] >= 0.95, committed["misses"]
    for lang, figures in committed["languages"].items():
        assert figures["precision"] >= 0.95, (lang, committed["misses"])


def test_recall_target_on_the_committed_and_corpus_real_set(committed: dict) -> None:
    assert committed["recall"] >= 0.85, committed["misses"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_each_real_drawing_gives_no_wrong_value(case: RealCase) -> None:
    _available(case)
    block = read(case)
    got = {k: v["value"] for k, v in block.items() if v}
    wrong = {
        k: (v, case.expected.get(k))
        for k, v in got.items()
        if v.strip() != case.expected.get(k)
    }
    assert not wrong


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c.source["repo"] == "hmmueller/PathDxf2GCode"],
    ids=lambda c: c.name,
)
def test_labelled_fields_of_committed_drawings_are_read(case: RealCase) -> None:
    # "Znr." and "Maßstab" carry their values inline; the date stands alone
    # in its cell next to them.
    block = read(case)
    for field in ("drawing_number", "scale", "date"):
        assert (block[field] or {}).get("value") == case.expected[field], field


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.dimensions], ids=lambda c: c.name
)
def test_dimension_values_of_real_drawings_are_exact(case: RealCase) -> None:
    _available(case)
    assert dimension_misses(case, analyse(case)) == []
