from __future__ import annotations

import csv
import io

import pytest
from asgiref.sync import async_to_sync

from apps.batch import runner
from apps.batch.models import BatchItem, BatchJob
from tests.batch.conftest import as_uploads, files, wait_for_job, zip_of

pytestmark = pytest.mark.django_db(transaction=True)


def submit(client, pairs, headers=None, **extra):  # type: ignore[no-untyped-def]
    data = {"files": as_uploads(pairs), **extra}
    return client.post("/api/v1/jobs", data, format="multipart", **(headers or {}))


def test_a_job_of_files_is_accepted_at_once_and_completes(api_client_a):
    response = submit(api_client_a, files(3), priority="7")
    assert response.status_code == 202, response.content
    body = response.json()
    assert response["Location"] == f"/api/v1/jobs/{body['id']}"
    assert body["channel"] == f"job:{body['id']}"
    assert body["total"] == 3 and body["priority"] == 7

    job = wait_for_job(body["id"])
    assert job.status == BatchJob.Status.SUCCEEDED
    detail = api_client_a.get(f"/api/v1/jobs/{job.pk}").json()
    assert detail["percent"] == 100.0
    assert (detail["done"], detail["failed"], detail["skipped"]) == (3, 0, 0)
    assert detail["summary"]["succeeded"] == 3

    results = api_client_a.get(f"/api/v1/jobs/{job.pk}/results?format=json").json()
    assert [r["name"] for r in results["results"]] == [
        "part-0.dxf",
        "part-1.dxf",
        "part-2.dxf",
    ]
    assert all(r["status"] == "succeeded" for r in results["results"])
    # The synthetic parts carry a title block the CAD core reads.
    assert any(r["title_part_name"] for r in results["results"])

    response = api_client_a.get(f"/api/v1/jobs/{job.pk}/results?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 3 and rows[0]["status"] == "succeeded"


def test_v2_results_come_in_the_envelope_like_every_v2_body(api_client_a):
    job = wait_for_job(submit(api_client_a, files(1)).json()["id"])
    body = api_client_a.get(f"/api/v2/jobs/{job.pk}/results").json()
    assert body["meta"]["api_version"] == "2"
    assert [r["name"] for r in body["data"]["results"]] == ["part-0.dxf"]
    csv_body = api_client_a.get(f"/api/v2/jobs/{job.pk}/results?format=csv")
    assert csv_body["Content-Type"].startswith("text/csv")
    assert list(csv.DictReader(io.StringIO(csv_body.content.decode())))[0]["name"]


def test_a_zip_is_expanded_into_items(api_client_a):
    response = submit(api_client_a, [("parts.zip", zip_of(files(2)))])
    assert response.status_code == 202, response.content
    job = wait_for_job(response.json()["id"])
    assert job.total == 2 and job.status == BatchJob.Status.SUCCEEDED


def test_existing_drawings_can_be_submitted_by_id(api_client_a, tenant_a):
    first = wait_for_job(submit(api_client_a, files(2)).json()["id"])
    ids = list(BatchItem.objects.filter(job=first).values_list("drawing_id", flat=True))
    response = api_client_a.post(
        "/api/v1/jobs", {"drawings": ids, "kind": "extract_text"}, format="json"
    )
    assert response.status_code == 202, response.content
    job = wait_for_job(response.json()["id"])
    assert job.status == BatchJob.Status.SUCCEEDED and job.kind == "extract_text"
    rows = api_client_a.get(f"/api/v1/jobs/{job.pk}/results").json()["results"]
    assert all("text" in row for row in rows)


def test_unknown_or_other_tenants_drawings_are_404_and_nothing_is_created(
    api_client_a, api_client_b
):
    job = wait_for_job(submit(api_client_b, files(1)).json()["id"])
    theirs = BatchItem.objects.get(job=job).drawing_id
    before = BatchJob.objects.count()
    for ids in ([theirs], [999999]):
        response = api_client_a.post("/api/v1/jobs", {"drawings": ids}, format="json")
        assert response.status_code == 404, response.content
        assert str(ids[0]) in response.json()["detail"]
    assert BatchJob.objects.count() == before


def test_a_file_that_fails_to_parse_fails_its_item_and_the_job_is_partial(
    api_client_a,
):
    broken = b"0\nSECTION\n2\nENTITIES\nxyz\nfoo\n0\nENDSEC\n0\nEOF\n"
    response = submit(api_client_a, [*files(1), ("broken.dxf", broken)])
    assert response.status_code == 202, response.content
    job = wait_for_job(response.json()["id"])
    assert job.status == BatchJob.Status.PARTIAL
    failed = BatchItem.objects.get(job=job, status="failed")
    assert failed.name == "broken.dxf" and failed.error_code == "unreadable_file"
    assert "damaged beyond repair" in failed.error_message
    summary = api_client_a.get(f"/api/v1/jobs/{job.pk}/results").json()["summary"]
    assert summary["by_error"] == {failed.error_code: 1}

    items = api_client_a.get(f"/api/v1/jobs/{job.pk}/items?status=failed").json()
    assert items["count"] == 1 and items["results"][0]["name"] == "broken.dxf"

    retried = api_client_a.post(f"/api/v1/jobs/{job.pk}/retry-failed")
    assert retried.status_code == 202 and retried.json()["retried"] == 1
    job = wait_for_job(job.pk)
    assert job.status == BatchJob.Status.PARTIAL
    assert BatchItem.objects.get(job=job, name="broken.dxf").attempts == 1


def test_a_file_of_unknown_format_fails_at_once(api_client_a):
    response = submit(api_client_a, [*files(1), ("notes.txt", b"hello world")])
    assert response.status_code == 202
    job = wait_for_job(response.json()["id"])
    assert job.status == BatchJob.Status.PARTIAL
    item = BatchItem.objects.get(job=job, name="notes.txt")
    assert item.status == "failed" and item.error_code == "unsupported_format"


def test_idempotency_key_returns_the_same_job_or_409(api_client_a):
    pairs = files(1)
    first = submit(api_client_a, pairs, headers={"HTTP_IDEMPOTENCY_KEY": "k-1"})
    again = api_client_a.post(
        "/api/v1/jobs",
        {"files": as_uploads(pairs)},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert first.status_code == 202 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    other = api_client_a.post(
        "/api/v1/jobs",
        {"files": as_uploads(files(1, start=5))},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    assert BatchJob.objects.count() == 1
    wait_for_job(first.json()["id"])


def test_cancel_skips_pending_items_and_ends_cancelled(api_client_a, settings):
    settings.CADML_BATCH_CONCURRENCY = {"pro": 1, "free": 1}
    job_id = submit(api_client_a, files(8)).json()["id"]
    response = api_client_a.post(f"/api/v1/jobs/{job_id}/cancel")
    assert response.status_code == 202
    job = wait_for_job(job_id)
    assert job.status == BatchJob.Status.CANCELLED
    assert job.skipped >= 6 and job.done + job.skipped == 8
    again = api_client_a.post(f"/api/v1/jobs/{job_id}/cancel")
    assert again.status_code == 409


def test_a_tenant_never_runs_more_than_k_items_at_once(api_client_a, settings):
    settings.CADML_BATCH_CONCURRENCY = {"pro": 1, "free": 1}
    settings.CADML_BATCH_EMBEDDED_WORKERS = 3
    job = wait_for_job(submit(api_client_a, files(5)).json()["id"])
    spans = sorted(BatchItem.objects.filter(job=job).values_list("started", "finished"))
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start >= end, "two items of one tenant overlapped with K=1"


def test_other_tenants_jobs_are_404(
    api_client_a, api_client_b, assert_other_tenant_404
):
    job_id = wait_for_job(submit(api_client_b, files(1)).json()["id"]).pk
    for suffix in ("", "/items", "/results", "/results?format=csv"):
        assert_other_tenant_404(api_client_a, f"/api/v1/jobs/{job_id}{suffix}")
    for suffix in ("/cancel", "/retry-failed"):
        assert_other_tenant_404(api_client_a, f"/api/v1/jobs/{job_id}{suffix}", "post")
    assert api_client_a.get("/api/v1/jobs").json()["count"] == 0


def test_jobs_are_listed_and_filtered(api_client_a):
    job = wait_for_job(submit(api_client_a, files(1)).json()["id"])
    listed = api_client_a.get("/api/v1/jobs?status=succeeded&kind=analyze").json()
    assert [j["id"] for j in listed["results"]] == [job.pk]
    assert api_client_a.get("/api/v1/jobs?status=failed").json()["count"] == 0
    assert (
        api_client_a.get("/api/v1/jobs?created_after=2999-01-01").json()["count"] == 0
    )
    assert api_client_a.get("/api/v1/jobs?status=bogus").status_code == 400
    huge = api_client_a.get("/api/v1/jobs", {"limit": "100000"})
    assert [j["id"] for j in huge.json()["results"]] == [job.pk]
    # Any offset Python reads is a filter, not a 500 from PostgreSQL.
    odd = api_client_a.get("/api/v1/jobs", {"created_before": "2999-01-01T00:00+23:35"})
    assert [j["id"] for j in odd.json()["results"]] == [job.pk]
    for bad in ("0001-01-01T00:00+01:00", "2024-13-45"):
        response = api_client_a.get("/api/v1/jobs", {"created_after": bad})
        assert response.status_code == 400
        assert "created_after" in response.json()["detail"]


def test_progress_and_completion_go_out_on_the_job_channel(api_client_a):
    from apps.realtime.history import get_history

    job = wait_for_job(submit(api_client_a, files(3)).json()["id"])
    runner.wait_idle()
    replay = async_to_sync(get_history().aread)(f"job:{job.pk}", 0)
    types = [e["type"] for e in replay.events]
    assert types[0] == "batch.started" and types[-1] == "batch.completed"
    progress = [
        e["data"]["percent"] for e in replay.events if e["type"] == "batch.progress"
    ]
    assert progress[-1] == 100.0
    tenant = async_to_sync(get_history().aread)("tenant:tenant-a", 0)
    assert "batch.completed" in [e["type"] for e in tenant.events]


def test_submission_completion_and_export_are_audited(api_client_a, tenant_a):
    from apps.audit.models import AuditEvent

    job = wait_for_job(submit(api_client_a, files(1)).json()["id"])
    api_client_a.get(f"/api/v1/jobs/{job.pk}/results?format=csv")
    runner.wait_idle()
    actions = set(
        AuditEvent.objects.filter(tenant=tenant_a, resource_id=str(job.pk)).values_list(
            "action", flat=True
        )
    )
    assert {"batch.submitted", "batch.completed", "data.exported"} <= actions


def test_a_submission_costs_the_rate_limiter_its_item_count(api_client_a):
    from tests.batch.conftest import as_uploads, files

    response = api_client_a.post(
        "/api/v1/jobs", {"files": as_uploads(files(3))}, format="multipart"
    )
    assert response.status_code == 202, response.content
    policy = response["RateLimit-Policy"]
    remaining_after = {
        item.split(";")[0]: int(item.split("r=")[1].split(";")[0])
        for item in response["RateLimit"].split(", ")
    }
    read = api_client_a.get("/api/v1/jobs")
    remaining_read = {
        item.split(";")[0]: int(item.split("r=")[1].split(";")[0])
        for item in read["RateLimit"].split(", ")
    }
    key_window = next(name for name in remaining_after if "key-minute" in name)
    assert "key-minute" in policy
    assert remaining_after[key_window] - remaining_read[key_window] == 1
    drawn = remaining_after[key_window]
    second = api_client_a.post(
        "/api/v1/jobs", {"files": as_uploads(files(4, start=10))}, format="multipart"
    )
    after_second = {
        item.split(";")[0]: int(item.split("r=")[1].split(";")[0])
        for item in second["RateLimit"].split(", ")
    }
    assert drawn - 1 - after_second[key_window] == 4


def test_the_summary_counts_items_by_predicted_label(api_client_a, settings):
    settings.CADML_PREDICTOR = "tests.cad.test_api.predict_flange"
    response = submit(api_client_a, files(2))
    job = wait_for_job(response.json()["id"])
    assert job.summary["by_label"] == {"flange": 2}
    results = api_client_a.get(f"/api/v1/jobs/{job.pk}/results").json()
    assert [r["predicted_label"] for r in results["results"]] == ["flange"] * 2
    assert results["summary"]["by_label"] == {"flange": 2}
