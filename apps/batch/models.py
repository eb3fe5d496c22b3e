from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from cadml.lib.channels import job_channel


class BatchJob(models.Model):
    class Kind(models.TextChoices):
        ANALYZE = "analyze", "Analyze"
        EXTRACT_TEXT = "extract_text", "Extract text"
        # No items: the stages of apps.modelreg.learning count as its progress.
        TRAIN = "train", "Train a model"
        # No items either: the drawings looked at (apps.cad.duplicate_report).
        DUPLICATE_REPORT = "duplicate_report", "Duplicate report"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Partial"
        FAILED = "failed", "Failed"
        CANCELLING = "cancelling", "Cancelling"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE = (Status.QUEUED, Status.RUNNING, Status.CANCELLING)
    TERMINAL = (Status.SUCCEEDED, Status.PARTIAL, Status.FAILED, Status.CANCELLED)

    tenant = models.ForeignKey(
        "accounts.Tenant", on_delete=models.CASCADE, related_name="batch_jobs"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.ANALYZE)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.QUEUED
    )
    priority = models.PositiveSmallIntegerField(default=5)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    options = models.JSONField(default=dict, blank=True)
    callback_url = models.URLField(max_length=2000, blank=True, default="")
    # NULL, not "", when absent: the unique constraint must ignore jobs without one.
    idempotency_key = models.CharField(  # noqa: DJ001
        max_length=200, null=True, blank=True
    )
    # sha256 of the submission, to tell a retried request from a different one
    # that reuses the same Idempotency-Key.
    request_hash = models.CharField(max_length=64, blank=True, default="")
    created = models.DateTimeField(default=timezone.now)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    # Throttles batch.progress events across processes (one conditional UPDATE).
    last_progress_at = models.DateTimeField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "idempotency_key"],
                name="uniq_batchjob_tenant_idempotency_key",
            )
        ]
        indexes = [models.Index(fields=["tenant", "status", "created"])]

    def __str__(self) -> str:
        return f"job {self.pk} ({self.status})"

    @property
    def channel(self) -> str:
        return job_channel(self.pk)

    @property
    def processed(self) -> int:
        return self.done + self.failed + self.skipped

    @property
    def percent(self) -> float:
        if not self.total:
            return 100.0
        return round(100.0 * self.processed / self.total, 1)


# Items in flight: running, or handed to the broker and not yet started. The
# dispatch counts them against K; the partial index batchitem_in_flight holds
# exactly these rows, so both use this one predicate.
IN_FLIGHT = models.Q(status="running") | models.Q(
    status="pending", dispatched_at__isnull=False
)


class BatchItem(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    # No single-column indexes on job and tenant: the composite indexes below
    # start with them, and every index is one more write on each of the three
    # updates an item goes through.
    job = models.ForeignKey(
        BatchJob, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    # Tenant and priority are copies of the job's, so that the tenant's next
    # item to dispatch is the first entry of one index (``dispatch_order``).
    tenant = models.ForeignKey(
        "accounts.Tenant", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    priority = models.PositiveSmallIntegerField(default=5)
    index = models.PositiveIntegerField()
    name = models.CharField(max_length=500, blank=True, default="")
    drawing = models.ForeignKey(
        "cad.Drawing",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    error_code = models.CharField(max_length=100, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    analysis = models.ForeignKey(
        "cad.Analysis",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # partial: batchitem_analysis below
    )
    # Set when a task for the item is handed to the broker (or the in-process pool).
    dispatched_at = models.DateTimeField(null=True, blank=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True, default="")
    # The slice (Celery task id) that claimed the item or was handed it next:
    # a slice's redelivered message finds the item its dead worker had in hand.
    slice = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["job", "index"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "index"], name="uniq_batchitem_job_index"
            )
        ]
        # An item is updated three times (handed out, claimed, finished), and
        # a status change is never a HOT update: each one writes every index
        # whose predicate the new row matches. So the indexes the item path
        # does not need are partial: each holds only the rows its queries ask
        # for, and most updates write nothing to them.
        indexes = [
            # A job's items by status go through uniq_batchitem_job_index
            # (at most CADML_BATCH_MAX_ITEMS each).
            # Items in flight: running, or handed to the broker and not yet
            # started; at most K per tenant. The dispatch counts them, the
            # reaper looks for lost ones among them.
            models.Index(
                fields=["tenant", "status"],
                condition=IN_FLIGHT,
                name="batchitem_in_flight",
            ),
            # Deleting an analysis sets its items' link to NULL; only finished
            # items have one.
            models.Index(
                fields=["analysis"],
                condition=models.Q(analysis__isnull=False),
                name="batchitem_analysis",
            ),
            # Items waiting to be handed out, in dispatch order: highest
            # priority first, then jobs in submission order, then by index.
            models.Index(
                fields=["tenant", "-priority", "job", "index"],
                condition=models.Q(status="pending", dispatched_at__isnull=True),
                name="batchitem_dispatch_order",
            ),
        ]

    def __str__(self) -> str:
        return f"item {self.job_id}/{self.index} ({self.status})"


class WebhookDelivery(models.Model):
    job = models.ForeignKey(
        BatchJob, on_delete=models.CASCADE, related_name="deliveries"
    )
    attempt = models.PositiveSmallIntegerField()
    url = models.URLField(max_length=2000)
    event = models.CharField(max_length=50)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    error = models.TextField(blank=True, default="")
    duration_ms = models.FloatField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["job", "attempt"]

    def __str__(self) -> str:
        return f"delivery {self.job_id}#{self.attempt} ({self.status_code})"
