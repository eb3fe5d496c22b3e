"""`make run` on a fresh clone: the long install step shows what it is doing."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.servers import PROJECT_ROOT


def test_the_install_step_shows_progress_instead_of_silence() -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    # -n: print what a fresh clone's `make run` would run, run nothing; -B:
    # as if nothing were installed yet.
    dry = subprocess.run(
        ["make", "-n", "-B", "install"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    installs = [line for line in dry.splitlines() if "pip install" in line]
    assert installs, dry
    for line in installs:
        assert "-q" not in line.split() and "--quiet" not in line, line
        assert "--progress-bar on" in line, line
    assert "Installing cadml's dependencies" in dry
