"""The README and docs/ run: every fenced block marked ``sh runnable`` is executed
against a live platform in embedded mode, as a user would paste it.

The convention is described in docs/architecture.md ("The documentation runs").
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require
from tests.servers import PROJECT_ROOT, free_port, wait_for_http

pytestmark = pytest.mark.integration

RUNNABLE = re.compile(r"^```sh runnable\n(.*?)^```$", re.S | re.M)
DOCUMENTS = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]


def runnable_blocks(path: Path) -> list[str]:
    return RUNNABLE.findall(path.read_text())


def wait_for_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {port} after {timeout}s")
            time.sleep(0.2)


class Platform:
    def __init__(self, root: Path, env: dict[str, str], key: str, ports: dict) -> None:
        self.root, self.env, self.key, self.ports = root, env, key, ports

    def prepare(self, block: str) -> str:
        """The block with the example addresses moved to this platform's."""
        return (
            block.replace("127.0.0.1:8000", f"127.0.0.1:{self.ports['http']}")
            .replace("127.0.0.1:50051", f"127.0.0.1:{self.ports['grpc']}")
            .replace("/tmp/", f"{self.root}/scratch/")
        )


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """`make run` in embedded mode: bootstrap, then `manage.py serve` (daphne,
    gRPC, batch reaper) on a fresh SQLite file, without Redis or Celery."""
    for tool in ("curl", "jq", "bash"):
        require(shutil.which(tool) is not None, f"{tool} is not installed")
    root = tmp_path_factory.mktemp("docs")
    (root / "scratch").mkdir()
    ports = {"http": free_port(), "grpc": free_port()}
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "CELERY_BROKER_URL",
            "DJANGO_SETTINGS_MODULE",
            "CADML_REQUIRE_SERVICES",
        }
    }
    venv_bin = str(Path(sys.executable).parent)
    env |= {
        "DATABASE_URL": f"sqlite:///{root / 'db.sqlite3'}",
        "MEDIA_ROOT": str(root / "media"),
        "HOST": "127.0.0.1",
        "PORT": str(ports["http"]),
        "CADML_GRPC_BIND": f"127.0.0.1:{ports['grpc']}",
        "PATH": f"{venv_bin}{os.pathsep}{env.get('PATH', '')}",
    }

    def manage(*args: str) -> str:
        done = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *args],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    out = manage("bootstrap", "--skip-model")
    found = re.search(r"API key:\s+(\S+)", out)
    assert found, out
    # bootstrap's default models take most of a minute each to train on a
    # busy machine; small ones (4 drawings or solids a class) are active
    # instead, so the examples run as after `make run`, and the README's
    # `bootstrap --reset-password` finds them and trains none.
    manage("ensure_default_model", "--per-class", "4", "--per-class-3d", "4")
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "serve"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{ports['http']}/healthz", timeout=120)
        wait_for_port(ports["grpc"])
        yield Platform(root, env | {"KEY": found.group(1)}, found.group(1), ports)
    finally:
        # serve and the processes it started share a session of their own.
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_the_readme_and_the_docs_have_runnable_examples() -> None:
    blocks = runnable_blocks(PROJECT_ROOT / "README.md")
    # Two commands, first analysis, then one per capability.
    assert len(blocks) >= 9
    text = (PROJECT_ROOT / "README.md").read_text()
    assert len(text.splitlines()) < 400
    # Nothing links outside the repository.
    for document in DOCUMENTS:
        assert "../shared/ARCHITECTURE.md" not in document.read_text(), document


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.S | re.M)
    return {github_anchor(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}


def test_links_between_the_documents_lead_somewhere() -> None:
    broken = []
    for document in DOCUMENTS:
        text = re.sub(r"^```.*?^```", "", document.read_text(), flags=re.S | re.M)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            file, _, anchor = target.partition("#")
            linked = (document.parent / file).resolve() if file else document
            if not linked.exists():
                broken.append(f"{document.name}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                broken.append(f"{document.name}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize(
    "document",
    [d for d in DOCUMENTS if runnable_blocks(d)],
    ids=lambda d: d.name,
)
def test_every_runnable_block_runs(platform: Platform, document: Path) -> None:
    for number, block in enumerate(runnable_blocks(document), 1):
        script = platform.prepare(block)
        result = subprocess.run(  # noqa: S603
            ["bash", "-euo", "pipefail", "-c", script],  # noqa: S607
            cwd=PROJECT_ROOT,
            env=platform.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, (
            f"{document.name}, runnable block {number} exited {result.returncode}:\n"
            f"{block}\n--- stdout ---\n{result.stdout[-2000:]}\n"
            f"--- stderr ---\n{result.stderr[-3000:]}"
        )
