"""The audit trail: append-only events, and the signed digests that seal them.

Events outlive what they describe (a deleted tenant, user or key must not take its
history with it), so their references carry no database constraint and are never
cascaded. Rows are written once; the model refuses updates and deletes, and on
PostgreSQL a trigger refuses them too, except inside the retention purge.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils import timezone


class Action(models.TextChoices):
    """The fixed catalogue. Add an action here before anything emits it."""

    API_CALL = "api.call"
    AUTH_LOGIN = "auth.login"
    AUTH_LOGIN_FAILED = "auth.login_failed"
    AUTH_LOGOUT = "auth.logout"
    APIKEY_CREATED = "apikey.created"
    APIKEY_REVOKED = "apikey.revoked"
    APIKEY_REJECTED = "apikey.rejected"
    AUTHZ_DENIED = "authz.denied"
    RATELIMIT_BLOCKED = "ratelimit.blocked"
    MODEL_REGISTERED = "model.registered"
    MODEL_ACTIVATED = "model.activated"
    MODEL_ROLLED_BACK = "model.rolled_back"
    MODEL_AUTO_ROLLED_BACK = "model.auto_rolled_back"
    MODEL_HEALTH_FAILED = "model.health_failed"
    MODEL_TRAINED = "model.trained"
    MODEL_FEEDBACK = "model.feedback"
    DRAWING_LABELLED = "drawing.labelled"
    BATCH_SUBMITTED = "batch.submitted"
    BATCH_COMPLETED = "batch.completed"
    BATCH_CANCELLED = "batch.cancelled"
    WEBHOOK_DELIVERED = "webhook.delivered"
    WEBHOOK_FAILED = "webhook.failed"
    DATA_EXPORTED = "data.exported"
    AUDIT_EXPORTED = "audit.exported"
    AUDIT_PURGED = "audit.purged"
    AUDIT_KEYS_ROTATED = "audit.keys_rotated"
    AUDIT_SHREDDED = "audit.shredded"
    SECURITY_ALERT = "security.alert"


ACTIONS = frozenset(Action.values)
CATEGORIES = frozenset(a.split(".", 1)[0] for a in ACTIONS)


class Outcome(models.TextChoices):
    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


class ActorType(models.TextChoices):
    USER = "user"
    API_KEY = "api_key"
    SYSTEM = "system"
    ANONYMOUS = "anonymous"


class AppendOnlyError(Exception):
    """Raised when code tries to change or remove an audit record."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(f"{self.model.__name__} rows cannot be updated")

    def delete(self) -> NoReturn:
        raise AppendOnlyError(
            f"{self.model.__name__} rows cannot be deleted (the retention purge "
            "is the only way out)"
        )


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(f"{type(self).__name__} rows cannot be deleted")


class AuditEvent(AppendOnlyModel):
    seq = models.BigAutoField(primary_key=True)
    ts = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=40, choices=Action.choices)
    outcome = models.CharField(
        max_length=10, choices=Outcome.choices, default=Outcome.SUCCESS
    )
    tenant = models.ForeignKey(
        "accounts.Tenant",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_type = models.CharField(
        max_length=10, choices=ActorType.choices, default=ActorType.ANONYMOUS
    )
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    # Who, as text that survives the user's deletion: a username, "key:<prefix>"
    # or "system:<component>".
    actor_label = models.CharField(max_length=160, blank=True, default="")
    actor_key_prefix = models.CharField(max_length=16, blank=True, default="")
    ip = models.CharField(max_length=45, blank=True, default="")
    user_agent = models.CharField(max_length=256, blank=True, default="")
    request_id = models.CharField(max_length=128, blank=True, default="")
    trace_id = models.CharField(max_length=32, blank=True, default="")
    resource_type = models.CharField(max_length=50, blank=True, default="")
    resource_id = models.CharField(max_length=64, blank=True, default="")
    details = models.JSONField(default=dict, blank=True)
    # Encrypted events: the personal fields above are blank and live in
    # ``personal`` (base64 AES-GCM under the data key ``personal_key``); the
    # blind indexes let ip and actor be searched without decrypting.
    personal_key = models.CharField(
        max_length=32, blank=True, default="", db_default=""
    )
    personal = models.TextField(blank=True, default="", db_default="")
    ip_index = models.CharField(max_length=32, blank=True, default="", db_default="")
    actor_index = models.CharField(max_length=32, blank=True, default="", db_default="")

    class Meta:
        ordering = ["-seq"]
        indexes = [
            models.Index(fields=["tenant", "seq"], name="audit_event_tenant_seq"),
            models.Index(fields=["action", "seq"], name="audit_event_action_seq"),
            models.Index(fields=["ts"], name="audit_event_ts"),
            models.Index(fields=["request_id"], name="audit_event_request_id"),
            models.Index(
                fields=["ip_index"],
                name="audit_event_ip_index",
                condition=~models.Q(ip_index=""),
            ),
            models.Index(
                fields=["actor_index"],
                name="audit_event_actor_index",
                condition=~models.Q(actor_index=""),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.outcome} by {self.actor_label or '-'}"


class AuditDigest(AppendOnlyModel):
    """A signed seal over the events with ``after_seq < seq <= last_seq``.

    ``entries`` holds, for every sealed event, its seq (8 bytes, big-endian) and
    the SHA-256 of its canonical JSON (32 bytes), so a verifier can say exactly
    which event was modified, deleted or inserted. ``chain_hash`` folds those
    hashes onto the previous digest's ``chain_hash``; the HMAC ``signature`` covers
    every other field.
    """

    created = models.DateTimeField(default=timezone.now)
    after_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField()
    event_count = models.IntegerField()
    first_ts = models.DateTimeField(null=True, blank=True)
    last_ts = models.DateTimeField(null=True, blank=True)
    prev_chain_hash = models.CharField(max_length=64)
    chain_hash = models.CharField(max_length=64)
    entries = models.BinaryField()
    entries_sha256 = models.CharField(max_length=64)
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=64)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"digest {self.pk}: events {self.after_seq + 1}..{self.last_seq}"


class AuditPurge(AppendOnlyModel):
    """What one retention purge removed: runs of seqs, so ``audit_verify`` can tell
    a purged event from a deleted one. Its ``audit.purged`` event carries the
    SHA-256 of ``runs`` and is sealed, so widening the runs afterwards shows."""

    created = models.DateTimeField(default=timezone.now)
    runs = models.JSONField(default=list)
    purged_count = models.IntegerField(default=0)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"purge {self.pk}: {self.purged_count} events"


class AuditDataKey(models.Model):
    """A tenant's data key and blind-index key (``tenant`` null: the platform's,
    for events without a tenant), wrapped by the KEK ``kek_id``.

    The active key of a tenant has no ``retired``; rotation retires it and new
    events get a new one (same index key, so search spans both). Shredding
    empties the wrapped keys for good: the tenant's ciphertexts stay in the chain
    and can no longer be read by anyone.
    """

    key_id = models.CharField(max_length=32, unique=True)
    tenant = models.ForeignKey(
        "accounts.Tenant",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    wrapped_key = models.BinaryField(default=b"")
    wrapped_index_key = models.BinaryField(default=b"")
    kek_id = models.CharField(max_length=16, blank=True, default="")
    created = models.DateTimeField(default=timezone.now)
    retired = models.DateTimeField(null=True, blank=True)
    shredded = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"],
                condition=models.Q(retired__isnull=True, shredded__isnull=True),
                name="audit_datakey_one_active_per_tenant",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        state = "shredded" if self.shredded else "retired" if self.retired else "active"
        return f"audit key {self.key_id} ({state})"
