"""The CAD formats the platform reads, recognised by content, never by name.

Each format family is one module (``dxf``, ``mesh``, ``brep``) that provides
``Format`` records: how to detect, load, analyse and preview the format. The
registry below lists them in the order they are tried; a new format is one
module plus one line here (docs/architecture.md, "Adding a CAD format").
"""

from __future__ import annotations

import re

from apps.cad.errors import ACCEPTED_FORMATS, UnsupportedFormat
from apps.cad.formats import brep, dxf, mesh
from apps.cad.formats.base import Format, Stopwatch

__all__ = ["FORMATS", "Format", "Stopwatch", "by_name", "detect"]

# Tried in this order; the first whose detect() says yes wins. Signatures that
# cannot be mistaken (magic bytes, an exact length) come before text heads.
FORMATS: tuple[Format, ...] = (
    dxf.DXF_BINARY,
    mesh.PLY,
    mesh.STL,
    brep.STEP,
    brep.IGES,
    mesh.STL_ASCII,
    dxf.DXF,
    mesh.OBJ,
)

_DWG_MAGIC = re.compile(rb"^AC10[0-9]{2}")


def detect(content: bytes) -> Format:
    """The format of ``content``, or ``UnsupportedFormat`` (415) saying what to send."""
    if not content:
        raise UnsupportedFormat(
            f"The file is empty. Accepted formats: {ACCEPTED_FORMATS}."
        )
    if _DWG_MAGIC.match(content):
        raise UnsupportedFormat(
            "DWG files are not supported; export the drawing as DXF and upload that."
        )
    for fmt in FORMATS:
        if fmt.detect(content):
            return fmt
    raise UnsupportedFormat(
        f"Unrecognised file content. Accepted formats: {ACCEPTED_FORMATS}."
    )


def by_name(name: str) -> Format:
    """The registered format called ``name`` (as stored in ``Drawing.format``)."""
    for fmt in FORMATS:
        if fmt.name == name:
            return fmt
    # A stored drawing of a format this server no longer reads: the file's
    # problem to the client (415), not a crash.
    raise UnsupportedFormat(
        f"Files of format {name!r} are not read by this server. "
        f"Accepted formats: {ACCEPTED_FORMATS}."
    )
