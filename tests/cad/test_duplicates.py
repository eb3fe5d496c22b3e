"""Duplicates recorded with each analysis, and the tenant-wide report job."""

from __future__ import annotations

import csv
import io
import random

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.batch import runner
from apps.batch.models import BatchJob
from apps.cad.synth import generate_part
from bench.duplicate_threshold import redrawn
from tests.batch.conftest import wait_for_job
from tests.cad.test_api import upload

LABELS = ("flange", "spur_gear", "stepped_shaft", "hole_plate")


def parts(n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [generate_part(LABELS[i % len(LABELS)], rng) for i in range(n)]


def test_an_analysis_names_the_drawings_it_duplicates_in_v1_and_v2(
    settings, api_client_a, api_client_b
) -> None:  # type: ignore[no-untyped-def]
    files = parts(8, seed=31)
    ids = [upload(api_client_a, f).data["id"] for f in files]
    first = api_client_a.get(f"/api/v1/drawings/{ids[0]}/analysis").data
    assert first["duplicates"] == []  # nothing like it was there before
    r = upload(api_client_a, redrawn(files[0], random.Random(1)))
    assert r.status_code == 201, r.data
    dups = r.data["analysis"]["duplicates"]
    assert [d["drawing_id"] for d in dups] == [ids[0]]
    assert dups[0]["exact"] is False
    assert dups[0]["score"] >= settings.CADML_DUPLICATE_THRESHOLD
    copy = r.data["id"]
    v1 = api_client_a.get(f"/api/v1/drawings/{copy}/analysis").data
    assert v1["duplicates"] == dups
    v2 = api_client_a.get(f"/api/v2/drawings/{copy}/analysis").json()
    assert v2["data"]["duplicates"] == dups
    # Another tenant holding the very drawing: its copy duplicates nothing.
    theirs = upload(api_client_b, redrawn(files[0], random.Random(2)))
    assert theirs.status_code == 201
    assert theirs.data["analysis"]["duplicates"] == []


def test_search_names_the_same_file_as_an_exact_duplicate(
    api_client_a, api_client_b
) -> None:  # type: ignore[no-untyped-def]
    files = parts(6, seed=41)
    ids = [upload(api_client_a, f).data["id"] for f in files]
    r = api_client_a.post(
        "/api/v1/search",
        {"file": SimpleUploadedFile("q.dxf", files[3])},
        format="multipart",
    )
    assert r.status_code == 200, r.data
    dups = r.data["query"]["duplicates"]
    assert dups[0]["drawing_id"] == ids[3] and dups[0]["exact"] is True
    assert dups[0]["score"] == pytest.approx(1.0, abs=1e-6)
    assert {d["drawing_id"] for d in dups} <= set(ids)
    # Tenant B has none of them.
    r = api_client_b.post(
        "/api/v1/search",
        {"file": SimpleUploadedFile("q.dxf", files[3])},
        format="multipart",
    )
    assert r.status_code == 200 and r.data["query"]["duplicates"] == []


def test_search_names_a_tenants_only_drawing_as_an_exact_duplicate(
    api_client_a,
) -> None:  # type: ignore[no-untyped-def]
    # With one drawing its vector is the tenant's mean: no cosine to speak
    # of, but the same bytes are still an exact duplicate.
    (only,) = parts(1, seed=43)
    drawing_id = upload(api_client_a, only).data["id"]
    r = api_client_a.post(
        "/api/v1/search",
        {"file": SimpleUploadedFile("q.dxf", only)},
        format="multipart",
    )
    assert r.status_code == 200, r.data
    dups = r.data["query"]["duplicates"]
    assert [(d["drawing_id"], d["exact"]) for d in dups] == [(drawing_id, True)]


def test_similar_body_matches_its_schema(api_client_a) -> None:  # type: ignore[no-untyped-def]
    ids = [upload(api_client_a, f).data["id"] for f in parts(4, seed=51)]
    body = api_client_a.get(f"/api/v1/drawings/{ids[0]}/similar").data
    schema = api_client_a.get("/api/v1/schema/?format=json").json()
    props = schema["components"]["schemas"]["SimilarOutput"]["properties"]
    assert set(body) == set(props)
    assert body["space"] == "dxf-7-unsupervised+all-views+names"
    analysis = schema["components"]["schemas"]["AnalysisOutput"]["properties"]
    assert "duplicates" in analysis


@pytest.mark.django_db(transaction=True)
class TestReportJob:
    @pytest.fixture(autouse=True)
    def _embedded(self, settings):  # type: ignore[no-untyped-def]
        settings.CELERY_BROKER_URL = None
        yield
        runner.wait_idle(timeout=120)

    def test_the_report_job_gives_each_pair_once_as_csv_to_its_tenant_only(
        self, api_client_a, api_client_b, tenant_a
    ) -> None:  # type: ignore[no-untyped-def]
        files = parts(8, seed=31)
        ids = [upload(api_client_a, f).data["id"] for f in files]
        copy = upload(api_client_a, redrawn(files[0], random.Random(1))).data["id"]
        # Tenant B holds the very same drawings.
        ids_b = [upload(api_client_b, f).data["id"] for f in files]
        copy_b = upload(api_client_b, redrawn(files[0], random.Random(1))).data["id"]
        r = api_client_a.post("/api/v1/duplicates/report")
        assert r.status_code == 202, r.data
        assert r.data["total"] == 9
        job = wait_for_job(r.data["job"], timeout=120)
        assert job.status == "succeeded", job.summary
        assert job.kind == BatchJob.Kind.DUPLICATE_REPORT
        body = api_client_a.get(f"/api/v1/jobs/{job.pk}").data
        assert body["percent"] == 100.0 and body["summary"]["pairs"] == 1
        got = api_client_a.get(r.data["csv"])
        assert got.status_code == 200
        assert got["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(got.content.decode())))
        assert [(int(x["drawing_id"]), int(x["duplicate_id"])) for x in rows] == [
            (ids[0], copy)
        ]
        assert float(rows[0]["score"]) >= 0.9
        # Another tenant can neither read it nor see its job.
        assert api_client_b.get(r.data["csv"]).status_code == 404
        assert api_client_b.get(f"/api/v1/jobs/{job.pk}").status_code == 404
        # B's own report holds B's pair only.
        rb = api_client_b.post("/api/v2/duplicates/report")
        assert rb.status_code == 202
        wait_for_job(rb.json()["data"]["job"], timeout=120)
        theirs = api_client_b.get(rb.json()["data"]["csv"]).content.decode()
        rows_b = list(csv.DictReader(io.StringIO(theirs)))
        assert [(int(x["drawing_id"]), int(x["duplicate_id"])) for x in rows_b] == [
            (ids_b[0], copy_b)
        ]

    def test_a_report_not_finished_is_a_409_and_a_second_request_is_refused(
        self, api_client_a, tenant_a
    ) -> None:  # type: ignore[no-untyped-def]
        for f in parts(3, seed=61):
            upload(api_client_a, f)
        job = BatchJob.objects.create(
            tenant=tenant_a, kind=BatchJob.Kind.DUPLICATE_REPORT, total=3
        )
        r = api_client_a.get(f"/api/v1/duplicates/report/{job.pk}.csv")
        assert r.status_code == 409 and "queued" in str(r.data)
        again = api_client_a.post("/api/v1/duplicates/report")
        assert again.status_code == 409 and str(job.pk) in str(again.data)
        # Cancelled before it ran: it ends cancelled, with no CSV.
        assert api_client_a.post(f"/api/v1/jobs/{job.pk}/cancel").status_code == 202
        from apps.batch.duplicate_report import report_run

        report_run(job_id=job.pk)
        job.refresh_from_db()
        assert job.status == "cancelled"
        assert (
            api_client_a.get(f"/api/v1/duplicates/report/{job.pk}.csv").status_code
            == 409
        )
