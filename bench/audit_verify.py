"""``audit_verify`` over N audit events (default 1,000,000): seed them fast (COPY on
PostgreSQL, bulk_create on SQLite) into a throw-away database, seal them, then
time verification. The baseline, in the same run, is fetching the first 100,000
rows' columns into Python without hashing them (what any row-by-row check in
Python would pay at least), as events/s.

With ``--encrypted`` the events are seeded as encryption at rest stores them:
personal fields blank, an AES-GCM ciphertext of them, its key id and blind
indexes (all covered by the seal), so the figure is for an encrypted trail.

Prints one JSON line. Target: verify <= 30 s for 1,000,000 events.
Usage: python bench/audit_verify.py [events] [--encrypted]
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


def encrypted_rows(n: int):  # type: ignore[no-untyped-def]
    import base64
    import hashlib

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aead = AESGCM(AESGCM.generate_key(bit_length=256))
    for row in rows(n):
        plain = (
            json.dumps(
                {"actor_label": row[7], "ip": row[9], "user_agent": row[10]}
            ).encode()[:-1]
            + b', "details": '
            + row[15].encode()
            + b"}"
        )
        nonce = os.urandom(12)
        sealed = base64.b64encode(nonce + aead.encrypt(nonce, plain, None)).decode()
        ip_index = hashlib.sha256(row[9].encode()).hexdigest()[:32]
        actor_index = hashlib.sha256(row[7].encode()).hexdigest()[:32]
        yield (
            *row[:7], "", row[8], "", "", *row[11:15], "{}",
            f"k{row[4]:015d}", sealed, ip_index, actor_index,
        )  # fmt: skip


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


def seed(n: int, *, encrypted: bool = False) -> float:
    from django.db import connection

    from apps.audit.integrity import COLUMNS, ENCRYPTED_COLUMNS
    from apps.audit.models import AuditEvent

    columns = COLUMNS + ENCRYPTED_COLUMNS if encrypted else COLUMNS
    source = encrypted_rows if encrypted else rows
    started = time.perf_counter()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            with cursor.cursor.copy(
                f"COPY audit_auditevent ({', '.join(columns)}) FROM STDIN"
            ) as copy:
                for row in source(n):
                    copy.write_row(row)
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('audit_auditevent', 'seq'), %s)",
                [n],
            )
    else:
        batch = []
        for row in source(n):
            values = dict(zip(columns, row, strict=True))
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
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    encrypted = "--encrypted" in sys.argv[1:]
    n = int(args[0]) if args else 1_000_000
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
        seed_s = seed(n, encrypted=encrypted)
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
                conn.execute(
                    f'DROP DATABASE IF EXISTS "{urlparse(url).path[1:]}" WITH (FORCE)'
                )
    print(
        json.dumps(
            {
                "bench": "audit_verify",
                "events": n,
                "encrypted": encrypted,
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
