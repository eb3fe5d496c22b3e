from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.audit.context import audit_actor
from apps.audit.services import audit_seal


class Command(BaseCommand):
    help = "Seal the audit events written since the last digest into a signed digest."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--max-events", type=int, default=None, help="events per digest at most"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with audit_actor(system="command:audit_seal"):
            digests = audit_seal(max_events=options["max_events"])
        if not digests:
            self.stdout.write("nothing to seal")
            return
        count = sum(d.event_count for d in digests)
        self.stdout.write(
            f"sealed {count} events in {len(digests)} digest(s), through seq "
            f"{digests[-1].last_seq}"
        )
