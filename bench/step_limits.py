"""A STEP assembly at the upload limit through the isolation pool.

Generates (in a temporary folder, never committed) an AP214 assembly of
distinct perforated plates written through OpenCascade's XCAF writer, just
under ``CADML_MAX_UPLOAD_MB``, and analyses it the way an upload is analysed
(``services.content_analyze``: the upload checks, then the STEP pool with
``CADML_PARSE_TIMEOUT_S`` and ``CADML_PARSE_MEMORY_MB``). Reports whether it
finished or was refused and how long that took against the time limit, and the
pool worker's peak resident and virtual memory (``VmHWM``/``VmPeak`` in
/proc, polled; RLIMIT_AS caps the virtual size) against the memory cap. The
kernel's bare read of the same file in this process is given for scale.

Prints one JSON line. ``--mb N`` sets the target size (default: 1 MB under
the upload limit).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def assembly_of_size(target_bytes: int) -> tuple[bytes, int]:
    """(STEP bytes, number of parts): distinct plates (scaled copies, so each
    is written in full), as many as fit in ``target_bytes``."""
    from apps.cad.synth import solids as S

    plate = S.perforated_plate(12, 12)

    def stack(n: int) -> bytes:
        return S.assembly_step_bytes(
            "Plate stack",
            [
                (
                    f"Plate {i:03d}",
                    S.transformed(plate, scale=1 + 0.002 * i),
                    [{"move": (0.0, 0.0, 8.0 * i)}],
                )
                for i in range(n)
            ],
        )

    # Size per part from a small stack, then the largest stack under the target.
    per_part = len(stack(4)) / 4
    n = max(1, int(target_bytes / per_part))
    content = stack(n)
    while len(content) > target_bytes and n > 1:
        n -= 1
        content = stack(n)
    return content, n


def _descendants(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            out.append(int(entry))
    return out + [d for c in out for d in _descendants(c)]


def _peaks(pid: int) -> tuple[int, int]:
    """(VmHWM, VmPeak) of ``pid`` in kB, 0 if it is gone."""
    hwm = peak = 0
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
                elif line.startswith("VmPeak:"):
                    peak = int(line.split()[1])
    except OSError:
        pass
    return hwm, peak


class PeakWatcher(threading.Thread):
    """Polls every process below this one (the forkserver and the pool's
    workers) for its high-water marks, per pid, so a worker killed at the cap
    still counts with its last reading."""

    def __init__(self, before: set[int]) -> None:
        super().__init__(daemon=True)
        self.before = before
        self.seen: dict[int, tuple[int, int]] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for pid in _descendants(os.getpid()):
                if pid not in self.before:
                    hwm, peak = _peaks(pid)
                    old = self.seen.get(pid, (0, 0))
                    self.seen[pid] = (max(old[0], hwm), max(old[1], peak))
            self.stop.wait(0.05)


def bare_read_s(content: bytes) -> float:
    from OCP.STEPControl import STEPControl_Reader

    fd, path = tempfile.mkstemp(suffix=".stp")
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    try:
        t = time.perf_counter()
        reader = STEPControl_Reader()
        reader.ReadFile(path)
        reader.TransferRoots()
        reader.OneShape()
        return time.perf_counter() - t
    finally:
        os.unlink(path)


def main() -> None:
    logging.disable(logging.WARNING)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadml.settings")
    import django

    django.setup()
    from django.conf import settings

    from apps.cad import pool
    from apps.cad.formats.brep import _STEP_FACE
    from apps.cad.services import content_analyze
    from cadml.lib.errors import DomainError

    limit_mb = settings.CADML_MAX_UPLOAD_MB
    target_mb = (
        float(sys.argv[sys.argv.index("--mb") + 1])
        if "--mb" in sys.argv
        else limit_mb - 1
    )
    content, n_parts = assembly_of_size(int(target_mb * 1024 * 1024))
    # Start the pool's forkserver and a worker on a small file first, so the
    # measured call pays for the big file, not for starting processes.
    before = set(_descendants(os.getpid()))
    from apps.cad.synth import solids as S

    small = S.step_bytes(S.box(1, 1, 1))
    content_analyze(name="warm.step", content=small, preview=False)
    # What a STEP worker holds before the big file: OpenCascade's libraries
    # are mapped into its address space, which RLIMIT_AS counts.
    baseline_vm = max(
        (_peaks(pid)[1] for pid in _descendants(os.getpid()) if pid not in before),
        default=0,
    )
    watcher = PeakWatcher(before)
    watcher.start()
    outcome: dict = {}
    t = time.perf_counter()
    try:
        result = content_analyze(name="stack.step", content=content, preview=False)
        solid = result["stats"]["solid"]
        outcome = {
            "outcome": "done",
            "status": 200,
            "parts_listed": len(solid["parts"]),
            "parts_total": solid["parts_total"],
        }
    except DomainError as exc:
        outcome = {
            "outcome": "refused",
            "status": exc.status_code,
            "message": exc.message,
        }
    wall = time.perf_counter() - t
    # The pool carries on after a refusal: the next file is analysed.
    after = content_analyze(name="next.step", content=small, preview=False)
    time.sleep(0.2)
    watcher.stop.set()
    watcher.join()
    pool.shutdown()
    rss = max((v[0] for v in watcher.seen.values()), default=0)
    vm = max((v[1] for v in watcher.seen.values()), default=0)
    print(
        json.dumps(
            {
                "bench": "step_limits",
                "file_mb": round(len(content) / 1024 / 1024, 2),
                "upload_limit_mb": limit_mb,
                "parts": n_parts,
                "faces": len(_STEP_FACE.findall(content)),
                **outcome,
                "wall_s": round(wall, 2),
                "time_limit_s": settings.CADML_PARSE_TIMEOUT_S,
                "worker_peak_rss_mb": round(rss / 1024, 1),
                "worker_peak_vm_mb": round(vm / 1024, 1),
                "memory_cap_mb": settings.CADML_PARSE_MEMORY_MB,
                "worker_vm_after_small_file_mb": round(baseline_vm / 1024, 1),
                "next_file_analysed": after["format"] == "step",
                "bare_read_in_process_s": round(bare_read_s(content), 2),
            }
        )
    )


if __name__ == "__main__":
    main()
