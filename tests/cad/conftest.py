from __future__ import annotations

import io
import random
from pathlib import Path

import ezdxf
import pytest

from apps.cad.synth import generate_part
from tests.conftest import CORPUS_DIR


def corpus_files() -> list[Path]:
    """Every DXF of the shared corpus, or [] when the folder is absent."""
    if not CORPUS_DIR.is_dir():
        return []
    return sorted(p for p in CORPUS_DIR.rglob("*") if p.suffix.lower() == ".dxf")


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.CADML_SEARCH_DIR = tmp_path / "search"
    # apps.versioning's usage tally outlives each test's rolled-back tenants and
    # its periodic flush then writes rows for tenants that no longer exist
    # (reported to the lead); keep it from flushing in the middle of our tests.
    settings.CADML_API_USAGE_FLUSH_S = 10**9


def dxf_bytes(build, version: str = "R2018") -> bytes:  # type: ignore[no-untyped-def]
    """A small DXF made by ``build(doc, msp)``."""
    doc = ezdxf.new(version)
    build(doc, doc.modelspace())
    stream = io.StringIO()
    doc.write(stream)
    return doc.encode(stream.getvalue())


@pytest.fixture
def part() -> bytes:
    return generate_part("flange", random.Random(7))
