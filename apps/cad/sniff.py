"""Recognise a CAD file by its content, never by its name.

Only the first few KB are inspected, so sniffing is cheap enough to run in the
web process before anything is stored or sent to the isolation pool.
"""

from __future__ import annotations

import re
import struct
from enum import StrEnum

from apps.cad.errors import ACCEPTED_FORMATS, UnsupportedFormat

BINARY_DXF_SENTINEL = b"AutoCAD Binary DXF\r\n\x1a\x00"
_DWG_MAGIC = re.compile(rb"^AC10[0-9]{2}")
_HEAD = 4096


class FileFormat(StrEnum):
    DXF = "dxf"
    DXF_BINARY = "dxf-binary"
    STL = "stl"
    STL_ASCII = "stl-ascii"
    OBJ = "obj"
    PLY = "ply"
    STEP = "step"
    IGES = "iges"

    @property
    def is_brep(self) -> bool:
        return self in {FileFormat.STEP, FileFormat.IGES}

    @property
    def is_mesh(self) -> bool:
        return self in {
            FileFormat.STL,
            FileFormat.STL_ASCII,
            FileFormat.OBJ,
            FileFormat.PLY,
        }


_OBJ_LINE = re.compile(rb"^\s*(v|vt|vn|f|o|g|s|mtllib|usemtl|l|#)(\s|$)")


def _is_ascii_dxf(head: str) -> bool:
    # An ASCII DXF is a sequence of group-code/value line pairs; real files open
    # with "0/SECTION", but comments (999) or an R12 file that starts straight
    # with ENTITIES are legal too, so accept any leading pair of integer code
    # followed by a value and require SECTION or EOF somewhere in the head.
    lines = head.lstrip("\ufeff").splitlines()
    if len(lines) < 2:
        return False
    try:
        int(lines[0].strip())
    except ValueError:
        return False
    upper = head.upper()
    return "SECTION" in upper or "EOF" in upper


# Exporters put comments (/* ... */) before the header too; the reader takes them.
_STEP_HEADER = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:/\*.*?\*/\s*)*ISO-10303-21\s*;", re.S
)
_IGES_SEQ = re.compile(rb"^[SG][ 0]*[1-9]\d*$")


def _is_iges(head: bytes) -> bool:
    # IGES is 80-column card images: column 73 names the section (S start,
    # G global, ...) and columns 74-80 number the card within it. The start
    # section comes first and its first card is number 1.
    lines = head.split(b"\n")[:4]
    if len(lines) < 2:
        return False
    cards = [ln.rstrip(b"\r") for ln in lines[:-1]]
    first = cards[0][72:80]
    if first[:1] != b"S" or first[1:].lstrip(b" 0") != b"1":
        return False
    return all(len(c) == 80 and _IGES_SEQ.match(c[72:80]) for c in cards)


def _is_binary_stl(content: bytes) -> bool:
    if len(content) < 84:
        return False
    (n_faces,) = struct.unpack_from("<I", content, 80)
    # A binary STL is exactly header + count + 50 bytes per face.
    return n_faces > 0 and len(content) == 84 + 50 * n_faces


def sniff(content: bytes) -> FileFormat:
    """Return the format of ``content`` or raise ``UnsupportedFormat`` (415)."""
    if not content:
        raise UnsupportedFormat(
            f"The file is empty. Accepted formats: {ACCEPTED_FORMATS}."
        )
    if _DWG_MAGIC.match(content):
        raise UnsupportedFormat(
            "DWG files are not supported; export the drawing as DXF and upload that."
        )
    if content.startswith(BINARY_DXF_SENTINEL):
        return FileFormat.DXF_BINARY
    if content.startswith(b"ply") and content[3:4] in (b"\n", b"\r"):
        return FileFormat.PLY
    if _is_binary_stl(content):
        return FileFormat.STL
    head_bytes = content[:_HEAD]
    if _STEP_HEADER.match(head_bytes):
        return FileFormat.STEP
    if _is_iges(head_bytes):
        return FileFormat.IGES
    if b"\x00" not in head_bytes:
        head = head_bytes.decode("latin-1")
        stripped = head.lstrip()
        if stripped[:5].lower() == "solid" and "facet" in head[:_HEAD].lower():
            return FileFormat.STL_ASCII
        if _is_ascii_dxf(head):
            return FileFormat.DXF
        lines = [ln for ln in head_bytes.splitlines()[:50] if ln.strip()]
        if lines and any(ln.lstrip().startswith((b"v ", b"f ")) for ln in lines):
            if all(_OBJ_LINE.match(ln) for ln in lines[:-1]):
                return FileFormat.OBJ
    raise UnsupportedFormat(
        f"Unrecognised file content. Accepted formats: {ACCEPTED_FORMATS}."
    )
