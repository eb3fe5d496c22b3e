from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.fields.json import KT
from django.utils import timezone

from apps.cad import titleblock

# An analysis' part name as its title block gives it, read in a query
# (``Analysis.objects.values_list(..., PART_NAME)``); ``titleblock.part_name``
# reads it from a title block at hand.
PART_NAME = KT("title_block__part_name__value")


def drawing_upload_to(instance: Drawing, filename: str) -> str:
    # Content-addressed under the tenant: the same bytes never need two files.
    return f"drawings/{instance.tenant.slug}/{instance.sha256[:2]}/{instance.sha256}"


class Drawing(models.Model):
    class Format(models.TextChoices):
        DXF = "dxf", "DXF (ASCII)"
        DXF_BINARY = "dxf-binary", "DXF (binary)"
        STL = "stl", "STL (binary)"
        STL_ASCII = "stl-ascii", "STL (ASCII)"
        OBJ = "obj", "OBJ"
        PLY = "ply", "PLY"
        STEP = "step", "STEP (ISO 10303-21)"
        IGES = "iges", "IGES"

    tenant = models.ForeignKey(
        "accounts.Tenant", on_delete=models.CASCADE, related_name="drawings"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    format = models.CharField(max_length=16, choices=Format.choices)
    file = models.FileField(upload_to=drawing_upload_to, max_length=255)
    # The tenant's own class name for the drawing (apps.cad.labels normalises
    # it); blank means unlabelled.
    label = models.CharField(max_length=64, blank=True, default="")
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "sha256"], name="cad_drawing_unique_content"
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "name"]),
            models.Index(fields=["tenant", "label"], name="cad_drawing_tenant_label"),
        ]

    def __str__(self) -> str:
        return self.name

    def latest_analysis(self) -> Analysis | None:
        return self.analyses.order_by("-created", "-id").first()


class Analysis(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    drawing = models.ForeignKey(
        Drawing, on_delete=models.CASCADE, related_name="analyses"
    )
    # The file's name for an analysis of bytes never stored (the analyze
    # command, a search by example), where there is no drawing to give it: the
    # prediction reads the part family it names. Not a column.
    file_name: str | None = None
    # Denormalised from drawing so that similarity and listings filter cheaply.
    tenant = models.ForeignKey(
        "accounts.Tenant", on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    pipeline_version = models.CharField(max_length=16, blank=True)
    feature_version = models.CharField(max_length=16, blank=True, db_index=True)
    features = models.JSONField(null=True, blank=True)
    text = models.JSONField(default=list, blank=True)
    title_block = models.JSONField(default=dict, blank=True)
    # Copied out of title_block so listings can filter on it with an index.
    material = models.CharField(max_length=255, blank=True, db_index=True)
    dimensions = models.JSONField(default=dict, blank=True)
    stats = models.JSONField(default=dict, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    recovered = models.BooleanField(default=False)
    fixes = models.PositiveIntegerField(default=0)
    preview_svg = models.TextField(blank=True)
    # A preview that could not be drawn (over the entity budget, the time or
    # memory limit) is refused again from here, not drawn again per request.
    preview_error = models.TextField(blank=True)
    preview_error_code = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    # Filled by the model registry through services._predict().
    prediction = models.JSONField(null=True, blank=True)
    prediction_reason = models.CharField(max_length=255, blank=True)
    model_name = models.CharField(max_length=128, blank=True)
    model_version = models.CharField(max_length=64, blank=True)
    variant = models.CharField(max_length=64, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    # The tenant's drawings this one duplicates when it was analysed (same
    # sha256, or cosine over CADML_DUPLICATE_THRESHOLD): a list of
    # {"drawing_id", "score", "exact"}; null when never computed (older rows).
    duplicates = models.JSONField(null=True, blank=True)
    # When the analysis began, not when its row was written: a new analysis is
    # inserted once, with its outcome, after ``finished`` is known.
    created = models.DateTimeField(default=timezone.now, editable=False)
    finished = models.DateTimeField(null=True, blank=True)
    # A queued analysis (large upload, 202) handed to the workers: it counts
    # against its tenant's in-flight limit with the batch items (batch dispatch).
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name_plural = "analyses"
        indexes = [models.Index(fields=["tenant", "feature_version", "status"])]

    def __str__(self) -> str:
        return f"{self.drawing_id}: {self.status}"

    @property
    def part_name(self) -> str | None:
        """The part name the title block gives."""
        return titleblock.part_name(self.title_block)
