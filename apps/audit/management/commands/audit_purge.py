from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.audit.context import audit_actor
from apps.audit.services import audit_purge


class Command(BaseCommand):
    help = "Purge audit events past retention (tenants on legal hold are kept)."

    def handle(self, *args: Any, **options: Any) -> None:
        with audit_actor(system="command:audit_purge"):
            result = audit_purge()
        self.stdout.write(f"purged {result.purged} events")
