from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.models import Tenant
from apps.audit import crypto
from apps.audit.context import audit_actor
from apps.audit.keys import KeyUnavailable, audit_keys_rotate


class Command(BaseCommand):
    help = (
        "Re-wrap every audit data key under the newest CADML_AUDIT_KEK (no event is "
        "rewritten); with --data-keys, also start new data keys for new events."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--data-keys", action="store_true")
        parser.add_argument("--tenant", help="slug: rotate only its data key")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant_id = None
        if options["tenant"]:
            tenant = Tenant.objects.filter(slug=options["tenant"]).first()
            if tenant is None:
                raise CommandError(f"no tenant with slug {options['tenant']!r}")
            tenant_id = tenant.pk
        try:
            with audit_actor(system="command:audit_rotate_keys"):
                result = audit_keys_rotate(
                    data_keys=options["data_keys"] or tenant_id is not None,
                    tenant_id=tenant_id,
                )
        except (crypto.KekError, KeyUnavailable) as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result.__dict__))
        else:
            self.stdout.write(
                f"re-wrapped {result.rewrapped} key(s) under KEK {result.kek_id}; "
                f"{result.new_data_keys} new data key(s)"
            )
