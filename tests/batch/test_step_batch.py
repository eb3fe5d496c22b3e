"""A batch job mixing a STEP solid and a DXF drawing: both are analysed."""

from __future__ import annotations

import pytest

from apps.batch.models import BatchItem, BatchJob
from apps.cad.synth import solids as S
from tests.batch.conftest import as_uploads, dxf, wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_job_with_a_step_and_a_dxf_file_analyses_both(api_client_a, settings):  # type: ignore[no-untyped-def]
    settings.CADML_PREDICTOR = None
    step = S.step_bytes(S.box_with_hole(10, 20, 30, 4))
    response = api_client_a.post(
        "/api/v1/jobs",
        {"files": as_uploads([("block.step", step), ("part-0.dxf", dxf(0))])},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    job = wait_for_job(response.json()["id"], timeout=120)
    assert job.status == BatchJob.Status.SUCCEEDED, job.summary
    results = api_client_a.get(f"/api/v1/jobs/{job.pk}/results?format=json").json()
    rows = {r["name"]: r for r in results["results"]}
    assert set(rows) == {"block.step", "part-0.dxf"}
    assert all(r["status"] == "succeeded" for r in rows.values()), rows

    drawings = {
        item.name: api_client_a.get(f"/api/v1/drawings/{item.drawing_id}").json()
        for item in BatchItem.objects.filter(job=job)
    }
    solid = drawings["block.step"]
    assert solid["format"] == "step"
    assert solid["analysis"]["status"] == "done"
    assert solid["analysis"]["feature_version"] == "brep-2"
    measures = solid["analysis"]["stats"]["solid"]
    assert measures["faces_by_type"] == {"plane": 6, "cylinder": 1}
    assert measures["genus"] == 1
    drawing = drawings["part-0.dxf"]
    assert drawing["format"] == "dxf"
    assert drawing["analysis"]["status"] == "done"
    assert drawing["analysis"]["feature_version"].startswith("dxf-")
