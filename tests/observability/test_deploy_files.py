"""The Prometheus rules and Grafana dashboards parse, fire when they should, and
only name metrics the code defines (a renamed metric must not silently blank a
dashboard or disarm an alert)."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess

import pytest
import yaml
from prometheus_client import REGISTRY

from tests.servers import PROJECT_ROOT

DOCKER = PROJECT_ROOT / "docker"
RULES = sorted((DOCKER / "prometheus" / "rules").glob("*.yml"))
DASHBOARDS = sorted((DOCKER / "grafana" / "dashboards").glob("*.json"))
METRIC = re.compile(r"\bcadml_[a-z0-9_]+")
SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool is not installed (Debian package 'prometheus')")
    return path


def test_promtool_accepts_the_rules() -> None:
    result = subprocess.run(
        [promtool(), "check", "rules", *map(str, RULES)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_burn_rate_alerts_fire_on_a_fast_burn_and_stay_quiet_inside_budget() -> None:
    result = subprocess.run(
        [promtool(), "test", "rules", "slo_test.yml"],
        cwd=DOCKER / "prometheus" / "tests",
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def defined_metrics() -> set[str]:
    # The limiter's counters live in its app; import them if it is installed.
    for module in ("cadml.metrics", "apps.ratelimit.metrics", "apps.ratelimit.engine"):
        try:
            importlib.import_module(module)
        except ImportError:
            pass
    names: set[str] = set()
    for registered in REGISTRY._collector_to_names.values():  # noqa: SLF001
        names.update(registered)
    return names


def base_name(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def referenced(text: str) -> set[str]:
    return {
        base_name(m)
        for m in METRIC.findall(text)
        if not m.startswith("cadml_metrics")  # the token file name
    }


def test_rules_and_dashboards_name_only_defined_metrics() -> None:
    defined = {base_name(n) for n in defined_metrics()}
    used: dict[str, set[str]] = {}
    for path in [*RULES, *DASHBOARDS]:
        text = path.read_text()
        if path.suffix == ".json":
            text = " ".join(
                target["expr"]
                for panel in json.loads(text)["panels"]
                for target in panel["targets"]
            )
        for name in referenced(text):
            used.setdefault(name, set()).add(path.name)
    missing = {name: files for name, files in used.items() if name not in defined}
    assert not missing, f"metrics used but not defined: {missing}"


def test_every_dashboard_is_provisioned_and_unique() -> None:
    uids = [json.loads(path.read_text())["uid"] for path in DASHBOARDS]
    assert sorted(uids) == [
        "cadml-api",
        "cadml-batch",
        "cadml-models",
        "cadml-ratelimit",
        "cadml-realtime",
    ]
    provider = yaml.safe_load(
        (DOCKER / "grafana/provisioning/dashboards/dashboards.yaml").read_text()
    )
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
