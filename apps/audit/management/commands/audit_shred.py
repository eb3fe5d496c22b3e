from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.models import Tenant
from apps.audit.context import audit_actor
from apps.audit.keys import LegalHold, audit_tenant_shred


class Command(BaseCommand):
    help = (
        "Crypto-shred a tenant's audit trail: destroy its data keys, so its events "
        "stay in the chain (and verify) but their personal fields are unreadable "
        "forever. Refused while the tenant is on legal hold."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant", help="tenant slug (or id of a deleted tenant)")
        parser.add_argument("--yes", action="store_true", help="do not ask")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        wanted = options["tenant"]
        tenant = Tenant.objects.filter(slug=wanted).first()
        if tenant is None and wanted.isdigit():
            tenant = Tenant.objects.filter(pk=int(wanted)).first()
            tenant_id = int(wanted)
        elif tenant is None:
            raise CommandError(f"no tenant with slug {wanted!r}")
        else:
            tenant_id = tenant.pk
        if not options["yes"]:
            answer = input(
                f"Destroy the audit keys of tenant {wanted!r}? Its audit events "
                "will be unreadable forever. Type 'yes': "
            )
            if answer.strip().lower() != "yes":
                raise CommandError("not shredded (answer was not 'yes')")
        try:
            with audit_actor(system="command:audit_shred"):
                destroyed = audit_tenant_shred(
                    tenant_id=tenant_id,
                    legal_hold=bool(tenant is not None and tenant.legal_hold),
                )
        except LegalHold as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(
                json.dumps({"tenant_id": tenant_id, "keys_destroyed": destroyed})
            )
        else:
            self.stdout.write(f"shredded: {destroyed} key(s) destroyed")
