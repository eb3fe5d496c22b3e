"""Title block and annotations as API clients see them: v2 sections, v1 unchanged."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.cad.pipeline import analyze_bytes
from tests.cad.conftest import dxf_bytes
from tests.cad.test_annotations import annotated_drawing
from tests.cad.titleblock_set import CASES, combine

pytestmark = pytest.mark.django_db

DIN = next(c for c in CASES if c.name == "din_en_iso7200_de")


def upload(client, version: str):  # type: ignore[no-untyped-def]
    content = dxf_bytes(combine(DIN.build, annotated_drawing))
    return client.post(
        f"/api/{version}/drawings",
        {"file": SimpleUploadedFile("lagerdeckel.dxf", content)},
        format="multipart",
    )


def test_v2_analysis_has_title_block_tolerances_and_annotation_sections(
    api_client_a, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.CADML_PREDICTOR = None
    r = upload(api_client_a, "v2")
    assert r.status_code == 201, r.content
    a = r.json()["data"]["analysis"]
    tb = a["title_block"]
    assert tb["part_name"]["value"] == "Lagerdeckel"
    assert tb["approved_by"]["value"] == "P. Huber"
    assert tb["scale"]["evidence"]["label"] == "Maßstab"
    assert a["general_tolerance"]["class"] == "m"
    assert a["threads"][0]["designation"] == "4x M6-6H"
    assert a["gdt"][0]["characteristic"] == "position"
    assert a["surface_finish"][0]["value"] == 6.3
    fits = [e["fit"] for e in a["dimensions"]["entities"] if "fit" in e]
    assert fits[0]["hole_deviations"] == [0.021, 0.0]
    assert "gdt" not in a["dimensions"]


def test_v1_keeps_its_shape(api_client_a, settings) -> None:  # type: ignore[no-untyped-def]
    settings.CADML_PREDICTOR = None
    r = upload(api_client_a, "v1")
    assert r.status_code == 201, r.content
    a = r.json()["analysis"]
    assert a["title_block"]["part_name"] == "Lagerdeckel"
    assert set(a["title_block"]) == {
        "drawing_number",
        "part_name",
        "material",
        "scale",
        "revision",
        "date",
        "drawn_by",
        "sheet",
        "weight",
        "company",
    }
    assert not {"gdt", "threads", "surface_finish", "general_tolerance"} & set(a)
    assert set(a["dimensions"]) == {"entities", "tokens"}
    assert all("fit" not in e and "upper" not in e for e in a["dimensions"]["entities"])


def test_the_v2_schema_documents_the_sections_and_v1_does_not(client) -> None:  # type: ignore[no-untyped-def]
    v2 = client.get("/api/v2/schema/?format=json").json()["components"]["schemas"]
    props = v2["AnalysisOutput"]["properties"]
    assert {"gdt", "threads", "surface_finish", "general_tolerance"} <= set(props)
    assert "approved_by" in v2["TitleBlock"]["properties"]
    assert "fit" in v2["DimensionEntity"]["properties"]
    v1 = client.get("/api/v1/schema/?format=json").json()["components"]["schemas"]
    assert "gdt" not in v1["AnalysisOutput"]["properties"]


def test_the_v2_schema_documents_the_evidence_of_a_real_drawing(client) -> None:  # type: ignore[no-untyped-def]
    from tests.cad.real_set import analyse, cases

    v2 = client.get("/api/v2/schema/?format=json").json()["components"]["schemas"]
    methods = next(
        set(s["enum"]) for s in v2.values() if "same_cell" in s.get("enum", [])
    )
    case = next(c for c in cases() if c.name == "pathdxf_8999_01")
    block = analyse(case)["title_block"]
    used = {v["evidence"]["method"] for v in block.values() if v}
    assert {"unlabelled_date", "unlabelled_title"} <= used
    assert used <= methods, used - methods
    # So are those of every drawn title block (the GOST form's among them).
    drawn = {
        v["evidence"]["method"]
        for case in CASES
        for v in analyze_bytes("t.dxf", case.dxf(), preview=False)[
            "title_block"
        ].values()
        if v
    }
    assert "gost_inscription" in drawn
    assert drawn <= methods, drawn - methods


def test_the_title_block_endpoint_is_v2_only_and_shows_the_evidence(
    api_client_a, api_client_b, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.CADML_PREDICTOR = None
    r = upload(api_client_a, "v2")
    assert r.status_code == 201, r.content
    body = r.json()["data"]
    drawing_id, analysis_id = body["id"], body["analysis"]["id"]

    r = api_client_a.get(f"/api/v2/drawings/{drawing_id}/title-block")
    assert r.status_code == 200, r.content
    tb = r.json()["data"]
    assert tb["drawing"] == drawing_id and tb["analysis"] == analysis_id
    assert tb["fields"]["part_name"]["value"] == "Lagerdeckel"
    assert tb["fields"]["scale"]["evidence"]["label"] == "Maßstab"

    # v1 has no such endpoint: a 404 that names the version that has it.
    r = api_client_a.get(f"/api/v1/drawings/{drawing_id}/title-block")
    assert r.status_code == 404
    assert "v2" in r.content.decode()
    # Another tenant's drawing is not found, as everywhere.
    r = api_client_b.get(f"/api/v2/drawings/{drawing_id}/title-block")
    assert r.status_code == 404
