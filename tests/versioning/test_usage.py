from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from prometheus_client import REGISTRY

from apps.versioning.models import ApiUsage

pytestmark = pytest.mark.django_db


def _metric(version: str, tenant: str) -> float:
    value = REGISTRY.get_sample_value(
        "cadml_api_calls_total", {"version": version, "tenant": tenant}
    )
    return value or 0.0


def test_calls_are_counted_per_version_and_tenant(
    api_client_a, api_client_b, settings, capsys
):
    settings.CADML_API_USAGE_FLUSH_S = 0
    before = _metric("v1", "tenant-a")
    for _ in range(3):
        api_client_a.get("/api/v1/me")
    api_client_a.get("/api/me", HTTP_API_VERSION="1")
    api_client_a.get("/api/v2/me")
    api_client_b.get("/api/v2/tenant")
    assert _metric("v1", "tenant-a") - before == 4
    rows = {
        (u.tenant.slug, u.version): u.calls
        for u in ApiUsage.objects.select_related("tenant")
    }
    assert rows == {
        ("tenant-a", "v1"): 4,
        ("tenant-a", "v2"): 1,
        ("tenant-b", "v2"): 1,
    }
    call_command("api_usage", "--version", "v1", "--json")
    report = json.loads(capsys.readouterr().out)
    assert [(t["tenant"], t["calls"]) for t in report["tenants"]] == [("tenant-a", 4)]
    call_command("api_usage", "--version", "2")
    text = capsys.readouterr().out
    assert "tenant-a" in text and "tenant-b" in text


def test_the_usage_command_refuses_an_unknown_version(db):
    with pytest.raises(CommandError, match="supported: v1, v2"):
        call_command("api_usage", "--version", "v9")
