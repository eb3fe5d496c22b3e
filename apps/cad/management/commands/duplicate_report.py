from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.models import Tenant
from apps.cad.duplicate_report import write_report


class Command(BaseCommand):
    help = (
        "Write a tenant's near-duplicate drawings (cosine at or over "
        "CADML_DUPLICATE_THRESHOLD) as CSV, one pair a row."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--out", default="-", help="CSV file (default stdout)")
        parser.add_argument("--json", action="store_true", help="JSON summary")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant = Tenant.objects.get(slug=options["tenant"])
        except Tenant.DoesNotExist:
            raise CommandError(f"No tenant {options['tenant']!r}.") from None
        to_stdout = options["out"] == "-"
        fh = sys.stdout if to_stdout else open(options["out"], "w", newline="")  # noqa: SIM115
        try:
            pairs = write_report(tenant=tenant, out=fh)
        finally:
            if not to_stdout:
                fh.close()
        if options["json"]:
            self.stderr.write(json.dumps({"tenant": tenant.slug, "pairs": pairs}))
