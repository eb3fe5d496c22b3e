"""Every real-world DXF of the shared corpus analyses or gets a clear 4xx."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.cad.models import Drawing
from tests.cad.conftest import corpus_files
from tests.conftest import CORPUS_DIR, require

pytestmark = pytest.mark.django_db

# The five files the corpus README says need ezdxf's recovery path.
NEED_RECOVERY = {
    "AC1003_LINE_Example.dxf",
    "empty_handles.dxf",
    "issue1106.dxf",
    "recover01.dxf",
    "recover02.dxf",
}


def test_every_corpus_file_analyses_or_gets_a_clear_4xx(api_client_a) -> None:  # type: ignore[no-untyped-def]
    files = corpus_files()
    require(bool(files), f"DXF corpus not found at {CORPUS_DIR}")
    assert len(files) >= 82
    outcomes: dict[str, int] = {}
    for path in files:
        r = api_client_a.post(
            "/api/v1/drawings",
            {"file": SimpleUploadedFile(path.name, path.read_bytes())},
            format="multipart",
        )
        outcomes[path.name] = r.status_code
        assert r.status_code < 500, (path, r.content[:500])
        if r.status_code >= 400:
            assert r.data["detail"], path
            continue
        analysis = r.data["analysis"]
        assert analysis["status"] == "done", path
        assert len(analysis["features"]) == len(
            api_client_a.get("/api/v1/features/schema").data[
                analysis["feature_version"]
            ]
        )
        assert all(x == x for x in analysis["features"]), path  # no NaN
        if path.name in NEED_RECOVERY:
            assert analysis["recovered"] is True, path
    # The corpus is real CAD output: all of it should be analysable.
    refused = {name: code for name, code in outcomes.items() if code >= 400}
    assert not refused, refused
    # Duplicate content inside the corpus collapses to one drawing per sha256.
    assert Drawing.objects.count() <= len(files)
