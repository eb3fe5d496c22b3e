from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.servers import PROJECT_ROOT, server_env


def run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=PROJECT_ROOT,
        env=dict(server_env(), DJANGO_SETTINGS_MODULE="cadml.settings", **env),
        capture_output=True,
        text=True,
        check=True,
    )


def test_json_logs_carry_the_trace_and_request_ids() -> None:
    result = run(
        """
        import logging
        import django
        django.setup()
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
            InMemorySpanExporter,
        )
        from cadml import telemetry
        from cadml.lib.request_id import current_request_id

        telemetry.configure_tracing("web", exporter=InMemorySpanExporter())
        current_request_id.set("req-json-log-1")
        with telemetry.span("batch.item"):
            print(telemetry.current_trace_id())
            logging.getLogger("cadml.batch").warning(
                "item %s failed", 7, extra={"job_id": 3}
            )
        """,
        CADML_LOG_FORMAT="json",
    )
    trace_id = result.stdout.strip()
    (line,) = [x for x in result.stderr.splitlines() if "item 7 failed" in x]
    record = json.loads(line)
    assert record["message"] == "item 7 failed"
    assert record["level"] == "WARNING"
    assert record["logger"] == "cadml.batch"
    assert record["trace_id"] == trace_id and len(trace_id) == 32
    assert record["request_id"] == "req-json-log-1"
    assert record["job_id"] == 3


def test_plain_logs_stay_plain_by_default() -> None:
    result = run(
        """
        import logging
        import django
        django.setup()
        logging.getLogger("cadml.x").warning("hello")
        """,
        CADML_LOG_FORMAT="plain",
    )
    (line,) = [x for x in result.stderr.splitlines() if "hello" in x]
    assert line.endswith("WARNING cadml.x hello")


def _generate_parts(tmp_path, **env: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    base = server_env()
    base.pop("LOG_LEVEL", None)
    return subprocess.run(
        [sys.executable, "manage.py", "generate_parts", "--out", str(tmp_path)]
        + ["--per-class", "1", "--seed", "1"],
        cwd=PROJECT_ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        check=True,
    )


def test_generate_parts_is_quiet_by_default(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = _generate_parts(tmp_path)
    assert "INFO ezdxf" not in result.stderr
    assert not [x for x in result.stderr.splitlines() if " INFO " in x]
    assert "drawings" in result.stdout  # its own report still prints


def test_log_level_debug_brings_the_libraries_back(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = _generate_parts(tmp_path, LOG_LEVEL="DEBUG")
    assert "INFO ezdxf" in result.stderr


def test_our_own_info_logs_still_show_by_default() -> None:
    result = run(
        """
        import logging
        import django
        django.setup()
        logging.getLogger("apps.cad.services").info("mine")
        logging.getLogger("ezdxf").info("theirs")
        """,
        CADML_LOG_FORMAT="plain",
        LOG_LEVEL="INFO",
    )
    assert "INFO apps.cad.services mine" in result.stderr
    assert "theirs" not in result.stderr
