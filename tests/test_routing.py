"""One URL, one APIView per method (cadml.lib.routing.by_method)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/api/v1/drawings", "/api/v2/drawings/1", "/api/v1/jobs"]
)
def test_a_method_no_view_claims_is_405(api_client_a, path):
    response = api_client_a.put(path, {}, format="json")
    assert response.status_code == 405
    # The first view (GET) answers, so Allow names only its own methods.
    assert "GET" in response["Allow"]


def test_each_method_reaches_its_own_view(api_client_a):
    assert api_client_a.get("/api/v1/drawings").json()["count"] == 0
    refused = api_client_a.post("/api/v1/drawings", {}, format="multipart")
    assert refused.status_code == 400 and "file" in refused.json()
    assert api_client_a.delete("/api/v1/drawings/999999").status_code == 404
    assert api_client_a.get("/api/v1/jobs").json()["count"] == 0
