from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.modelreg.management.commands.activate_model import platform_or_tenant_model
from apps.modelreg.services.deployments import deployment_rollback
from cadml.lib.errors import DomainError


class Command(BaseCommand):
    help = "Serve the previously active version again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--tenant", help="the tenant's own model (slug)")

    def handle(self, *args: Any, **opts: Any) -> None:
        model = platform_or_tenant_model(opts["name"], opts["tenant"])
        try:
            event = deployment_rollback(model=model)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        version = event.version
        assert version is not None  # a roll-back's event names the version it serves
        self.stdout.write(f"{model.name} rolled back to v{version.number}")
