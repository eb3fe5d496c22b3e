"""A tenant's compliance report verification vs the platform-wide one, over N
sealed audit events (default 300,000) spread over 50 tenants.

``GET /api/v1/audit/reports`` used to re-verify every tenant's events; it now
checks the caller's own (``audit_verify_tenant``). The baseline, in the same run
on the same data, is the platform-wide ``audit_verify`` the report used to run
(and staff still run). Prints one JSON line.
Usage: python bench/audit_tenant_report.py [events]
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.audit_verify import seed, throwaway_database  # noqa: E402


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300_000
    url, admin = throwaway_database()
    os.environ["DATABASE_URL"] = url
    # Pooled connections would outlive the run and keep the database from dropping.
    os.environ.setdefault("DB_POOL", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadml.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from apps.audit.services import audit_seal
    from apps.audit.verify import audit_verify, audit_verify_tenant

    try:
        call_command("migrate", verbosity=0)
        seed(n)
        audit_seal()
        started = time.perf_counter()
        platform = audit_verify()
        platform_s = time.perf_counter() - started
        started = time.perf_counter()
        tenant = audit_verify_tenant(tenant_id=1)
        tenant_s = time.perf_counter() - started
    finally:
        connection.close()
        if admin:
            import psycopg

            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{urlparse(url).path[1:]}"')
    print(
        json.dumps(
            {
                "bench": "audit_tenant_report",
                "events": n,
                "tenants": 50,
                "platform_verify_s": round(platform_s, 3),
                "platform_events_checked": platform.events_checked,
                "tenant_verify_s": round(tenant_s, 3),
                "tenant_events_checked": tenant.events_checked,
                "both_ok": platform.ok and tenant.ok,
                "speedup": round(platform_s / tenant_s, 1),
                "database": url.split(":", 1)[0],
            }
        )
    )


if __name__ == "__main__":
    main()
