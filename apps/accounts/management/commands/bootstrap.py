from __future__ import annotations

import os
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.models import ApiKey, Tenant
from apps.accounts.services import (
    api_key_create,
    tenant_onboard,
    user_password_reset,
)
from cadml.lib.errors import DomainError


class Command(BaseCommand):
    help = "Idempotent demo set-up: migrate, a 'demo' tenant, owner and key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--new-key",
            action="store_true",
            help="issue another demo key even if one exists",
        )
        parser.add_argument(
            "--skip-model", action="store_true", help="do not train the default model"
        )
        parser.add_argument(
            "--reset-password",
            action="store_true",
            help="give the demo user a new password (CADML_DEMO_PASSWORD, or a "
            "generated one) and print it",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        if apps.is_installed("apps.modelreg") and not options["skip_model"]:
            # A new user sees real predictions at once: train and activate the
            # default classifier on synthetic drawings (seeded; once).
            call_command("ensure_default_model", stdout=self.stdout)
        host = os.environ.get("HOST", "127.0.0.1")
        port = os.environ.get("PORT", "8000")
        base = f"http://{host}:{port}"
        tenant = Tenant.objects.filter(slug="demo").first()
        plaintext = None
        password = None
        if tenant is None:
            done = tenant_onboard(
                slug="demo",
                plan="pro",
                owner_username="demo",
                password=os.environ.get("CADML_DEMO_PASSWORD"),
            )
            tenant, plaintext, password = done.tenant, done.key.plaintext, done.password
            owner = done.owner
            owner.is_staff = True
            owner.is_superuser = True
            owner.save(update_fields=["is_staff", "is_superuser"])
        elif (
            options["new_key"]
            or not ApiKey.objects.filter(tenant=tenant, revoked_at=None).exists()
        ):
            membership = tenant.memberships.filter(role="owner").first()
            plaintext = api_key_create(
                tenant=tenant,
                name="demo",
                scopes=["read", "write", "admin"],
                created_by=membership.user if membership else None,
            ).plaintext
        reset_to_env = False
        if options["reset_password"] and password is None:
            demo = get_user_model().objects.filter(username="demo").first()
            if demo is None:
                raise CommandError("there is no demo user to reset")
            chosen = os.environ.get("CADML_DEMO_PASSWORD") or None
            try:
                password = user_password_reset(user=demo, password=chosen)
            except DomainError as exc:
                raise CommandError(f"CADML_DEMO_PASSWORD: {exc.message}") from None
            reset_to_env = chosen is not None
        self.stdout.write("cadml is set up.")
        self.stdout.write(f"  Admin:         {base}/admin/  (user: demo)")
        if reset_to_env:
            self.stdout.write("  Password:      reset to CADML_DEMO_PASSWORD")
        elif password:
            self.stdout.write(f"  Password:      {password}")
        self.stdout.write(f"  Browsable API: {base}/api/v1/me")
        if plaintext:
            self.stdout.write(f"  API key:       {plaintext}  (shown once)")
            self.stdout.write(
                f"  Try:           curl -H 'Authorization: Api-Key {plaintext}' "
                f"{base}/api/v1/me"
            )
        else:
            self.stdout.write(
                "  API key:       the demo key was shown when it was created; "
                "`python manage.py bootstrap --new-key` issues another"
            )
