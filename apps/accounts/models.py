from __future__ import annotations

import secrets
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone


def new_webhook_secret() -> str:
    return secrets.token_hex(32)


class Tenant(models.Model):
    class Plan(models.TextChoices):
        FREE = "free", "Free"
        PRO = "pro", "Pro"
        ENTERPRISE = "enterprise", "Enterprise"
        INTERNAL = "internal", "Internal"

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    plan = models.CharField(max_length=20, choices=Plan.choices, default=Plan.FREE)
    webhook_secret = models.CharField(max_length=64, default=new_webhook_secret)
    # After a rotation the old secret still signs (beside the new one) until
    # ``webhook_secret_previous_until``, so receivers can switch without a gap.
    webhook_secret_previous = models.CharField(max_length=64, blank=True)
    webhook_secret_previous_until = models.DateTimeField(null=True, blank=True)
    legal_hold = models.BooleanField(
        default=False, help_text="Audit events of a tenant on hold are never purged."
    )
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    def webhook_signing_secrets(self, now: datetime | None = None) -> list[str]:
        """The secrets webhooks are signed with: the current one, then the
        previous one while its grace period lasts."""
        now = now or timezone.now()
        secrets_ = [self.webhook_secret]
        until = self.webhook_secret_previous_until
        if self.webhook_secret_previous and until is not None and until > now:
            secrets_.append(self.webhook_secret_previous)
        return secrets_


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"
        VIEWER = "viewer", "Viewer"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "tenant"], name="uniq_membership_user_tenant"
            )
        ]
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant} ({self.role})"

    @property
    def scopes(self) -> frozenset[str]:
        return ROLE_SCOPES[self.role]


class Scope(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Write"
    ADMIN = "admin", "Admin"


ROLE_SCOPES: dict[str, frozenset[str]] = {
    Membership.Role.OWNER: frozenset({"read", "write", "admin"}),
    Membership.Role.ADMIN: frozenset({"read", "write", "admin"}),
    Membership.Role.MEMBER: frozenset({"read", "write"}),
    Membership.Role.VIEWER: frozenset({"read"}),
}


class ApiKey(models.Model):
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    # sha256 of the whole key. Keys carry 256 bits of randomness, so a fast hash is
    # the right tool here (a slow password hash would only cost every request).
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="api_keys",
    )
    created = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    rotated_to = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_active(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now

    def has_scope(self, scope: str) -> bool:
        # admin implies write implies read: a key made for managing the tenant can
        # also read what it manages.
        granted = set(self.scopes)
        if "admin" in granted:
            granted |= {"write", "read"}
        if "write" in granted:
            granted.add("read")
        return scope in granted
