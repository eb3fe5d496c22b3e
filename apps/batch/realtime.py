"""The ``job:<id>`` channel resolver for the realtime app.

Registered in ``CADML_REALTIME_CHANNEL_RESOLVERS``: a job's channel is visible
to principals of the job's tenant (members and its API keys), nobody else.
"""

from __future__ import annotations

from typing import Any

from apps.batch.models import BatchJob


def job_channel_visible(principal: Any, ident: str) -> bool:
    if not ident.isdigit():
        return False
    return BatchJob.objects.filter(
        pk=int(ident), tenant_id__in=principal.tenant_ids
    ).exists()
