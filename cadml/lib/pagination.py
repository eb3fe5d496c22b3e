"""The limit/offset page the list views use."""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import LimitOffsetPagination

from cadml.lib import params

MAX_LIMIT = 500
# Past this the database would be asked for a LIMIT or OFFSET it cannot hold
# (bigint), and no list of ours is that long.
MAX_PAGE_PARAMETER = 2**31 - 1


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """DRF's limit/offset page with both parameters checked like any other: a
    400 naming the parameter when either is not a whole number in range (DRF
    alone ignores a malformed one and passes a huge one to the database). A
    ``limit`` past MAX_LIMIT is served as MAX_LIMIT, as DRF does."""

    max_limit = MAX_LIMIT

    def get_limit(self, request: Any) -> int | None:
        limit = params.integer(
            request.query_params.get(self.limit_query_param),
            field=self.limit_query_param,
            minimum=1,
            maximum=MAX_PAGE_PARAMETER,
            default=self.default_limit,
        )
        if limit is None or self.max_limit is None:
            return limit
        return min(limit, self.max_limit)

    def get_offset(self, request: Any) -> int:
        return params.integer(
            request.query_params.get(self.offset_query_param),
            field=self.offset_query_param,
            minimum=0,
            maximum=MAX_PAGE_PARAMETER,
            default=0,
        )
