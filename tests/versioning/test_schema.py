from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_each_version_has_its_own_schema(client):
    v1 = client.get("/api/v1/schema/?format=json")
    v2 = client.get("/api/v2/schema/?format=json")
    assert v1.status_code == v2.status_code == 200
    s1, s2 = v1.json(), v2.json()
    assert s1["info"]["version"] == "1" and s2["info"]["version"] == "2"
    assert "/api/v1/me" in s1["paths"] and "/api/v2/me" not in s1["paths"]
    assert "/api/v2/me" in s2["paths"] and "/api/me" not in s2["paths"]
    keys = s2["paths"]["/api/v2/api-keys"]["get"]["responses"]
    body = keys["200"]["content"]["application/json"]["schema"]
    assert body["required"] == ["data", "meta"]
    assert "application/problem+json" in keys["404"]["content"]
    assert "Problem" not in s1.get("components", {}).get("schemas", {})


@pytest.mark.parametrize("page", ["docs", "redoc"])
def test_docs_pages_point_at_their_versions_schema(client, page):
    for version in ("v1", "v2"):
        response = client.get(f"/api/{version}/{page}/")
        assert response.status_code == 200
        assert f"/api/{version}/schema/".encode() in response.content
