"""The ``dxf-4`` names view: what a drawing's names and text say, each source apart.

The ``dxf-2`` words view pools every word of every source into 64 buckets and
drops numbers, so two symbols that differ only in a hatch pattern ("GRASS" vs
"TREES"), in the size their text carries ("DN150" vs "DN300") or in where a
word appears (a layer "WALL" vs a note "wall") get the same vector. This view
keeps those apart:

- every token is hashed together with its source (text, attribute tag, layer,
  block, linetype, dimension style, hatch pattern), so one word in two roles
  lands in two buckets;
- hatch pattern names and attribute tags are read (the words view reads
  neither);
- a token with digits is kept in its shape, each digit written as ``9``
  ("M10x1.5" -> ``m99x9.9``, "1:500" -> ``9:999``, "DN150" -> ``dn999``): the
  kind of quantity and its order of magnitude, not the value, so one family's
  sizes share a bucket.

Counts are log-compressed and scaled to unit length, as in the words view.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Iterable, Mapping

BUCKETS = 128
# Sources in a fixed order; the key is hashed with each of its tokens.
SOURCES = ("text", "tag", "layer", "block", "linetype", "dimstyle", "hatch")
_WORD = re.compile(r"[^\W\d_]{2,}")
# A run of ASCII letters, digits and the separators sizes are written with
# (ASCII: a degree sign or diameter read in the wrong code page stays out).
_SHAPED = re.compile(r"[a-z]*\d[0-9a-z.,:/-]*")
_DIGIT = re.compile(r"\d")
_MAX_SHAPE = 16
_STOP = frozenset(
    {"continuous", "bylayer", "byblock", "standard", "defpoints", "iso", "model"}
)


def slot_specs() -> list[tuple[str, str]]:
    return [
        ("names_log_count", "log(1 + names tokens over every source)"),
        ("names_log_hatch_patterns", "log(1 + distinct hatch pattern names)"),
        ("names_log_tags", "log(1 + distinct attribute tags)"),
        *(
            (
                f"names_h{i:03d}",
                f"Hashed (source, token) bucket {i}: log(1 + count), the"
                " buckets scaled to unit length",
            )
            for i in range(BUCKETS)
        ),
    ]


def tokens(text: str) -> list[str]:
    """Words (letters only, two or more) and digit shapes, lower-cased."""
    low = text.lower()
    out = [w for w in _WORD.findall(low) if w not in _STOP]
    for run in _SHAPED.findall(low):
        shape = _DIGIT.sub("9", run.strip(".,:/-"))[:_MAX_SHAPE]
        if shape:
            out.append(shape)
    return out


def names_vector(sources: Mapping[str, Iterable[str]]) -> list[float]:
    """``sources``: for each of ``SOURCES`` the strings it contributes (missing
    sources contribute nothing)."""
    counts = [0] * BUCKETS
    total = 0
    distinct: dict[str, set[str]] = {"hatch": set(), "tag": set()}
    for source in SOURCES:
        for name in sources.get(source, ()):
            if source in distinct and name:
                distinct[source].add(name.lower())
            for token in tokens(name):
                key = f"{source}\x1f{token}".encode()
                counts[zlib.crc32(key) % BUCKETS] += 1
                total += 1
    logs = [math.log1p(c) for c in counts]
    norm = math.sqrt(sum(x * x for x in logs))
    return [
        math.log1p(total),
        math.log1p(len(distinct["hatch"])),
        math.log1p(len(distinct["tag"])),
        *(x / norm if norm else 0.0 for x in logs),
    ]
