"""What an API client sees: headers, 429 problem documents, costs, and which
inputs cannot move it into another bucket."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from rest_framework.test import APIClient

ME = "/api/v1/me"


def _items(header: str) -> dict[str, dict[str, str]]:
    """Parse a structured-field list like '"key-minute";r=3;t=60, ...'."""
    out = {}
    for item in header.split(","):
        name, *params = item.strip().split(";")
        out[name.strip('"')] = dict(p.split("=", 1) for p in params)
    return out


def test_limited_responses_carry_standard_headers(api_client_a, settings):
    settings.CADML_RATELIMIT_POLICIES = {
        "pro": {"key": ["50/minute", "900/hour"], "tenant": ["100/minute"]}
    }
    first = api_client_a.get(ME)
    second = api_client_a.get(ME)
    assert first.status_code == second.status_code == 200

    policy = _items(second["RateLimit-Policy"])
    assert policy["key-minute"] == {"q": "50", "w": "60"}
    assert policy["key-hour"] == {"q": "900", "w": "3600"}
    assert policy["tenant-minute"] == {"q": "100", "w": "60"}
    current = _items(second["RateLimit"])
    assert current["key-minute"]["r"] == "48"
    assert current["tenant-minute"]["r"] == "98"
    assert 0 <= int(current["key-minute"]["t"]) <= 60
    # The tightest window (least left) for older clients.
    assert second["X-RateLimit-Limit"] == "50"
    assert second["X-RateLimit-Remaining"] == "48"
    assert 0 <= int(second["X-RateLimit-Reset"]) <= 60


def test_over_the_limit_is_a_429_problem_with_retry_after(api_client_a, settings):
    settings.CADML_RATELIMIT_POLICIES = {"pro": {"key": ["3/minute"]}}
    for _ in range(3):
        assert api_client_a.get(ME).status_code == 200
    response = api_client_a.get(ME, HTTP_X_REQUEST_ID="req-rl-1")

    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("quota-exceeded")
    assert body["status"] == 429
    assert body["title"]
    assert body["scope"] == "key"
    assert body["policy"] == "key-minute"
    assert body["instance"] == ME
    assert "key limit of 3" in body["detail"]
    assert 1 <= int(response["Retry-After"]) <= 60
    assert _items(response["RateLimit"])["key-minute"]["r"] == "0"


def test_reads_cost_1_writes_cost_2_and_costs_are_configurable(
    admin_client_a, settings
):
    settings.CADML_RATELIMIT_POLICIES = {"pro": {"key": ["100/minute"]}}
    remaining = lambda r: int(_items(r["RateLimit"])["key-minute"]["r"])  # noqa: E731

    assert remaining(admin_client_a.get("/api/v1/api-keys")) == 99
    created = admin_client_a.post(
        "/api/v1/api-keys", {"name": "ci", "scopes": ["read"]}, format="json"
    )
    assert created.status_code == 201
    assert remaining(created) == 97

    settings.CADML_RATELIMIT_COSTS = {"me": 5, "api-keys": {"GET": 7}}
    assert remaining(admin_client_a.get(ME)) == 92
    assert remaining(admin_client_a.get("/api/v1/api-keys")) == 85


def test_a_request_costing_more_than_is_left_is_refused(api_client_a, settings):
    settings.CADML_RATELIMIT_POLICIES = {"pro": {"key": ["12/minute"]}}
    settings.CADML_RATELIMIT_COSTS = {"me": 5}
    assert api_client_a.get(ME).status_code == 200
    assert api_client_a.get(ME).status_code == 200
    refused = api_client_a.get(ME)  # 10 used, 5 more would make 15 > 12
    assert refused.status_code == 429
    assert refused.json()["cost"] == 5


def test_the_plan_comes_from_the_tenant_row_not_from_headers(api_client_b, settings):
    settings.CADML_RATELIMIT_POLICIES = {
        "free": {"key": ["2/minute"]},
        "internal": {"key": ["1000/minute"]},
    }
    forged = {"HTTP_X_PLAN": "internal", "HTTP_X_TENANT_PLAN": "internal"}
    statuses = [api_client_b.get(ME, **forged).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_a_forged_x_forwarded_for_does_not_change_the_bucket(db, settings):
    settings.CADML_RATELIMIT_POLICIES = {"anonymous": {"ip": ["3/minute"]}}
    client = APIClient()
    statuses = [
        client.get(ME, HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code
        for i in range(5)
    ]
    assert statuses[:3] == [401, 401, 401] or statuses[:3] == [403, 403, 403]
    assert statuses[3:] == [429, 429]


def test_behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client(db, settings):
    settings.CADML_RATELIMIT_POLICIES = {"anonymous": {"ip": ["2/minute"]}}
    settings.CADML_TRUSTED_PROXIES = ["127.0.0.0/8"]
    client = APIClient()

    def get(chain: str) -> int:
        return client.get(ME, HTTP_X_FORWARDED_FOR=chain).status_code

    # The client forges the left part; our proxy appended the real 203.0.113.5.
    assert get("1.1.1.1, 203.0.113.5") != 429
    assert get("2.2.2.2, 203.0.113.5") != 429
    assert get("3.3.3.3, 203.0.113.5") == 429
    # Another real client has its own bucket.
    assert get("203.0.113.6") != 429


def test_malformed_api_keys_are_limited_per_ip_before_the_view(db, settings):
    settings.CADML_RATELIMIT_POLICIES = {"anonymous": {"ip": ["3/minute"]}}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Api-Key not-a-key")
    statuses = [client.get(ME).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 429, 429]


def test_health_probes_are_exempt(db, settings):
    settings.CADML_RATELIMIT_POLICIES = {"anonymous": {"ip": ["1/minute"]}}
    client = APIClient()
    for _ in range(3):
        response = client.get("/healthz")
        assert response.status_code == 200
        assert "RateLimit" not in response


def test_api_key_creation_has_its_own_per_tenant_limit(admin_client_a, settings):
    settings.CADML_RATELIMIT_VIEW_RATES = {"api-key-create": "2/m"}
    statuses = [
        admin_client_a.post(
            "/api/v1/api-keys", {"name": f"k{i}", "scopes": ["read"]}, format="json"
        ).status_code
        for i in range(3)
    ]
    assert statuses == [201, 201, 429]
    refused = admin_client_a.post(
        "/api/v1/api-keys", {"name": "k", "scopes": ["read"]}, format="json"
    )
    assert 1 <= int(refused["Retry-After"]) <= 60


def test_admin_login_attempts_are_limited_per_ip(db, settings):
    settings.CADML_RATELIMIT_VIEW_RATES = {"admin-login": "2/m"}
    client = APIClient()
    statuses = [
        client.post("/admin/login/", {"username": "x", "password": "wrong"}).status_code
        for _ in range(3)
    ]
    assert statuses[:2] == [200, 200]  # the form again, with an error
    assert statuses[2] == 429


@pytest.mark.parametrize(
    ("policies", "expected"),
    [
        ({"free": {"key": ["lots/minute"]}}, "policy free:key: cannot parse rate"),
        ({"pro": {"house": ["1/minute"]}}, "policy pro:house: unknown scope"),
        ({"free": {"key": ["0/minute"]}}, "policy free:key: rate '0/minute'"),
        ({"free": {"key": 60}}, "policy free:key: expected a list of rates"),
    ],
)
def test_a_misconfigured_policy_fails_the_system_check_by_name(
    settings, policies, expected
):
    settings.CADML_RATELIMIT_POLICIES = policies
    with pytest.raises(SystemCheckError) as exc:
        call_command("check")
    message = str(exc.value)
    assert "ratelimit.E001" in message
    assert expected in message


def test_bad_costs_and_proxies_fail_the_system_check(settings):
    settings.CADML_RATELIMIT_COSTS = {"me": -1}
    settings.CADML_TRUSTED_PROXIES = ["10.0.0.0/33"]
    with pytest.raises(SystemCheckError) as exc:
        call_command("check")
    assert "ratelimit.E003" in str(exc.value)
    assert "ratelimit.E004" in str(exc.value)


def test_ratelimit_status_shows_usage_per_scope_and_window(
    api_client_a, tenant_a, settings, redis_url, capsys
):
    settings.REDIS_URL = redis_url
    settings.CADML_RATELIMIT_STORAGE_URL = redis_url
    settings.CADML_RATELIMIT_POLICIES = {
        "pro": {"key": ["50/minute"], "tenant": ["80/minute"]}
    }
    for _ in range(3):
        api_client_a.get(ME)
    call_command("ratelimit_status", "--tenant", tenant_a.slug)
    out = capsys.readouterr().out
    key_line = next(
        line
        for line in out.splitlines()
        if api_client_a.api_key.prefix in line and "key-minute" in line
    )
    assert re.search(r"key-minute\s+3\s+50\s+47", key_line), out
    assert re.search(r"tenant-minute\s+3\s+80\s+77", out), out


def test_blocks_are_audited_at_most_once_per_second_per_key(api_client_a, settings):
    from apps.audit.models import AuditEvent

    settings.CADML_RATELIMIT_POLICIES = {"pro": {"key": ["1/minute"]}}
    statuses = [api_client_a.get(ME).status_code for _ in range(4)]
    assert statuses == [200, 429, 429, 429]
    events = AuditEvent.objects.filter(action="ratelimit.blocked")
    assert events.count() == 1  # three blocks within a second: one event
    event = events.get()
    assert event.outcome == "denied"
    assert event.details["scope"] == "key"
    assert event.details["policy"] == "key-minute"
    assert event.actor_key_prefix == api_client_a.api_key.prefix


def test_realtime_tickets_have_their_own_per_principal_limit(api_client_a, settings):
    settings.CADML_RATELIMIT_VIEW_RATES = {"realtime-ticket": "2/m"}
    statuses = [
        api_client_a.post("/api/v1/realtime/tickets").status_code for _ in range(3)
    ]
    assert statuses == [201, 201, 429]
