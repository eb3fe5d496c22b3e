"""Synthetic 2D part drawings for training and tests.

``generate_part(label, rng)`` returns the bytes of a realistic DXF drawing of a
part of one of ``PART_CLASSES``: front view plus side or section view, centre
lines on a CENTER layer, hatched sections, DIMENSION entities and a title block
(some fields in Chinese), with random proportions, sizes, hole counts, rotation,
units, layer names and optional clutter. The same ``rng`` state gives the same
bytes.
"""

from __future__ import annotations

from apps.cad.synth.generator import PART_CLASSES, generate_part
from apps.cad.synth.other import NOT_A_PART, OTHER_KINDS, generate_other

__all__ = [
    "NOT_A_PART",
    "OTHER_KINDS",
    "PART_CLASSES",
    "generate_other",
    "generate_part",
]
