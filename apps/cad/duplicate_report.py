"""The tenant's near-duplicate drawings as CSV (docs/search.md): used by
``manage.py duplicate_report`` and by the batch app's report job
(``apps.batch.duplicate_report``)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import IO

from apps.accounts.models import Tenant
from apps.cad import selectors

COLUMNS = ["drawing_id", "name", "duplicate_id", "duplicate_name", "score"]


def write_report(
    *, tenant: Tenant, out: IO[str], progress: Callable[[int], None] | None = None
) -> int:
    """Every near-duplicate pair of the tenant's drawings as CSV rows (lower id
    first); returns how many. ``progress`` is told how many drawings were
    looked at after each one."""
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    pairs = 0
    for p in selectors.tenant_duplicate_pairs(tenant=tenant, progress=progress):
        writer.writerow([p.first.pk, p.first.name, p.second.pk, p.second.name, p.score])
        pairs += 1
    return pairs
