"""What a CAD format module provides, and the stage clock the pipeline runs on.

Kept apart from the registry (``apps.cad.formats``) so that format modules can
import it while the registry imports them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# The head of a file that content detection looks at: cheap enough to run in
# the web process before anything is stored or sent to the isolation pool.
HEAD = 4096


class Stopwatch:
    """Stage timings in the shape the pipeline returns (``<stage>_ms``)."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._start = self._last = time.perf_counter()

    def skip(self) -> None:
        """Start the next stage now: what ran since counts in the total only."""
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[f"{stage}_ms"] = round((now - self._last) * 1000, 3)
        self._last = now

    def total(self) -> dict[str, float]:
        self.timings["total_ms"] = round((time.perf_counter() - self._start) * 1000, 3)
        return self.timings


@dataclass(frozen=True)
class Format:
    """One recognisable kind of file and how to analyse it.

    The record travels to the isolation worker with the file (pickled: every
    callable must be a module-level function or a ``functools.partial`` of
    one), so the worker never detects the format again.
    """

    # Stored as ``Drawing.format`` and answered as the analysis' ``format``.
    name: str
    # True when ``content`` is of this format; looks at the head only, except
    # where the format's structure is in its length (binary STL).
    detect: Callable[[bytes], bool]
    # Bytes to the format's document; raises ``UnreadableFile`` (422) on a bad file.
    load: Callable[[bytes], Any]
    # The analysis of a loaded document: the pipeline's result fields except
    # name, format, pipeline_version and timings. It laps its own stages after
    # "parse" on the stopwatch; with ``want_preview`` it puts the raw SVG in
    # ``preview_svg`` (the pipeline lays it on paper and laps "preview").
    analyse: Callable[[Any, Stopwatch, bool], dict[str, Any]]
    # The preview picture of a loaded document, raw SVG (``render_preview``).
    preview: Callable[[Any], str]
    # Which isolation pool runs it: a format whose libraries hold much memory
    # once loaded gets workers of its own.
    pool: str = "cad"
    # The feature versions its analyses can store (re-featurisation picks the
    # drawings a version applies to by this).
    feature_versions: tuple[str, ...] = ()
