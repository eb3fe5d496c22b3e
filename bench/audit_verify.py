"""``audit_verify`` over N audit events (default 1,000,000): seed them fast (COPY on
PostgreSQL, bulk_create on SQLite) into a throw-away database, seal them, then
time verification. The baseline, in the same run, is fetching the first 100,000
rows' columns into Python without hashing them (what any row-by-row check in
Python would pay at least), as events/s.

Prints one JSON line. Target: verify <= 30 s for 1,000,000 events.
Usage: python bench/audit_verify.py [events]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ACTIONS = ["api.call"] * 8 + ["auth.login", "apikey.rejected"]


def throwaway_database() -> tuple[str, str | None]:
    """(DATABASE_URL for the bench, admin URL to drop it with, if PostgreSQL)."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        parsed = urlparse(url)
        name = f"{parsed.path.lstrip('/') or 'cadml'}_auditbench"
        import psycopg

        admin = urlunparse(parsed._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return urlunparse(parsed._replace(path=f"/{name}")), admin
    path = Path(tempfile.mkdtemp(prefix="cadml-auditbench-")) / "bench.sqlite3"
    return f"sqlite:///{path}", None


def rows(n: int):  # type: ignore[no-untyped-def]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for seq in range(1, n + 1):
        action = ACTIONS[seq % len(ACTIONS)]
        yield (
            seq,
            start + timedelta(milliseconds=seq * 7),
            action,
            "success" if action != "apikey.rejected" else "denied",
            seq % 50 + 1,
            "api_key",
            None,
            f"key:k{seq % 977:011d}",
            f"k{seq % 977:011d}",
            f"10.0.{seq % 256}.{seq % 199}",
            "bench-client/1.0",
            f"req{seq:012d}",
            "",
            "route",
            "/api/v1/me",
            json.dumps(
                {
                    "method": "GET",
                    "route": "/api/v1/me",
                    "status": 200,
                    "duration_ms": round(seq % 97 / 7, 2),
                }
            ),
        )


def seed(n: int) -> float:
    from django.db import connection

    from apps.audit.integrity import COLUMNS
    from apps.audit.models import AuditEvent

    started = time.perf_counter()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            with cursor.cursor.copy(
                f"COPY audit_auditevent ({', '.join(COLUMNS)}) FROM STDIN"
            ) as copy:
                for row in rows(n):
                    copy.write_row(row)
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('audit_auditevent', 'seq'), %s)",
                [n],
            )
    else:
        batch = []
        for row in rows(n):
            values = dict(zip(COLUMNS, row, strict=True))
            values["details"] = json.loads(values["details"])
            batch.append(AuditEvent(**values))
            if len(batch) == 20_000:
                AuditEvent.objects.bulk_create(batch)
                batch = []
        AuditEvent.objects.bulk_create(batch)
    return time.perf_counter() - started


BASELINE_ROWS = 100_000


def bare_scan() -> float:
    from apps.audit.services import fetch_rows

    started = time.perf_counter()
    after = 0
    while after < BASELINE_ROWS and (chunk := fetch_rows(after, BASELINE_ROWS, 20_000)):
        after = chunk[-1][0]
    return time.perf_counter() - started


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    url, admin = throwaway_database()
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadml.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from apps.audit.services import audit_seal
    from apps.audit.verify import audit_verify

    try:
        call_command("migrate", verbosity=0)
        seed_s = seed(n)
        started = time.perf_counter()
        digests = audit_seal()
        seal_s = time.perf_counter() - started
        scan_s = bare_scan()
        started = time.perf_counter()
        report = audit_verify()
        verify_s = time.perf_counter() - started
    finally:
        connection.close()
        if admin:
            import psycopg

            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{urlparse(url).path[1:]}"')
    print(
        json.dumps(
            {
                "bench": "audit_verify",
                "events": n,
                "ok": report.ok,
                "events_checked": report.events_checked,
                "digests": len(digests),
                "seed_s": round(seed_s, 2),
                "seal_s": round(seal_s, 2),
                "seal_events_per_s": round(n / seal_s),
                "verify_s": round(verify_s, 2),
                "verify_events_per_s": round(n / verify_s),
                "bare_fetch_events_per_s": round(min(n, BASELINE_ROWS) / scan_s),
                "verify_vs_bare_fetch": round(
                    (n / verify_s) / (min(n, BASELINE_ROWS) / scan_s), 2
                ),
                "target_verify_s": 30,
                "database": url.split(":", 1)[0],
            }
        )
    )


if __name__ == "__main__":
    main()
