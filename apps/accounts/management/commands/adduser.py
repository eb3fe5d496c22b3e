from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.models import Membership
from apps.accounts.selectors import tenant_by_slug
from apps.accounts.services import member_add
from cadml.lib.errors import DomainError


class Command(BaseCommand):
    help = (
        "Add a user to a tenant with a role, creating the user if needed. A new "
        "user's password is generated and printed once, or read from stdin with "
        "--password-stdin."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant", help="the tenant's slug, e.g. demo")
        parser.add_argument("username")
        parser.add_argument(
            "--role",
            choices=Membership.Role.values,
            default=Membership.Role.MEMBER,
            help="default: member",
        )
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from the first line of stdin (kept out of "
            "the shell history and the process list)",
        )
        parser.add_argument("--json", action="store_true", help="JSON output")

    def handle(self, *args: Any, **options: Any) -> None:
        password = None
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError("--password-stdin: stdin had no password")
        try:
            tenant = tenant_by_slug(slug=options["tenant"])
            added = member_add(
                tenant=tenant,
                username=options["username"],
                role=options["role"],
                password=password,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        username = added.membership.user.get_username()
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "tenant": tenant.slug,
                        "username": username,
                        "role": added.membership.role,
                        "created_user": added.created_user,
                        "password": added.password,
                    }
                )
            )
            return
        who = "new user" if added.created_user else "existing user"
        self.stdout.write(
            f"{username} ({who}) is now {added.membership.role} of {tenant.slug}."
        )
        if added.password:
            self.stdout.write(f"  Password: {added.password}  (shown once)")
