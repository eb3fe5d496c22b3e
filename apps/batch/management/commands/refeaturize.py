from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.models import Tenant
from apps.batch.submission import refeaturize_submit
from apps.cad.features import DXF_FEATURE_VERSION
from cadml.lib import params
from cadml.lib.errors import DomainError, InvalidInput


class Command(BaseCommand):
    help = (
        "Re-analyse a tenant's drawings that have no vector of a feature version "
        "(default: the one analyses write today) as batch jobs; watch and cancel "
        "them as any job. Old analyses are kept. Run it again to resume. "
        "--all-tenants does it for every tenant (after an upgrade), one line each. "
        "--analysed-before redoes vectors computed before a date (after a release "
        "that reads drawings better within the same feature version)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--tenant", help="tenant slug")
        which.add_argument("--all-tenants", action="store_true")
        parser.add_argument("--feature-version", default=DXF_FEATURE_VERSION)
        parser.add_argument(
            "--analysed-before",
            type=_moment,
            help="also redo drawings whose analyses of that version all finished "
            "before this date or ISO time (e.g. the upgrade's date)",
        )
        parser.add_argument("--json", action="store_true", help="JSON output")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["all_tenants"]:
            tenants = list(Tenant.objects.order_by("slug"))
        else:
            try:
                tenants = [Tenant.objects.get(slug=options["tenant"])]
            except Tenant.DoesNotExist:
                raise CommandError(f"No tenant {options['tenant']!r}.") from None
        for tenant in tenants:
            self._submit(
                tenant,
                options["feature_version"],
                as_json=options["json"],
                before=options["analysed_before"],
            )

    def _submit(
        self,
        tenant: Tenant,
        feature_version: str,
        *,
        as_json: bool,
        before: datetime | None,
    ) -> None:
        try:
            jobs = refeaturize_submit(
                tenant=tenant,
                user=None,
                feature_version=feature_version,
                analysed_before=before,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        ids = [job.pk for job in jobs]
        drawings = sum(job.total for job in jobs)
        if as_json:
            self.stdout.write(
                json.dumps(
                    {
                        "tenant": tenant.slug,
                        "feature_version": feature_version,
                        "jobs": ids,
                        "drawings": drawings,
                    }
                )
            )
        else:
            self.stdout.write(
                f"{tenant.slug}: {drawings} drawing(s) to re-analyse in "
                f"job(s) {', '.join(map(str, ids)) or '-'}"
            )


def _moment(value: str) -> datetime:
    """A date (its midnight) or an ISO date-time, as the API's date filters
    read them; naive ones in the server's time zone."""
    try:
        moment = params.when(value, field="--analysed-before")
    except InvalidInput:
        moment = None
    if moment is None:
        raise CommandError(
            f"--analysed-before {value!r} is no date: use YYYY-MM-DD or an ISO "
            "date-time such as 2026-12-06T17:00:00Z."
        )
    return moment
