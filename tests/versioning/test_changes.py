"""Version changes and per-version features, seen through sample views that
produce the v2 shapes (tests/versioning/urls.py)."""

from __future__ import annotations

import pytest

from apps.versioning.changes import CHANGES, changelog
from tests.conftest import key_client

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.versioning.urls")]


def test_v2_analyses_carry_top_k_predictions_and_evidence(api_client_a):
    data = api_client_a.get("/api/v2/sample-analysis").json()["data"]
    assert [p["label"] for p in data["predictions"]] == ["bracket", "plate"]
    assert data["title_block"]["part_number"]["evidence"] == {"layer": "TITLE"}


def test_v1_gets_the_v2_analysis_transformed_back(api_client_a):
    data = api_client_a.get("/api/v1/sample-analysis").json()
    assert "predictions" not in data
    assert data["prediction"] == "bracket"
    assert data["confidence"] == 0.91
    assert data["title_block"] == {"part_number": "A-100", "material": "AlMg3"}


def test_every_change_is_documented():
    for change in CHANGES:
        assert change.__doc__ and change.description
    assert changelog("v2")


def test_v2_pages_with_cursors_and_v1_with_limit_offset(owner_a, tenant_a):
    client = key_client(tenant_a, owner_a, ["read"])
    for n in range(3):
        key_client(tenant_a, owner_a, ["read"]).api_key.name  # noqa: B018
    first = client.get("/api/v2/sample-keys?page_size=2").json()
    assert len(first["data"]) == 2
    pagination = first["meta"]["pagination"]
    assert pagination["page_size"] == 2 and pagination["previous"] is None
    second = client.get(pagination["next"]).json()
    seen = [k["id"] for k in first["data"]] + [k["id"] for k in second["data"]]
    assert len(seen) == len(set(seen)) == 4
    v1 = client.get("/api/v1/sample-keys?limit=2").json()
    assert v1["count"] == 4 and len(v1["results"]) == 2 and v1["next"]


def test_a_feature_missing_from_a_version_is_a_404_naming_where_it_is(api_client_a):
    assert api_client_a.get("/api/v2/sample-async").status_code == 200
    response = api_client_a.get("/api/v1/sample-async")
    assert response.status_code == 404
    assert "available in v2" in response.json()["detail"]
