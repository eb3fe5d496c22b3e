from __future__ import annotations

import struct

import pytest

from apps.cad.errors import UnsupportedFormat
from apps.cad.formats import detect

TRIANGLE_STL_ASCII = b"""solid t
facet normal 0 0 1
 outer loop
  vertex 0 0 0
  vertex 1 0 0
  vertex 0 1 0
 endloop
endfacet
endsolid t
"""


def binary_stl(n: int = 1) -> bytes:
    face = struct.pack("<12fH", 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0)
    return b"\0" * 80 + struct.pack("<I", n) + face * n


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"  0\r\nSECTION\r\n  2\r\nHEADER\r\n", "dxf"),
        (b"999\ncomment\n0\nSECTION\n2\nENTITIES\n0\nENDSEC\n0\nEOF\n", "dxf"),
        (b"AutoCAD Binary DXF\r\n\x1a\x00rest", "dxf-binary"),
        (TRIANGLE_STL_ASCII, "stl-ascii"),
        (binary_stl(), "stl"),
        (b"# cube\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", "obj"),
        (b"ply\nformat ascii 1.0\nelement vertex 3\n", "ply"),
    ],
)
def test_it_recognises_formats_by_content(content: bytes, expected: str) -> None:
    assert detect(content).name == expected


def test_it_refuses_dwg_and_says_to_export_dxf() -> None:
    with pytest.raises(UnsupportedFormat, match="DWG .*not supported.*DXF") as exc:
        detect(b"AC1032\x00\x00\x00\x00binary dwg payload")
    assert exc.value.status_code == 415


@pytest.mark.parametrize(
    "content", [b"", b"\x89PNG\r\n\x1a\n\0\0", b"hello world\n", bytes(range(256))]
)
def test_it_refuses_other_content_naming_accepted_formats(content: bytes) -> None:
    with pytest.raises(UnsupportedFormat, match="DXF.*STL.*OBJ.*PLY"):
        detect(content)


def test_the_extension_does_not_matter() -> None:
    # detection never sees a name: a DXF called part.stl is a DXF.
    assert detect(b"0\nSECTION\n2\nENTITIES\n0\nENDSEC\n0\nEOF\n").name == "dxf"
