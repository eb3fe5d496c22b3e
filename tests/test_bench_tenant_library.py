"""bench/tenant_library.py --grouped-splits: the unseen-symbol figures in
docs/model-quality.md are the mean of several whole-group splits."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

from apps.cad.synth import generate_part
from tests.conftest import PROJECT_ROOT


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

    result = subprocess.run(
        [
            sys.executable,
            "bench/tenant_library.py",
            "--data",
            str(tmp_path),
            "--group-pattern",
            "^([BV]-)+",
            "--min-distinct",
            "3",
            "--grouped-splits",
            "3",
            "--workers",
            "1",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    line = json.loads(result.stdout.strip().splitlines()[-1])
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
