"""Real part drawings by other hands (``tests/data/real-parts``, licences
there): what a user uploading them gets back."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

pytestmark = pytest.mark.django_db

REAL = Path(__file__).resolve().parent.parent / "data" / "real-parts"
FILES = sorted(REAL.rglob("*.dxf"))


def upload(client, path: Path):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/drawings",
        {"file": SimpleUploadedFile(path.name, path.read_bytes())},
        format="multipart",
    )


def test_the_real_set_is_there() -> None:
    assert {p.parent.name for p in FILES} == {"hole_plate", "spur_gear"}
    assert len(FILES) == 7


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem.split("__")[-1])
def test_a_real_part_drawing_analyses_with_a_finite_vector_and_a_preview(
    api_client_a, path: Path
) -> None:  # type: ignore[no-untyped-def]
    r = upload(api_client_a, path)
    assert r.status_code == 201, r.data
    analysis = r.data["analysis"]
    assert analysis["status"] == "done"
    assert analysis["feature_version"] == "dxf-7"
    assert all(math.isfinite(v) for v in analysis["features"])
    svg = api_client_a.get(f"/api/v1/drawings/{r.data['id']}/preview.svg")
    assert svg.status_code == 200
    body = b"".join(svg.streaming_content) if svg.streaming else svg.content
    assert b"<svg" in body and (b"<path" in body or b"<line" in body)


def test_similar_drawings_of_a_real_gear_are_the_other_real_gears(
    api_client_a,
) -> None:  # type: ignore[no-untyped-def]
    family = {}
    for path in FILES:
        r = upload(api_client_a, path)
        assert r.status_code == 201, r.data
        family[r.data["id"]] = path.parent.name
    for drawing, kind in family.items():
        r = api_client_a.get(f"/api/v1/drawings/{drawing}/similar?k=2")
        assert r.status_code == 200
        found = [family[x["drawing"]["id"]] for x in r.data["results"]]
        if kind == "spur_gear":
            assert found == ["spur_gear", "spur_gear"], (drawing, found)
        else:
            assert found[0] == "hole_plate", (drawing, found)
