"""`manage.py check` refuses connection limits a connection could not be judged by."""

from __future__ import annotations

from django.core.checks import run_checks
from django.test import override_settings


def _realtime_errors() -> list[str]:
    return [e.id for e in run_checks() if e.id.startswith("realtime.")]


def test_the_shipped_connection_limits_pass():
    assert _realtime_errors() == []


def test_limits_without_a_free_plan_are_refused():
    # Plans not listed get the free plan's limits: without one, a connection of
    # such a plan would have nothing to be counted against.
    with override_settings(CADML_WS_LIMITS={"pro": {"per_user": 5, "per_tenant": 9}}):
        assert "realtime.E003" in _realtime_errors()


def test_limits_that_are_not_whole_numbers_are_refused():
    limits = {"free": {"per_user": "5", "per_tenant": 20}}
    with override_settings(CADML_WS_LIMITS=limits):
        assert "realtime.E003" in _realtime_errors()
