"""The Drawing admin: what the model said, how sure it was, and a picture."""

from __future__ import annotations

import re

import pytest

from apps.cad.models import Analysis
from apps.cad.services import drawing_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_superuser("root", password="pw-root-123")


def _analysed(tenant, content: bytes, label: str, confidence: float):  # type: ignore[no-untyped-def]
    drawing, analysis, *_ = drawing_upload(
        tenant=tenant, uploaded_by=None, name=f"{label}.dxf", content=content
    )
    Analysis.objects.filter(pk=analysis.pk).update(
        prediction={"label": label, "confidence": confidence},
        confidence=confidence,
        model_name="part-classifier",
        model_version="3",
    )
    return drawing


def test_the_list_shows_the_latest_prediction_confidence_and_a_thumbnail(
    client, superuser, tenant_a, part: bytes
) -> None:  # type: ignore[no-untyped-def]
    drawing = _analysed(tenant_a, part, "flange", 0.873)
    client.force_login(superuser)
    page = client.get("/admin/cad/drawing/").content.decode()
    row = page[page.index(f">{drawing.pk}<") :]
    assert "flange" in row[:3000] and "0.87" in row[:3000]
    src = re.search(r'<img src="([^"]+thumbnail\.svg\?size=\d+)"', page)
    assert src is not None

    thumb = client.get(src.group(1).replace("&amp;", "&"))
    assert thumb.status_code == 200
    assert thumb["Content-Type"] == "image/svg+xml"
    assert thumb["Content-Security-Policy"].startswith("default-src 'none'")
    root = re.search(rb"<svg\b[^>]*>", thumb.content).group(0)  # type: ignore[union-attr]
    assert b'width="64"' in root
    assert b'fill="#ffffff"' in thumb.content  # the readable paper preview


def test_a_drawing_without_analysis_shows_dashes(
    client, superuser, tenant_a, part
) -> None:  # type: ignore[no-untyped-def]
    drawing = drawing_upload(
        tenant=tenant_a, uploaded_by=None, name="x.dxf", content=part, analyze=False
    ).drawing
    client.force_login(superuser)
    page = client.get("/admin/cad/drawing/").content.decode()
    assert '<td class="field-latest_prediction">-</td>' in page
    assert '<td class="field-latest_confidence">-</td>' in page
    thumb = client.get(f"/admin/cad/drawing/{drawing.pk}/thumbnail.svg?size=64")
    assert thumb.status_code == 404


def test_the_change_page_shows_the_prediction_and_a_large_preview(
    client, superuser, tenant_a, part: bytes
) -> None:  # type: ignore[no-untyped-def]
    drawing = _analysed(tenant_a, part, "gear", 0.5)
    client.force_login(superuser)
    page = client.get(f"/admin/cad/drawing/{drawing.pk}/change/").content.decode()
    assert "gear" in page and "0.50" in page
    assert f"/admin/cad/drawing/{drawing.pk}/thumbnail.svg?size=480" in page


def test_the_list_costs_the_same_queries_for_one_row_or_many(
    client, superuser, tenant_a, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    import random

    from apps.cad.synth import generate_part

    client.force_login(superuser)
    _analysed(tenant_a, generate_part("washer", random.Random(1)), "washer", 0.9)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get("/admin/cad/drawing/")
    for seed in range(2, 6):
        _analysed(tenant_a, generate_part("washer", random.Random(seed)), "w", 0.9)
    with django_assert_max_num_queries(len(one)):
        client.get("/admin/cad/drawing/")


def test_only_staff_see_thumbnails(client, owner_a, tenant_a, part: bytes) -> None:  # type: ignore[no-untyped-def]
    drawing = _analysed(tenant_a, part, "flange", 0.9)
    client.force_login(owner_a)  # a tenant owner, not staff
    r = client.get(f"/admin/cad/drawing/{drawing.pk}/thumbnail.svg")
    assert r.status_code == 302 and "/admin/login/" in r["Location"]
