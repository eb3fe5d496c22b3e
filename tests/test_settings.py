"""Settings come from the environment; production refuses unsafe values."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import PROJECT_ROOT

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "k" * 20 + "-Zq8vN3rT6yU1iO4pA7sD0fG2hJ5kL9xC-" + "m" * 20,
    "ALLOWED_HOSTS": "cadml.example.com",
    "CADML_AUDIT_SIGNING_KEY": "audit-" + "s" * 40,
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_in_production():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_production_refuses_a_missing_or_placeholder_secret_key():
    for secret in ("", "dev-insecure-secret-key-change-me", "short"):
        result = _manage("check", env={**PRODUCTION_ENV, "SECRET_KEY": secret})
        assert result.returncode != 0
        assert "SECRET_KEY" in result.stderr


def test_a_bad_boolean_names_the_variable():
    result = _manage("check", env={"DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr
