from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.servers import PROJECT_ROOT, server_env


def test_without_otel_settings_nothing_is_installed() -> None:
    # A fresh process as daphne starts it: no OTEL_* variables, asgi imported.
    code = textwrap.dedent(
        """
        import json
        import cadml.asgi
        from django.conf import settings
        from cadml import telemetry
        from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
        with telemetry.span("cad.parse", format="dxf") as s:
            inner = s
        print(json.dumps({
            "enabled": telemetry.tracing_enabled(),
            "django_mw": any("opentelemetry" in m for m in settings.MIDDLEWARE),
            "psycopg": PsycopgInstrumentor().is_instrumented_by_opentelemetry,
            "span": repr(inner),
            "trace_id": telemetry.current_trace_id(),
        }))
        """
    )
    env = {k: v for k, v in server_env().items() if not k.startswith("OTEL_")}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip().splitlines()[-1] == (
        '{"enabled": false, "django_mw": false, "psycopg": false, '
        '"span": "None", "trace_id": null}'
    )


def test_an_unknown_exporter_is_refused_with_a_clear_message() -> None:
    env = dict(server_env(), OTEL_TRACES_EXPORTER="zipkin")
    result = subprocess.run(
        [sys.executable, "-c", "import cadml.asgi"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "OTEL_TRACES_EXPORTER='zipkin' is not supported" in result.stderr
