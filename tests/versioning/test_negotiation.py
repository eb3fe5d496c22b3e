from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_each_path_answers_in_its_version(api_client_a):
    v1 = api_client_a.get("/api/v1/me")
    v2 = api_client_a.get("/api/v2/me")
    assert v1.status_code == 200 and v1["API-Version"] == "1"
    assert v2.status_code == 200 and v2["API-Version"] == "2"
    assert v1.json()["tenant"]["slug"] == "tenant-a"
    assert v2.json()["data"]["tenant"]["slug"] == "tenant-a"


def test_the_unversioned_alias_defaults_to_the_current_version(api_client_a):
    response = api_client_a.get("/api/me")
    assert response.status_code == 200
    assert response["API-Version"] == "2"
    assert response.json()["meta"]["api_version"] == "2"


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_API_VERSION": "1"},
        {"HTTP_API_VERSION": "v1"},
        {"HTTP_X_API_VERSION": "1"},
        {"HTTP_ACCEPT": "application/json; version=1"},
        {"HTTP_ACCEPT": 'application/json;version="v1", text/html;q=0.1'},
    ],
)
def test_the_alias_takes_the_version_from_the_headers(api_client_a, headers):
    response = api_client_a.get("/api/me", **headers)
    assert response.status_code == 200, response.content
    assert response["API-Version"] == "1"
    assert "data" not in response.json()  # v1: the plain body
    assert response.json()["auth"] == "api_key"


def test_an_unknown_version_is_a_400_listing_the_supported_ones(api_client_a):
    for response in (
        api_client_a.get("/api/v3/me"),
        api_client_a.get("/api/me", HTTP_API_VERSION="7"),
        api_client_a.get("/api/me", HTTP_ACCEPT="application/json; version=banana"),
    ):
        assert response.status_code == 400
        body = response.json()
        assert body["supported_versions"] == ["v1", "v2"]
        assert "v1, v2" in body["detail"]


def test_a_header_that_contradicts_the_path_is_a_400(api_client_a):
    response = api_client_a.get("/api/v1/me", HTTP_API_VERSION="2")
    assert response.status_code == 400
    assert response.json()["code"] == "version_conflict"
    assert "/api/v2/" in response.json()["detail"]
    same = api_client_a.get("/api/v2/me", HTTP_API_VERSION="2")
    assert same.status_code == 200


def test_headers_that_disagree_with_each_other_are_a_400(api_client_a):
    response = api_client_a.get(
        "/api/me", HTTP_API_VERSION="1", HTTP_ACCEPT="application/json; version=2"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "version_conflict"


@pytest.mark.parametrize(
    "accept",
    [
        "application/json; version",
        "application/json; version=",
        "*/*; version=1; version=2",
    ],
)
def test_malformed_accept_parameters_are_a_400(api_client_a, accept):
    response = api_client_a.get("/api/me", HTTP_ACCEPT=accept)
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_accept"


def test_pages_outside_the_api_are_left_alone(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert "API-Version" not in response
