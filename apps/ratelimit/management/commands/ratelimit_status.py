"""``manage.py ratelimit_status --tenant SLUG``: current usage per scope and window."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.models import Tenant
from apps.ratelimit.selectors import ratelimit_usage


class Command(BaseCommand):
    help = "Show a tenant's current rate-limit usage per scope and window."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="the tenant's slug")
        parser.add_argument("--json", action="store_true", help="one JSON document")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant with slug {options['tenant']!r}")
        try:
            rows = ratelimit_usage(tenant=tenant)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "tenant": tenant.slug,
                        "plan": tenant.plan,
                        "usage": [asdict(row) for row in rows],
                    }
                )
            )
            return
        self.stdout.write(f"tenant {tenant.slug} (plan {tenant.plan})")
        header = ("scope", "who", "window", "used", "limit", "left", "reset in")
        lines = [header] + [
            (
                r.scope,
                r.label,
                r.window,
                str(r.used),
                str(r.limit),
                str(r.remaining),
                f"{r.reset_in}s",
            )
            for r in rows
        ]
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        for line in lines:
            self.stdout.write(
                "  ".join(
                    cell.ljust(width) for cell, width in zip(line, widths, strict=True)
                ).rstrip()
            )
