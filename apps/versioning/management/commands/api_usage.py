"""``manage.py api_usage --version v1``: which tenants still call a version."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Max, Sum
from django.utils import timezone

from apps.versioning import registry
from apps.versioning.models import ApiUsage
from apps.versioning.usage import flush


class Command(BaseCommand):
    help = "Calls per tenant for an API version over the last days."

    def add_arguments(self, parser: CommandParser) -> None:
        # The spelling is `--version v1`; Django's own --version (print
        # Django's version) gives way for this command.
        parser.conflict_handler = "resolve"
        parser._optionals.conflict_handler = "resolve"
        parser.add_argument("--version", dest="api_version", required=True)
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        name = registry.normalize(options["api_version"] or "")
        if name is None or registry.get(name) is None:
            raise CommandError(
                f"unknown API version {options['api_version']!r}; "
                f"supported: {', '.join(registry.supported_names())}"
            )
        if options["days"] < 1:
            raise CommandError("--days must be at least 1")
        flush()  # this process's own tally, if any
        since = timezone.now().date() - timedelta(days=options["days"] - 1)
        rows = list(
            ApiUsage.objects.filter(version=name, day__gte=since)
            .values("tenant__slug")
            .annotate(calls=Sum("calls"), last_call_at=Max("last_call_at"))
            .order_by("-calls", "tenant__slug")
        )
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "version": name,
                        "since": since.isoformat(),
                        "tenants": [
                            {
                                "tenant": r["tenant__slug"],
                                "calls": r["calls"],
                                "last_call_at": r["last_call_at"].isoformat(),
                            }
                            for r in rows
                        ],
                    }
                )
            )
            return
        status = registry.versions()[name].effective_status()
        self.stdout.write(f"API {name} ({status}) since {since}: {len(rows)} tenant(s)")
        for r in rows:
            self.stdout.write(
                f"{r['tenant__slug']:<40} {r['calls']:>10}  "
                f"last {r['last_call_at']:%Y-%m-%d %H:%M}Z"
            )
