from __future__ import annotations

import json
import sys
from datetime import datetime, time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from apps.audit.verify import audit_verify


def parse_since(raw: str) -> datetime:
    value = parse_datetime(raw)
    if value is None:
        day = parse_date(raw)
        if day is None:
            raise CommandError(
                f"--since {raw!r} is not a date (YYYY-MM-DD) or ISO 8601 date-time"
            )
        value = datetime.combine(day, time.min)
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
    return value


class Command(BaseCommand):
    help = (
        "Recompute every audit digest and sealed event; report modified, deleted and "
        "inserted events and broken links. Exits 1 on any problem."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", help="only digests ending on/after this date")
        parser.add_argument("--json", action="store_true", help="one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        since = parse_since(options["since"]) if options["since"] else None
        report = audit_verify(since=since)
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict()))
        else:
            self.stdout.write(
                f"{'OK' if report.ok else 'FAILED'}: {report.digests_checked} "
                f"digest(s), {report.events_checked} event(s) checked, "
                f"{report.purged_accounted} purged, {report.unsealed} unsealed; "
                f"sealed through seq {report.sealed_through_seq}"
            )
            for kind, count in sorted(report.counts.items()):
                self.stdout.write(f"  {kind}: {count}")
            for problem in report.problems[:50]:
                where = (f"seq {problem.seq}" if problem.seq is not None else "-") + (
                    f" (digest {problem.digest})" if problem.digest else ""
                )
                self.stdout.write(f"  {problem.kind}: {where} {problem.detail}")
        if not report.ok:
            sys.exit(1)
