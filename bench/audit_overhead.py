"""Audit overhead: requests/s of GET /api/v1/me (API key) on daphne with auditing on
(one buffered ``api.call`` per request) vs the same set-up with
``CADML_AUDIT_ENABLED=0``, and auditing with encryption at rest
(``CADML_AUDIT_ENCRYPT=1``) vs auditing in clear: three daphne processes on the
same database in one run, loaded in turn. Afterwards the audited servers are
stopped cleanly and the events they wrote are counted against the requests they
served (none may be lost).

Prints one JSON line. Targets: ratio >= 0.9, encryption_ratio >= 0.9, lost == 0.
Usage: python bench/audit_overhead.py [seconds]
"""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_env, load, make_tenant, manage  # noqa: E402
from tests.servers import running_daphne  # noqa: E402

COUNT = (
    "from apps.audit.models import AuditEvent;"
    "print(AuditEvent.objects.filter(action='api.call').count())"
)


def api_calls(env: dict[str, str]) -> int:
    return int(manage(env, "shell", "-c", COUNT).strip().splitlines()[-1])


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    env = bench_env(CADML_AUDIT_ENABLED="1")
    key = make_tenant(env)
    before = api_calls(env)
    auth = {"Authorization": f"Api-Key {key}"}
    kek = base64.urlsafe_b64encode(os.urandom(32)).decode()
    encrypted_env = {**env, "CADML_AUDIT_ENCRYPT": "1", "CADML_AUDIT_KEK": kek}
    served_on = 0
    with (
        running_daphne(env) as on,
        running_daphne(encrypted_env) as enc,
        running_daphne({**env, "CADML_AUDIT_ENABLED": "0"}) as off,
    ):
        for server in (on, enc, off):  # warm up
            result = load("/api/v1/me", server.port, headers=auth, seconds=1)
            if server is not off:
                served_on += result.requests
        rounds = []
        for _ in range(2):  # interleave so drift hits every side alike
            audited = load("/api/v1/me", on.port, headers=auth, seconds=seconds)
            encrypted = load("/api/v1/me", enc.port, headers=auth, seconds=seconds)
            plain = load("/api/v1/me", off.port, headers=auth, seconds=seconds)
            served_on += audited.requests + encrypted.requests
            rounds.append((audited, plain, encrypted))
        on.stop()  # SIGTERM: the buffer is flushed on the way out
        enc.stop()
    written = api_calls(env) - before
    audited_rps = sum(r[0].rps for r in rounds) / len(rounds)
    plain_rps = sum(r[1].rps for r in rounds) / len(rounds)
    encrypted_rps = sum(r[2].rps for r in rounds) / len(rounds)
    print(
        json.dumps(
            {
                "bench": "audit_overhead",
                "audit_on_rps": round(audited_rps, 1),
                "audit_off_rps": round(plain_rps, 1),
                "ratio": round(audited_rps / plain_rps, 3),
                "target_ratio": 0.9,
                "audit_encrypted_rps": round(encrypted_rps, 1),
                "encryption_ratio": round(encrypted_rps / audited_rps, 3),
                "encrypted_vs_off_ratio": round(encrypted_rps / plain_rps, 3),
                "audit_on_p50_ms": round(rounds[-1][0].p50, 2),
                "audit_off_p50_ms": round(rounds[-1][1].p50, 2),
                "requests_audited": served_on,
                "api_call_events_written": written,
                "lost": served_on - written,
                "errors": sum(r[0].errors + r[1].errors + r[2].errors for r in rounds),
                "database": env["DATABASE_URL"].split(":", 1)[0],
            }
        )
    )


if __name__ == "__main__":
    main()
