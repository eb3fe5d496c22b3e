"""The pure analysis pipeline: bytes in, JSON-able dict out.

No Django here; this is what the isolation workers run (``pool.py``). Errors a
user caused are raised as ``DomainError`` subclasses, which pickle across the
process boundary with their message. Everything format-specific lives in the
format's module (``apps.cad.formats``); this only times the stages around it.
"""

from __future__ import annotations

import re
import time
from typing import Any

from apps.cad import formats, preview_theme
from apps.cad.formats import Format, Stopwatch

PIPELINE_VERSION = "1"


def analyze_bytes(
    name: str, content: bytes, *, preview: bool = True, fmt: Format | None = None
) -> dict[str, Any]:
    """Analyse one file; raises ``UnsupportedFormat`` / ``UnreadableFile`` (4xx).

    ``fmt`` is the format the caller already detected (the web process does it
    once, at the edge); without it the content is detected here.
    """
    watch = Stopwatch()
    if fmt is None:
        fmt = formats.detect(content)
        watch.skip()
    loaded = fmt.load(content)
    watch.lap("parse")
    result = fmt.analyse(loaded, watch, preview)
    if preview:
        result["preview_svg"] = preview_theme.paper(result["preview_svg"])
        watch.lap("preview")
    result.update(
        name=name,
        format=fmt.name,
        pipeline_version=PIPELINE_VERSION,
        timings=watch.total(),
    )
    return storable(result)


def render_preview(
    name: str, content: bytes, *, fmt: Format | None = None
) -> dict[str, Any]:
    """Only the preview picture: parse and draw. Rendering text through fonts
    makes this the slowest stage, so the service runs it on first request of the
    picture instead of on every upload."""
    t0 = time.perf_counter()
    if fmt is None:
        fmt = formats.detect(content)
    svg = fmt.preview(fmt.load(content))
    return {
        "preview_svg": storable(preview_theme.paper(svg)),
        "preview_ms": round((time.perf_counter() - t0) * 1000, 3),
    }


# What PostgreSQL's text and jsonb cannot hold (cadml.lib.params refuses the
# same in client input): NUL (a STEP name's \X\00) and lone surrogates, which
# no UTF-8 text may hold (a byte the drawing's declared code page does not
# define, kept by the DXF reader, or a \U+D800 escape).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: Any) -> Any:
    """``value`` with every NUL and lone surrogate in its strings (keys too)
    replaced by U+FFFD: PostgreSQL, JSON clients and protobuf refuse them, and
    the rest of the text is worth keeping."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value) if _UNSTORABLE.search(value) else value
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    if isinstance(value, tuple):
        return tuple(storable(v) for v in value)
    return value
