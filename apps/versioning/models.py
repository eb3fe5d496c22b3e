from __future__ import annotations

from django.db import models


class ApiUsage(models.Model):
    """Calls per tenant per API version per UTC day: who still uses v1."""

    tenant = models.ForeignKey(
        "accounts.Tenant", on_delete=models.CASCADE, related_name="api_usage"
    )
    version = models.CharField(max_length=8)
    day = models.DateField()
    calls = models.PositiveBigIntegerField(default=0)
    last_call_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "version", "day"], name="versioning_usage_unique"
            )
        ]
        indexes = [models.Index(fields=["version", "day"])]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.version} {self.day}: {self.calls}"
