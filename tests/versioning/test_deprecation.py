from __future__ import annotations

from datetime import UTC, datetime

import pytest
from asgiref.sync import async_to_sync
from django.core.checks import run_checks

pytestmark = pytest.mark.django_db

EPOCH_2026 = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())


def test_a_supported_version_has_no_deprecation_headers(api_client_a):
    response = api_client_a.get("/api/v1/me")
    assert response["API-Version"] == "1"
    assert "Deprecation" not in response and "Sunset" not in response


def test_a_deprecated_version_says_so_in_standard_headers(api_client_a, deprecated_v1):
    response = api_client_a.get("/api/v1/me")
    assert response.status_code == 200
    assert response["Deprecation"] == f"@{EPOCH_2026}"
    assert response["Sunset"] == "Wed, 01 Jul 2099 00:00:00 GMT"
    assert response["Link"] == '</api/v1/docs/>; rel="deprecation"'
    current = api_client_a.get("/api/v2/me")
    assert "Deprecation" not in current


def test_after_the_sunset_the_version_is_gone(api_client_a, settings):
    versions = {k: dict(v) for k, v in settings.CADML_API_VERSIONS.items()}
    versions["v1"].update(deprecated_at="2025-01-01", sunset_at="2026-01-01T00:00:00Z")
    settings.CADML_API_VERSIONS = versions
    response = api_client_a.get("/api/v1/me")
    assert response.status_code == 410
    assert "/api/v2/" in response.json()["detail"]
    assert response.json()["successor"] == "v2"
    assert 'rel="successor-version"' in response["Link"]
    assert response["Sunset"] == "Thu, 01 Jan 2026 00:00:00 GMT"
    alias = api_client_a.get("/api/me", HTTP_API_VERSION="1")
    assert alias.status_code == 410
    assert api_client_a.get("/api/v2/me").status_code == 200


def test_the_system_check_refuses_a_sunset_before_the_deprecation(settings):
    versions = {k: dict(v) for k, v in settings.CADML_API_VERSIONS.items()}
    versions["v1"].update(deprecated_at="2027-06-01", sunset_at="2027-01-01")
    settings.CADML_API_VERSIONS = versions
    errors = [e for e in run_checks() if e.id.startswith("versioning.")]
    assert [e.id for e in errors] == ["versioning.E002"]
    assert "2027-01-01" in errors[0].msg


def test_the_system_check_refuses_a_malformed_registry(settings):
    settings.CADML_API_VERSIONS = {"v1": {"status": "retired"}}
    ids = [e.id for e in run_checks() if e.id.startswith("versioning.")]
    assert ids == ["versioning.E001"]


def _events(channel: str, after: int) -> list[dict]:
    from apps.realtime.history import get_history

    replay = async_to_sync(get_history().aread)(channel, after)
    return [e for e in replay.events if e["type"] == "api.deprecation"]


def _last_id(channel: str) -> int:
    from apps.realtime.history import get_history

    return async_to_sync(get_history().aread)(channel, None).last_id


def test_a_tenant_on_a_deprecated_version_is_told_once_a_day(
    api_client_a, api_client_b, deprecated_v1
):
    pytest.importorskip("apps.realtime.services")
    before_a = _last_id("tenant:tenant-a")
    before_b = _last_id("tenant:tenant-b")
    for _ in range(3):
        assert api_client_a.get("/api/v1/me").status_code == 200
    api_client_b.get("/api/v2/me")  # the current version: no notice
    events = _events("tenant:tenant-a", before_a)
    assert len(events) == 1
    assert events[0]["data"]["version"] == "v1"
    assert events[0]["data"]["successor"] == "v2"
    assert _events("tenant:tenant-b", before_b) == []
