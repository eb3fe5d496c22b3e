from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.models import Tenant
from apps.accounts.services import tenant_onboard
from cadml.lib.errors import DomainError


class Command(BaseCommand):
    help = "Create a tenant, its owner and a first API key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--plan", choices=Tenant.Plan.values, default="free")
        parser.add_argument("--owner", required=True, help="owner's username")
        parser.add_argument("--password", help="owner's password (else random)")
        parser.add_argument("--json", action="store_true", help="one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            done = tenant_onboard(
                slug=options["slug"],
                plan=options["plan"],
                owner_username=options["owner"],
                password=options["password"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        except Exception as exc:  # validation errors from full_clean
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "tenant": done.tenant.slug,
                        "owner": done.owner.get_username(),
                        "api_key": done.key.plaintext,
                    }
                )
            )
            return
        self.stdout.write(f"Tenant:   {done.tenant.slug} ({done.tenant.plan})")
        self.stdout.write(f"Owner:    {done.owner.get_username()}")
        if done.password:
            self.stdout.write(f"Password: {done.password}")
        self.stdout.write(f"API key:  {done.key.plaintext}  (shown once)")
