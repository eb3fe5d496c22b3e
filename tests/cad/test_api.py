"""The v1 drawings API as a client uses it."""

from __future__ import annotations

import random

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.cad.models import Analysis, Drawing
from apps.cad.synth import generate_part
from tests.cad.conftest import undecodable_text_dxf

pytestmark = pytest.mark.django_db


def upload(client, content: bytes, name: str = "part.dxf", **extra):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/drawings",
        {"file": SimpleUploadedFile(name, content), **extra},
        format="multipart",
    )


def test_upload_returns_drawing_with_full_analysis(
    api_client_a, settings, part: bytes
) -> None:  # type: ignore[no-untyped-def]
    settings.CADML_PREDICTOR = None
    r = upload(api_client_a, part, "flange-a.dxf")
    assert r.status_code == 201, r.data
    body = r.data
    assert body["format"] == "dxf"
    assert body["size"] == len(part)
    a = body["analysis"]
    assert a["status"] == "done"
    assert a["feature_version"] == "dxf-7"
    assert len(a["features"]) > 40
    assert a["recovered"] is False
    # v1 renders title-block fields as bare values (apps.versioning).
    assert (
        isinstance(a["title_block"]["material"], str) and a["title_block"]["material"]
    )
    assert a["dimensions"]["entities"]
    assert any(t["text"] for t in a["text"])
    assert a["prediction"] is None
    assert a["prediction_reason"] == "no active model"
    assert set(a["timings"]) >= {"parse_ms", "features_ms", "text_ms"}


def test_same_bytes_twice_are_one_drawing(api_client_a, part: bytes) -> None:  # type: ignore[no-untyped-def]
    first = upload(api_client_a, part, "a.dxf")
    again = upload(api_client_a, part, "b.dxf")
    assert again.status_code == 200
    assert again.data["id"] == first.data["id"]
    assert again.data["analysis"]["id"] == first.data["analysis"]["id"]
    assert Drawing.objects.count() == 1


def test_same_bytes_in_two_tenants_are_two_drawings(
    api_client_a, api_client_b, part: bytes
) -> None:  # type: ignore[no-untyped-def]
    a = upload(api_client_a, part)
    b = upload(api_client_b, part)
    assert a.status_code == b.status_code == 201
    assert a.data["id"] != b.data["id"]


def test_dwg_gets_415_and_leaves_nothing(api_client_a) -> None:  # type: ignore[no-untyped-def]
    r = upload(api_client_a, b"AC1027\x00\x00binary", "part.dwg")
    assert r.status_code == 415
    assert "export" in r.data["detail"] and "DXF" in r.data["detail"]
    assert Drawing.objects.count() == 0


def test_a_file_the_parser_refuses_leaves_no_drawing(api_client_a) -> None:  # type: ignore[no-untyped-def]
    bad_float = b"0\nSECTION\n2\nENTITIES\n0\nLINE\n10\nabc\n20\n1\n0\nENDSEC\n0\nEOF\n"
    r = upload(api_client_a, bad_float)
    assert r.status_code == 422
    assert "damaged" in r.data["detail"]
    assert Drawing.objects.count() == 0
    assert Analysis.objects.count() == 0


def test_a_drawing_with_text_its_code_page_cannot_decode_is_stored(
    api_client_a, settings
) -> None:  # type: ignore[no-untyped-def]
    """A real Shift-JIS drawing saved as Windows-1252 was a 500 (PostgreSQL
    refuses the lone surrogates a reader keeps for undefined bytes): now 201,
    the undecodable characters as U+FFFD, the rest kept."""
    settings.CADML_PREDICTOR = None
    r = upload(api_client_a, undecodable_text_dxf(), "house.dxf")
    assert r.status_code == 201, r.data
    stored = Analysis.objects.get(drawing_id=r.data["id"])
    assert stored.status == Analysis.Status.DONE
    assert "NOTE A\ufffdB" in {t["text"] for t in stored.text}
    title = api_client_a.get(f"/api/v1/drawings/{r.data['id']}/analysis")
    assert title.status_code == 200
    assert title.data["title_block"]["part_name"] == "\u0160\u00ee\ufffd\u20ac\ufffd"


def test_upload_over_the_limit_gets_413_before_storing(
    api_client_a, settings, part: bytes
) -> None:  # type: ignore[no-untyped-def]
    settings.CADML_MAX_UPLOAD_MB = 0
    r = upload(api_client_a, part)
    assert r.status_code == 413
    assert "limit" in r.data["detail"]
    assert Drawing.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_large_files_are_accepted_queued_and_analysed_off_the_request(
    api_client_a, settings, part: bytes
) -> None:  # type: ignore[no-untyped-def]
    from apps.batch import runner

    settings.CELERY_BROKER_URL = None  # embedded: the in-process pool is the queue
    settings.CADML_SYNC_ANALYZE_MAX_MB = 0
    r = upload(api_client_a, part)
    assert r.status_code == 202
    assert r.data["analysis"]["status"] == "queued"
    assert runner.wait_idle(timeout=60)
    later = api_client_a.get(f"/api/v1/drawings/{r.data['id']}/analysis")
    assert later.data["status"] == "done"
    assert later.data["id"] == r.data["analysis"]["id"]
    assert len(later.data["features"]) > 40


@pytest.mark.django_db(transaction=True)
def test_a_queued_file_the_pipeline_refuses_ends_failed_with_the_reason(
    api_client_a, settings
) -> None:  # type: ignore[no-untyped-def]
    from apps.batch import runner

    settings.CELERY_BROKER_URL = None
    settings.CADML_SYNC_ANALYZE_MAX_MB = 0
    settings.CADML_PARSE_TIMEOUT_S = 0.3
    # A valid DXF (accepted at upload) that takes far longer than the limit.
    points = b"0\nPOINT\n8\n0\n10\n1\n20\n2\n" * 200_000
    r = upload(
        api_client_a, b"0\nSECTION\n2\nENTITIES\n" + points + b"0\nENDSEC\n0\nEOF\n"
    )
    assert r.status_code == 202, r.data
    assert runner.wait_idle(timeout=60)
    later = api_client_a.get(f"/api/v1/drawings/{r.data['id']}/analysis")
    assert later.data["status"] == "failed"
    assert "time limit" in later.data["error"]


def test_upload_without_analysis(api_client_a, part: bytes) -> None:  # type: ignore[no-untyped-def]
    r = upload(api_client_a, part, analyze="false")
    assert r.status_code == 201
    assert r.data["analysis"] is None
    assert (
        api_client_a.get(f"/api/v1/drawings/{r.data['id']}/analysis").status_code == 404
    )
    rerun = api_client_a.post(f"/api/v1/drawings/{r.data['id']}/analyze")
    assert rerun.status_code == 201
    assert rerun.data["status"] == "done"


def test_detail_analysis_preview_and_delete(api_client_a, part: bytes) -> None:  # type: ignore[no-untyped-def]
    drawing_id = upload(api_client_a, part).data["id"]
    detail = api_client_a.get(f"/api/v1/drawings/{drawing_id}")
    assert detail.status_code == 200
    assert detail.data["analysis"]["status"] == "done"
    analysis = api_client_a.get(f"/api/v1/drawings/{drawing_id}/analysis")
    assert analysis.data["features"] == detail.data["analysis"]["features"]
    preview = api_client_a.get(f"/api/v1/drawings/{drawing_id}/preview.svg")
    assert preview.status_code == 200, preview.content
    assert preview["Content-Type"] == "image/svg+xml"
    assert preview["Content-Security-Policy"] == (
        "default-src 'none'; style-src 'unsafe-inline'"
    )
    assert b"<svg" in preview.content
    # Drawn on first request, then kept.
    again = api_client_a.get(f"/api/v1/drawings/{drawing_id}/analysis")
    assert "preview_ms" in again.data["timings"]
    assert api_client_a.get(f"/api/v1/drawings/{drawing_id}/preview.svg").content == (
        preview.content
    )
    assert api_client_a.delete(f"/api/v1/drawings/{drawing_id}").status_code == 204
    assert api_client_a.get(f"/api/v1/drawings/{drawing_id}").status_code == 404


def test_other_tenants_drawing_is_404_everywhere(
    api_client_a, api_client_b, part, assert_other_tenant_404
) -> None:  # type: ignore[no-untyped-def]
    drawing_id = upload(api_client_a, part).data["id"]
    base = f"/api/v1/drawings/{drawing_id}"
    for url in (base, f"{base}/analysis", f"{base}/similar", f"{base}/preview.svg"):
        assert_other_tenant_404(api_client_b, url)
    assert_other_tenant_404(api_client_b, f"{base}/analyze", method="post")
    assert_other_tenant_404(api_client_b, base, method="delete")
    assert api_client_b.get("/api/v1/drawings").data["count"] == 0
    assert api_client_a.get(base).status_code == 200


def test_list_filters_by_name_format_and_material(api_client_a) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(4)
    materials = {}
    for label in ("flange", "washer", "hex_nut"):
        r = upload(api_client_a, generate_part(label, rng), f"{label}-x.dxf")
        materials[label] = r.data["analysis"]["title_block"]["material"]
    listing = api_client_a.get("/api/v1/drawings")
    assert listing.data["count"] == 3
    assert api_client_a.get("/api/v1/drawings?name=washer").data["count"] == 1
    assert api_client_a.get("/api/v1/drawings?file_format=stl").data["count"] == 0
    assert api_client_a.get("/api/v1/drawings?file_format=dxf").data["count"] == 3
    by_material = api_client_a.get(
        "/api/v1/drawings", {"material": materials["flange"]}
    )
    names = {d["name"] for d in by_material.data["results"]}
    assert "flange-x.dxf" in names
    paged = api_client_a.get("/api/v1/drawings?limit=2")
    assert len(paged.data["results"]) == 2 and paged.data["next"]
    assert api_client_a.get("/api/v1/drawings?file_format=bogus").status_code == 400


def test_similar_ranks_the_tenants_drawings_by_cosine_score(api_client_a) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(9)
    ids = {}
    for label in ("flange", "flange", "spur_gear", "stepped_shaft", "hole_plate"):
        r = upload(api_client_a, generate_part(label, rng))
        ids.setdefault(label, []).append(r.data["id"])
    query = ids["flange"][0]
    r = api_client_a.get(f"/api/v1/drawings/{query}/similar?k=3")
    assert r.status_code == 200
    # No model of the tenant's own: the unsupervised dxf-7 space, every view.
    assert r.data["space"] == "dxf-7-unsupervised+all-views+names"
    results = r.data["results"]
    assert len(results) == 3
    assert query not in [x["drawing"]["id"] for x in results]
    scores = [x["score"] for x in results]
    assert scores == sorted(scores, reverse=True)
    assert results[0]["drawing"]["id"] == ids["flange"][1]
    # A new drawing invalidates the cached matrix and shows up at once.
    new = upload(api_client_a, generate_part("flange", rng)).data["id"]
    again = api_client_a.get(f"/api/v1/drawings/{query}/similar?k=10").data["results"]
    assert new in [x["drawing"]["id"] for x in again]
    assert api_client_a.get(f"/api/v1/drawings/{query}/similar?k=0").status_code == 400


def test_feature_schema_is_served(api_client_a) -> None:  # type: ignore[no-untyped-def]
    r = api_client_a.get("/api/v1/features/schema")
    assert r.status_code == 200
    assert r.data["dxf-1"][0]["name"] == "hist_line"
    # Both B-rep versions: brep-1 for models trained on it, brep-2 stored today.
    for version in ("brep-1", "brep-2"):
        assert r.data[version] and all(s["description"] for s in r.data[version])
    assert r.data["brep-2"][-1]["name"] == "log_inner_loops"
    # The size view is the one that measures scale instead of ignoring it.
    size = {
        s["name"]: s["invariance"]["scale"]
        for s in r.data["dxf-7"]
        if s["invariance"]["scale"] != "exact" or s["name"].startswith("size_")
    }
    assert size == {
        "size_log_gyration": "none",
        "size_log_major": "none",
        "size_log_minor": "none",
        "size_units_stated": "exact",
    }


def test_anonymous_clients_are_refused(client, part: bytes) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/drawings", {"file": SimpleUploadedFile("p.dxf", part)})
    assert r.status_code in (401, 403)


def predict_flange(analysis: Analysis) -> dict:
    """A stand-in model for the registry hook: the outside world to this app."""
    return {
        "prediction": {"label": "flange", "confidence": 0.9},
        "confidence": 0.9,
        "model_name": "rule",
        "model_version": "1",
        "variant": "A",
    }


def test_an_active_predictor_fills_the_prediction(api_client_a, settings, part) -> None:  # type: ignore[no-untyped-def]
    settings.CADML_PREDICTOR = "tests.cad.test_api.predict_flange"
    drawing = upload(api_client_a, part).data
    v1 = drawing["analysis"]
    assert (v1["prediction"], v1["confidence"]) == ("flange", 0.9)
    assert v1["model"] == {
        "name": "rule",
        "version": "1",
        "variant": "A",
        "needs_review": None,
        "inference_ms": None,
    }
    v2 = api_client_a.get(f"/api/v2/drawings/{drawing['id']}/analysis").json()
    assert v2["data"]["predictions"] == [{"label": "flange", "score": 0.9}]


def test_a_mesh_upload_gets_mesh_features_and_a_silhouette(api_client_a) -> None:  # type: ignore[no-untyped-def]
    import trimesh

    stl = trimesh.creation.cylinder(radius=5, height=20).export(file_type="stl")
    r = upload(api_client_a, stl, "rod.bin")
    assert r.status_code == 201, r.data
    assert r.data["format"] == "stl"
    analysis = r.data["analysis"]
    assert analysis["feature_version"] == "mesh-1"
    assert analysis["stats"]["watertight"] is True
    preview = api_client_a.get(f"/api/v1/drawings/{r.data['id']}/preview.svg")
    assert preview.status_code == 200 and b"<path" in preview.content


@pytest.mark.parametrize(
    "content",
    [
        b"",
        bytes(range(256)) * 8,
        b"0\nSECTION\n2\nENTITIES\n0\nCIRCLE\n40\nx\n0\nEOF\n",
        b"AC1015" + b"\0" * 100,
    ],
    ids=["zero-bytes", "random", "bad-tag", "dwg"],
)
def test_refused_uploads_leave_no_rows_and_no_files(
    api_client_a, settings, content: bytes
) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    r = upload(api_client_a, content)
    assert r.status_code in (415, 422), r.data
    assert r.data["detail"]
    assert Drawing.objects.count() == Analysis.objects.count() == 0
    media = Path(settings.MEDIA_ROOT)
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))
