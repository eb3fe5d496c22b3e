from __future__ import annotations

from django.apps import AppConfig

from cadml.lib.history import ModelHistory


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Tenants and API keys"
    # Change history (django-auditlog, through the audit app where installed).
    model_history = (
        ModelHistory(
            model="Tenant",
            tenant_field="pk",
            exclude_fields=("webhook_secret", "webhook_secret_previous"),
        ),
        ModelHistory(model="Membership", tenant_field="tenant"),
        # last_used_at moves every minute of use; it is not a change anyone
        # reviews.
        ModelHistory(
            model="ApiKey",
            tenant_field="tenant",
            exclude_fields=("secret_hash", "last_used_at"),
        ),
    )
