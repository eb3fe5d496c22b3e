"""The limit/offset page the list views use."""

from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination

MAX_LIMIT = 500


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """DRF's limit/offset page with a ceiling on ``limit``: a larger one is
    served as MAX_LIMIT rather than sent to the database (where a limit past
    64 bits is an error, and a merely huge one a slow query)."""

    max_limit = MAX_LIMIT
