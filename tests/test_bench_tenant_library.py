"""bench/tenant_library.py --grouped-splits: the unseen-symbol figures in
docs/model-quality.md are the mean of several whole-group splits."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest

from apps.cad.synth import generate_part
from tests.conftest import PROJECT_ROOT


def tenant_library(*args: str, env: dict[str, str] | None = None) -> dict:
    """bench/tenant_library.py run with ``args``: its last JSON line."""
    result = subprocess.run(
        [sys.executable, "bench/tenant_library.py", *args, "--workers", "1"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_whole_groups_held_out_on_several_split_seeds(tmp_path):
    # Three families, each drawn as eight symbols in two representations
    # (B- and V-, as NLCS names them): a group is a symbol.
    for family in ("washer", "hex_nut", "flange"):
        folder = tmp_path / family
        folder.mkdir()
        for i in range(8):
            for prefix, seed in (("B-", 2 * i), ("V-", 2 * i + 1)):
                content = generate_part(family, random.Random(seed))
                (folder / f"{prefix}{family}{i}.dxf").write_bytes(content)

    line = tenant_library(
        "--data",
        str(tmp_path),
        "--group-pattern",
        "^([BV]-)+",
        "--min-distinct",
        "3",
        "--grouped-splits",
        "3",
    )
    splits = line["grouped_splits"]
    assert splits["seeds"] == [0, 1, 2]
    key = "top5_learned_with_classes_heldout_vs_train"
    # Split 0 is the one grouped_split reports; the mean is of all three.
    assert splits[key][0] == line["grouped_split"][key]
    assert splits["macro_f1"][0] == line["grouped_split"]["macro_f1"]
    for name in ("macro_f1", key):
        values = splits[name]
        assert len(values) == 3 and all(0 <= v <= 1 for v in values)
        assert splits[f"mean_{name}"] == pytest.approx(sum(values) / 3, abs=1e-4)


def test_a_library_taught_on_the_default_base_with_and_without_its_names(tmp_path):
    # Two product lines of look-alike flanges, named for their line: the
    # drawings alone cannot tell them apart, their names can.
    data = tmp_path / "library"
    for line in ("orion", "vega"):
        (data / line).mkdir(parents=True)
    for i in range(16):
        line = ("orion", "vega")[i % 2]
        content = generate_part("flange", random.Random(i))
        (data / line / f"{line}_Flansch-{i:03d}.dxf").write_bytes(content)
    env = {
        **os.environ,
        # A small base, drawn once for both runs.
        "CADML_TRAIN_BASE_PER_CLASS": "4",
        "CADML_GENERATED_SET_DIR": str(tmp_path / "generated"),
    }
    lines = {
        names: tenant_library(
            "--data",
            str(data),
            "--min-distinct",
            "3",
            "--base",
            "default",
            "--names",
            names,
            env=env,
        )
        for names in ("none", "original")
    }
    alone = lines["none"]["on_default_base"]
    named = lines["original"]["on_default_base"]
    assert alone["base_rows"] == named["base_rows"] > 0
    assert alone["taught_rows"] == named["taught_rows"] == 12
    assert alone["names"] is None
    assert named["names"]["words"] >= 2
    # Scored on the quarter kept from training, over the library's labels.
    assert named["test_rows"] == 4
    assert named["macro_f1"] == 1.0 > alone["macro_f1"]
