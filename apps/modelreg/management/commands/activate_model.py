from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.modelreg.models import RegisteredModel
from apps.modelreg.services.deployments import deployment_request
from cadml.lib.errors import DomainError


def platform_or_tenant_model(name: str, tenant_slug: str | None) -> RegisteredModel:
    model = RegisteredModel.objects.filter(
        name=name,
        **({"tenant__slug": tenant_slug} if tenant_slug else {"tenant": None}),
    ).first()
    if model is None:
        raise CommandError(f"no model {name!r}")
    return model


class Command(BaseCommand):
    help = "Health-check a version and make it the active one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("version", type=int)
        parser.add_argument("--tenant", help="the tenant's own model (slug)")

    def handle(self, *args: Any, **opts: Any) -> None:
        model = platform_or_tenant_model(opts["name"], opts["tenant"])
        try:
            event = deployment_request(
                model=model, number=opts["version"], run_now=True
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if event.status != event.Status.SUCCEEDED:
            raise CommandError(f"health check failed: {event.detail}")
        self.stdout.write(f"{model.name} v{opts['version']} is active")
