from __future__ import annotations

import json
import random
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.cad.synth import PART_CLASSES, generate_part


@pytest.mark.django_db  # the prediction reads the model registry
def test_analyze_prints_one_json_line_per_file_and_fails_on_refusals(
    tmp_path: Path,
) -> None:
    good = tmp_path / "good.dxf"
    good.write_bytes(generate_part("washer", random.Random(1)))
    dwg = tmp_path / "old.dwg"
    dwg.write_bytes(b"AC1018\x00\x00\x00")
    out = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("analyze", str(good), str(dwg), str(good), "--json", stdout=out)
    assert exc.value.returncode == 1
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [Path(x["file"]).name for x in lines] == ["good.dxf", "old.dwg", "good.dxf"]
    assert {"features", "feature_version", "text", "title_block", "dimensions"} <= set(
        lines[0]
    )
    assert lines[0]["features"] == lines[2]["features"]
    assert "DWG" in lines[1]["error"] and lines[1]["status"] == 415


@pytest.mark.django_db
def test_analyze_exits_zero_when_everything_analysed(tmp_path: Path) -> None:
    good = tmp_path / "a.dxf"
    good.write_bytes(generate_part("hex_nut", random.Random(2)))
    out = StringIO()
    call_command("analyze", str(good), stdout=out)
    assert "a.dxf: dxf" in out.getvalue()


def test_generate_parts_writes_labelled_folders_with_anonymous_names(
    tmp_path: Path,
) -> None:
    call_command(
        "generate_parts",
        "--out",
        str(tmp_path),
        "--per-class",
        "2",
        "--seed",
        "3",
        stdout=StringIO(),
    )
    for label in PART_CLASSES:
        files = list((tmp_path / label).glob("*.dxf"))
        assert len(files) == 2
        assert all(label not in f.name for f in files)
        assert all(f.read_bytes().lstrip().startswith(b"0") for f in files)


def test_generator_is_deterministic_per_seed() -> None:
    assert generate_part("pulley", random.Random(5)) == generate_part(
        "pulley", random.Random(5)
    )
