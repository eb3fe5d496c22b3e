from __future__ import annotations

import struct

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.cad import formats
from apps.cad.errors import UnsupportedFormat
from apps.cad.formats import detect
from apps.cad.models import Drawing
from apps.cad.services import drawing_create
from tests.cad.throwaway_format import POINTS

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


def test_every_registered_format_is_a_drawing_format_the_list_filters_by() -> None:
    assert sorted(f.name for f in formats.FORMATS) == sorted(Drawing.Format.values)


POINTS_FILE = b"XYZ-POINTS\n0 0 0\n40 0 1\n40 30 2\n"


@pytest.mark.django_db
def test_a_new_format_is_one_module_and_one_registry_line(
    api_client_a, settings, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    settings.CADML_PREDICTOR = None
    refused = upload(api_client_a, POINTS_FILE)
    assert refused.status_code == 415
    # The one registry line, in this process only: the isolation worker is
    # handed the format with the file and never detects it again.
    monkeypatch.setattr(formats, "FORMATS", (*formats.FORMATS, POINTS))

    r = upload(api_client_a, POINTS_FILE)
    assert r.status_code == 201, r.content
    drawing = r.json()["data"]
    assert drawing["format"] == "points"
    analysis = drawing["analysis"]
    assert analysis["status"] == "done"
    assert analysis["feature_version"] == "points-1"
    assert analysis["features"] == [3.0, 40.0, 30.0, 2.0]
    assert analysis["stats"] == {"points": 3}

    svg = api_client_a.get(f"/api/v2/drawings/{drawing['id']}/preview.svg")
    assert svg.status_code == 200
    assert b'<circle cx="40" cy="30" r="1"/>' in svg.content

    again = upload(api_client_a, POINTS_FILE)
    assert again.status_code == 200
    assert again.json()["data"]["id"] == drawing["id"]

    broken = upload(api_client_a, POINTS_FILE + b"1 2\n")
    assert broken.status_code == 422
    assert "line 5 is not three numbers" in broken.json()["detail"]


def upload(client, content: bytes):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v2/drawings",
        {"file": SimpleUploadedFile("scan.txt", content)},
        format="multipart",
    )


@pytest.mark.django_db
def test_drawing_create_says_whether_it_stored_the_bytes(tenant_a) -> None:  # type: ignore[no-untyped-def]
    content = b"0\nSECTION\n2\nENTITIES\n0\nENDSEC\n0\nEOF\n"
    first = drawing_create(tenant=tenant_a, uploaded_by=None, name="a", content=content)
    again = drawing_create(tenant=tenant_a, uploaded_by=None, name="b", content=content)
    assert first.created and not again.created
    assert again.drawing.pk == first.drawing.pk
    assert again.drawing.name == "a"
