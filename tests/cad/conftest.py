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


def undecodable_text_dxf() -> bytes:
    """An R12 drawing saved under the Windows-1252 code page whose layer name
    and title hold bytes that code page does not define (0x8F, 0x90: a
    Shift-JIS drawing saved without its code page, as real ones are), and a
    text escaping a lone surrogate (``\\U+D800``)."""
    doc = ezdxf.new("R12")
    doc.layers.add("PLAN")
    msp = doc.modelspace()
    msp.add_line((0, 0), (100, 0), dxfattribs={"layer": "PLAN"})
    msp.add_circle((50, 20), 10, dxfattribs={"layer": "PLAN"})
    msp.add_text("TITLE: HOUSE", dxfattribs={"layer": "PLAN", "height": 5})
    msp.add_text("NOTE A\\U+D800B").set_placement((0, -20))
    stream = io.StringIO()
    doc.write(stream)
    raw = stream.getvalue().encode("cp1252")
    return raw.replace(b"PLAN", b"PLAN\x8f\x90").replace(
        b"HOUSE", b"\x8a\xee\x8f\x80\x90"
    )


@pytest.fixture
def part() -> bytes:
    return generate_part("flange", random.Random(7))
