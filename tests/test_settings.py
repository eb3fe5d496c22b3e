"""Settings come from the environment; production refuses unsafe values."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterable

from tests.conftest import PROJECT_ROOT

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "k" * 20 + "-Zq8vN3rT6yU1iO4pA7sD0fG2hJ5kL9xC-" + "m" * 20,
    "ALLOWED_HOSTS": "cadml.example.com",
    "CADML_AUDIT_SIGNING_KEY": "audit-" + "s" * 40,
}


def _manage(
    *args: str, env: dict[str, str], unset: Iterable[str] = ()
) -> subprocess.CompletedProcess[str]:
    """``manage.py`` with ``env`` over this environment, less the deployment
    variables and ``unset``."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", *unset}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_in_production(tmp_path):
    env = {**PRODUCTION_ENV, "STATIC_ROOT": str(tmp_path / "static")}
    collected = _manage("collectstatic", "--noinput", "-v", "0", env=env)
    assert collected.returncode == 0, collected.stderr
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_check_deploy_fails_without_collectstatic(tmp_path):
    env = {**PRODUCTION_ENV, "STATIC_ROOT": str(tmp_path / "never-collected")}
    result = _manage("check", "--deploy", env=env)
    assert result.returncode != 0
    assert "cadml.E001" in result.stderr
    assert "collectstatic" in result.stderr
    # With DEBUG on, static files come from the apps: nothing to collect.
    debug = _manage("check", "--deploy", env={**env, "DEBUG": "1"})
    assert "cadml.E001" not in debug.stderr + debug.stdout


def test_make_run_collects_static_files():
    recipe = (PROJECT_ROOT / "Makefile").read_text().split("\nrun:", 1)[1]
    recipe = recipe.split("\n\n", 1)[0]
    assert "manage.py collectstatic --noinput" in recipe
    assert recipe.index("collectstatic") < recipe.index("manage.py serve")


def test_production_refuses_a_missing_or_placeholder_secret_key():
    for secret in ("", "dev-insecure-secret-key-change-me", "short"):
        result = _manage("check", env={**PRODUCTION_ENV, "SECRET_KEY": secret})
        assert result.returncode != 0
        assert "SECRET_KEY" in result.stderr


def test_a_bad_boolean_names_the_variable():
    result = _manage("check", env={"DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def _settings_reads_with_a_default(source: str, name: str) -> list[str]:
    """``getattr(settings, name, default)`` calls in one module."""
    found = []
    for node in ast.walk(ast.parse(source, filename=name)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) >= 3
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id == "settings"
        ):
            found.append(f"{name}:{node.lineno}")
    return found


def test_every_setting_has_its_default_in_settings_py_only():
    # A second default beside cadml/settings.py drifts from the first: code reads
    # settings.X, and a new setting gets its default (and .env.example line) there.
    sources = {
        str(path.relative_to(PROJECT_ROOT)): path
        for root in ("apps", "cadml")
        for path in (PROJECT_ROOT / root).rglob("*.py")
        if "migrations" not in path.parts
    }
    assert "apps/realtime/limits.py" in sources
    offenders = [
        hit
        for name, path in sorted(sources.items())
        for hit in _settings_reads_with_a_default(path.read_text(), name)
    ]
    assert offenders == [], "read settings.X; put the default in cadml/settings.py"


def test_the_scan_finds_a_read_with_a_default():
    source = (
        "from django.conf import settings\n"
        "a = settings.CADML_A\n"
        'b = getattr(settings, "CADML_B", 3)\n'
        "c = getattr(settings, name)\n"
        "d = getattr(\n    settings, name, None\n)\n"
    )
    assert _settings_reads_with_a_default(source, "m.py") == ["m.py:3", "m.py:5"]


def _environment_names_read_by_settings() -> set[str]:
    tree = ast.parse((PROJECT_ROOT / "cadml" / "settings.py").read_text())
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id.startswith("env_")
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }


def test_env_example_lists_every_setting_read_from_the_environment():
    # The README sends people to .env.example for every setting; one missing
    # there is a setting nobody finds.
    listed = {
        line.split("=", 1)[0].lstrip("# ").strip()
        for line in (PROJECT_ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("# ---")
    }
    read = _environment_names_read_by_settings()
    assert "CADML_MODEL_NOT_A_PART_SHARE" in read and len(read) > 50
    assert sorted(read - listed) == []


def test_an_empty_folder_setting_means_its_default():
    # .env.example lists MEDIA_ROOT= and friends empty: copied as it is, the
    # files must not land in whatever directory the process started in.
    show = (
        "from django.conf import settings as s; "
        "print(s.MEDIA_ROOT, s.STATIC_ROOT, s.CADML_SEARCH_DIR, sep='|')"
    )
    empty = {"MEDIA_ROOT": "", "STATIC_ROOT": "", "CADML_SEARCH_DIR": ""}
    out = _manage("shell", "-c", show, env=empty)
    assert out.returncode == 0, out.stderr
    media, static, search = out.stdout.strip().splitlines()[-1].split("|")
    assert media == str(PROJECT_ROOT / "media")
    assert static == str(PROJECT_ROOT / "staticfiles")
    assert search == str(PROJECT_ROOT / "media" / "search")


def _settings_under(env: dict[str, str], names: list[str]) -> dict[str, str]:
    show = (
        "import json; from django.conf import settings as s; "
        f"print('SETTINGS' + json.dumps({{k: getattr(s, k) for k in {names!r} "
        "if hasattr(s, k)}, "
        "default=str))"
    )
    out = _manage("shell", "-c", show, env=env, unset=names)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.rsplit("SETTINGS", 1)[1])


def test_the_values_env_example_shows_are_the_defaults():
    # Someone who copies a line of .env.example gets what the platform runs
    # with unset (a value there that drifted from the default, such as an
    # older feature version for the default model, would quietly change it).
    shown = {}
    for line in (PROJECT_ROOT / ".env.example").read_text().splitlines():
        if line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        value = value.split(" #", 1)[0].strip()
        if value:  # empty: left unset
            shown[name.strip()] = value
    assert "CADML_SYNTHETIC_FEATURE_VERSION" in shown and len(shown) > 50
    names = sorted(shown)
    unset, copied = _settings_under({}, names), _settings_under(shown, names)

    def same(a: object, b: object) -> bool:
        # 600 and 600.0 are one timeout
        if isinstance(a, int | float) and isinstance(b, int | float):
            return float(a) == float(b)
        return a == b

    assert len(unset) > 50
    assert [n for n in unset if not same(unset[n], copied[n])] == []


def test_an_empty_prometheus_multiproc_dir_as_env_example_shows_writes_no_files(
    tmp_path,
):
    # Copied as `.env.example` shows it (empty), the variable must mean unset,
    # as every other empty setting does: prometheus_client would otherwise run
    # in multiprocess mode and leave its .db files in the working directory.
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "manage.py"), "check"],
        cwd=tmp_path,
        env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []
