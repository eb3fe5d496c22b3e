"""The ``dxf-2`` words view: the names and text a drawing carries, hashed.

Real drawings say much of what they are in words: title blocks ("HEX BOLT"),
layer names ("CENTER", "HIDDEN", "A-WALL"), block names, linetypes and
dimension styles. Every word (letters only, two or more, lower-cased, so
"M10x1.5" and "M12" both give "m") is hashed with CRC-32 into a fixed number of
buckets; the bucket counts are log-compressed and scaled to unit length, so a
drawing with many notes is not a louder drawing. CRC-32 is stable across
processes and Python versions (``hash()`` is salted per process).
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Iterable

BUCKETS = 64
MAX_TEXTS = 2_000  # text items read per drawing; the title block comes early
_WORD = re.compile(r"[^\W\d_]{2,}")
# Names every drawing carries whatever it shows.
_STOP = frozenset(
    {"continuous", "bylayer", "byblock", "standard", "defpoints", "iso", "model"}
)


def slot_specs() -> list[tuple[str, str]]:
    return [
        ("words_log_count", "log(1 + words found in text and names)"),
        *(
            (
                f"words_h{i:02d}",
                f"Hashed word bucket {i}: log(1 + count), the buckets scaled to"
                " unit length",
            )
            for i in range(BUCKETS)
        ),
    ]


def tokens(names: Iterable[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        for word in _WORD.findall(name.lower()):
            if word not in _STOP:
                out.append(word)
    return out


def words_vector(names: Iterable[str]) -> list[float]:
    counts = [0] * BUCKETS
    found = tokens(names)
    for word in found:
        counts[zlib.crc32(word.encode("utf-8")) % BUCKETS] += 1
    logs = [math.log1p(c) for c in counts]
    norm = math.sqrt(sum(x * x for x in logs))
    return [math.log1p(len(found)), *(x / norm if norm else 0.0 for x in logs)]
