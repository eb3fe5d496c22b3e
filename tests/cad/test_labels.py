"""Labels on drawings as a client sets them: one, in bulk (JSON, CSV), from a
zip's folders, in the admin; filters and the review queue."""

from __future__ import annotations

import io
import random
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.audit.models import AuditEvent
from apps.batch import runner
from apps.cad.models import Analysis, Drawing
from apps.cad.services import drawing_create
from apps.cad.synth import generate_part

pytestmark = pytest.mark.django_db


def _drawing(tenant, family: str = "flange", seed: int = 1) -> Drawing:  # type: ignore[no-untyped-def]
    return drawing_create(
        tenant=tenant,
        uploaded_by=None,
        name=f"{family}-{seed}.dxf",
        content=generate_part(family, random.Random(seed)),
    ).drawing


def _events(drawing: Drawing) -> list[dict]:
    return [
        e.details
        for e in AuditEvent.objects.filter(
            action="drawing.labelled", resource_id=str(drawing.pk)
        ).order_by("seq")
    ]


def test_patch_sets_a_normalised_label_and_null_clears_it(
    api_client_a, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    d = _drawing(tenant_a)
    r = api_client_a.patch(
        f"/api/v1/drawings/{d.pk}", {"label": "  Hex  Nut "}, format="json"
    )
    assert r.status_code == 200, r.data
    assert r.data["label"] == "hex_nut"
    assert api_client_a.get(f"/api/v1/drawings/{d.pk}").data["label"] == "hex_nut"
    r = api_client_a.patch(f"/api/v1/drawings/{d.pk}", {"label": None}, format="json")
    assert r.status_code == 200
    assert r.data["label"] == ""
    assert _events(d) == [
        {"old": None, "new": "hex_nut", "source": "api"},
        {"old": "hex_nut", "new": None, "source": "api"},
    ]


@pytest.mark.parametrize(
    "bad", ["", "   ", "x" * 65, "flan\x00ge", "a\nb", 12, ["nut"]]
)
def test_bad_labels_are_400_and_change_nothing(api_client_a, tenant_a, bad) -> None:  # type: ignore[no-untyped-def]
    d = _drawing(tenant_a)
    r = api_client_a.patch(f"/api/v1/drawings/{d.pk}", {"label": bad}, format="json")
    assert r.status_code == 400
    assert "label" in r.data["detail"]
    d.refresh_from_db()
    assert d.label == ""


def test_labelling_another_tenants_drawing_is_404(api_client_b, tenant_a) -> None:  # type: ignore[no-untyped-def]
    d = _drawing(tenant_a)
    r = api_client_b.patch(f"/api/v1/drawings/{d.pk}", {"label": "nut"}, format="json")
    assert r.status_code == 404
    r = api_client_b.post(
        "/api/v1/drawings/labels", [{"id": d.pk, "label": "nut"}], format="json"
    )
    assert r.status_code == 400
    assert r.data["errors"][0]["row"] == 1
    d.refresh_from_db()
    assert d.label == ""


def test_bulk_json_by_id_and_sha256(api_client_a, tenant_a) -> None:  # type: ignore[no-untyped-def]
    a, b = _drawing(tenant_a, "flange", 1), _drawing(tenant_a, "spur_gear", 2)
    r = api_client_a.post(
        "/api/v1/drawings/labels",
        [{"id": a.pk, "label": "Flange"}, {"sha256": b.sha256, "label": "spur_gear"}],
        format="json",
    )
    assert r.status_code == 200, r.data
    assert r.data["changed"] == 2
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.label, b.label) == ("flange", "spur_gear")
    assert _events(a)[0]["source"] == "bulk"


def test_bulk_is_all_or_nothing_with_row_numbers(api_client_a, tenant_a) -> None:  # type: ignore[no-untyped-def]
    a = _drawing(tenant_a)
    r = api_client_a.post(
        "/api/v1/drawings/labels",
        [
            {"id": a.pk, "label": "flange"},
            {"id": 999999, "label": "nut"},
            {"id": a.pk, "label": "x" * 80},
        ],
        format="json",
    )
    assert r.status_code == 400
    rows = {e["row"]: e["detail"] for e in r.data["errors"]}
    assert set(rows) == {2, 3}
    assert "999999" in rows[2]
    assert "64" in rows[3]
    a.refresh_from_db()
    assert a.label == ""  # row 1 was fine, but nothing changed


def test_bulk_csv(api_client_a, tenant_a) -> None:  # type: ignore[no-untyped-def]
    a, b = _drawing(tenant_a, "flange", 1), _drawing(tenant_a, "spur_gear", 2)
    body = f"id_or_sha256,label\n{a.pk},flange\n{b.sha256},spur gear\n"
    r = api_client_a.post("/api/v1/drawings/labels", body, content_type="text/csv")
    assert r.status_code == 200, r.data
    b.refresh_from_db()
    assert b.label == "spur_gear"
    bad = f"id_or_sha256,label\n{a.pk},nut\n{a.pk}\n"
    r = api_client_a.post("/api/v1/drawings/labels", bad, content_type="text/csv")
    assert r.status_code == 400
    assert r.data["errors"] == [
        {"row": 3, "detail": "expected 2 columns (id_or_sha256,label), got 1"}
    ]


def test_bulk_errors_are_problem_documents_in_v2(api_client_a, tenant_a) -> None:  # type: ignore[no-untyped-def]
    r = api_client_a.post(
        "/api/v2/drawings/labels", [{"id": 424242, "label": "nut"}], format="json"
    )
    assert r.status_code == 400
    assert r["Content-Type"].startswith("application/problem+json")
    body = r.json()
    assert body["errors"] == [{"row": 1, "detail": "no drawing '424242'"}]


def test_list_filters_by_label_and_labelled(api_client_a, tenant_a) -> None:  # type: ignore[no-untyped-def]
    a, b, c = (_drawing(tenant_a, "flange", i) for i in (1, 2, 3))
    api_client_a.post(
        "/api/v1/drawings/labels",
        [{"id": a.pk, "label": "nut"}, {"id": b.pk, "label": "bolt"}],
        format="json",
    )

    def ids(q: str) -> set[int]:
        r = api_client_a.get(f"/api/v1/drawings{q}")
        return {d["id"] for d in r.data["results"]}

    assert ids("?label=nut") == {a.pk}
    assert ids("?label=NUT") == {a.pk}
    assert ids("?labelled=false") == {c.pk}
    assert ids("?labelled=true") == {a.pk, b.pk}


def _predicted(drawing: Drawing, top: list[tuple[str, float]], review: bool) -> None:
    Analysis.objects.create(
        drawing=drawing,
        tenant=drawing.tenant,
        status=Analysis.Status.DONE,
        prediction={
            "label": top[0][0],
            "confidence": top[0][1],
            "top3": [{"label": k, "confidence": v} for k, v in top],
            "needs_review": review,
        },
        confidence=top[0][1],
    )


def test_review_queue_lists_unlabelled_uncertain_drawings_least_certain_first(
    api_client_a, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    sure, close, closer, labelled, confident = (
        _drawing(tenant_a, "flange", i) for i in range(1, 6)
    )
    _predicted(sure, [("nut", 0.55), ("bolt", 0.10)], True)
    _predicted(close, [("nut", 0.45), ("bolt", 0.35)], True)
    _predicted(closer, [("nut", 0.40), ("bolt", 0.39)], True)
    _predicted(labelled, [("nut", 0.40), ("bolt", 0.40)], True)
    _predicted(confident, [("nut", 0.95), ("bolt", 0.01)], False)
    labelled.label = "nut"
    labelled.save()
    r = api_client_a.get("/api/v1/drawings?needs_review=true&order=uncertainty")
    assert r.status_code == 200
    assert [d["id"] for d in r.data["results"]] == [closer.pk, close.pk, sure.pk]


def test_zip_with_folders_labels_each_drawing_by_its_folder(
    api_client_a, tenant_a, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.CELERY_BROKER_URL = None
    settings.CADML_PREDICTOR = None
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("parts/Hex Nut/a.dxf", generate_part("flange", random.Random(1)))
        z.writestr("parts/bolt/b.dxf", generate_part("spur_gear", random.Random(2)))
        z.writestr("loose.dxf", generate_part("l_bracket", random.Random(3)))
    r = api_client_a.post(
        "/api/v1/jobs",
        {
            "files": SimpleUploadedFile("set.zip", buf.getvalue()),
            "label_from": "folder",
        },
        format="multipart",
    )
    assert r.status_code == 202, r.data
    runner.wait_idle(60)
    got = dict(Drawing.objects.filter(tenant=tenant_a).values_list("name", "label"))
    assert got == {"a.dxf": "hex_nut", "b.dxf": "bolt", "loose.dxf": ""}
    d = Drawing.objects.get(name="a.dxf")
    assert _events(d)[0]["source"] == "job"


def test_label_from_needs_a_zip(api_client_a) -> None:  # type: ignore[no-untyped-def]
    r = api_client_a.post(
        "/api/v1/jobs",
        {
            "files": SimpleUploadedFile(
                "a.dxf", generate_part("flange", random.Random(1))
            ),
            "label_from": "folder",
        },
        format="multipart",
    )
    assert r.status_code == 400
    assert "zip" in r.data["detail"]


def test_admin_bulk_action_and_review_queue(client, staff, tenant_a) -> None:  # type: ignore[no-untyped-def]
    a, b = _drawing(tenant_a, "flange", 1), _drawing(tenant_a, "spur_gear", 2)
    _predicted(b, [("nut", 0.4), ("bolt", 0.39)], True)
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    r = client.post(
        "/admin/cad/drawing/",
        {
            "action": "set_label",
            "_selected_action": [a.pk, b.pk],
            "label": "Washer",
            "index": 0,
        },
    )
    assert r.status_code == 302
    assert set(Drawing.objects.values_list("label", flat=True)) == {"washer"}
    assert _events(a)[0]["source"] == "admin"
    page = client.get("/admin/cad/drawing/?review=queue")
    assert page.status_code == 200
    b.label = ""
    b.save()
    page = client.get("/admin/cad/drawing/?review=queue")
    assert f'value="{b.pk}"' in page.content.decode()
    assert f'value="{a.pk}"' not in page.content.decode()


def test_admin_label_typed_in_the_list_is_normalised_or_refused(
    client, staff, tenant_a
) -> None:  # type: ignore[no-untyped-def]
    d = _drawing(tenant_a)
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)

    def save_row(label: str):  # type: ignore[no-untyped-def]
        return client.post(
            "/admin/cad/drawing/",
            {
                "form-TOTAL_FORMS": "1",
                "form-INITIAL_FORMS": "1",
                "form-0-id": str(d.pk),
                "form-0-label": label,
                "_save": "Save",
            },
        )

    r = save_row("bad\x07label")
    assert r.status_code == 200
    assert "control characters" in r.content.decode()
    d.refresh_from_db()
    assert d.label == ""
    r = save_row(" Hex Nut ")
    assert r.status_code == 302
    d.refresh_from_db()
    assert d.label == "hex_nut"
    assert _events(d) == [{"old": None, "new": "hex_nut", "source": "admin"}]


def test_v2_patch_answers_in_the_envelope(api_client_a, tenant_a) -> None:  # type: ignore[no-untyped-def]
    d = _drawing(tenant_a)
    r = api_client_a.patch(f"/api/v2/drawings/{d.pk}", {"label": "Nut"}, format="json")
    assert r.status_code == 200
    assert r.json()["data"]["label"] == "nut"
    r = api_client_a.patch(f"/api/v2/drawings/{d.pk}", {"label": ""}, format="json")
    assert r.status_code == 400
    assert r["Content-Type"].startswith("application/problem+json")
