from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.grpcapi.server import TlsFiles, serve_forever


class Command(BaseCommand):
    help = "Serve the cadml.v1 gRPC API (health, reflection, graceful drain)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default="127.0.0.1:50051")
        parser.add_argument(
            "--max-workers",
            type=int,
            default=8,
            help="threads for database and CAD work",
        )
        parser.add_argument(
            "--grace",
            type=float,
            default=30.0,
            help="seconds in-flight calls get on SIGTERM",
        )
        parser.add_argument("--max-message-mb", type=int, default=64)
        parser.add_argument("--tls-cert", type=Path)
        parser.add_argument("--tls-key", type=Path)
        parser.add_argument(
            "--client-ca",
            type=Path,
            help="require client certificates signed by this CA",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tls = None
        if options["tls_cert"] or options["tls_key"]:
            if not (options["tls_cert"] and options["tls_key"]):
                raise CommandError("--tls-cert and --tls-key go together")
            for path in (options["tls_cert"], options["tls_key"], options["client_ca"]):
                if path is not None and not path.is_file():
                    raise CommandError(f"{path} is not a readable file")
            tls = TlsFiles(
                options["tls_cert"], options["tls_key"], options["client_ca"]
            )
        elif options["client_ca"]:
            raise CommandError("--client-ca needs --tls-cert and --tls-key")
        from cadml.telemetry import setup as telemetry_setup

        telemetry_setup("grpc")

        def ready(port: int) -> None:
            host = options["bind"].rsplit(":", 1)[0]
            scheme = "TLS" if tls else "plaintext"
            self.stdout.write(f"gRPC serving on {host}:{port} ({scheme})")
            self.stdout.flush()

        try:
            asyncio.run(
                serve_forever(
                    options["bind"],
                    max_workers=options["max_workers"],
                    grace=options["grace"],
                    max_message_mb=options["max_message_mb"],
                    tls=tls,
                    on_ready=ready,
                )
            )
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("gRPC server stopped")
