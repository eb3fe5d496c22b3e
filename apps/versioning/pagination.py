"""One paginator, shaped by version: v2 cursors, v1 DRF's limit/offset page.

v2 answers ``data`` as the list and ``meta.pagination = {"next", "previous",
"page_size"}`` (opaque cursor URLs); v1 answers DRF's ``{"count", "next",
"previous", "results"}``. Views keep calling ``paginate_queryset`` and
``get_paginated_response`` as usual.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from rest_framework.pagination import BasePagination, CursorPagination
from rest_framework.response import Response

from apps.versioning.features import CURSOR_PAGINATION, version_has
from cadml.lib.pagination import BoundedLimitOffsetPagination


class _Cursor(CursorPagination):
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_ordering(self, request: Any, queryset: Any, view: Any) -> tuple[str, ...]:
        ordering = getattr(view, "ordering", None)
        if ordering:
            return (ordering,) if isinstance(ordering, str) else tuple(ordering)
        # A stable, unique-ish order every model has: newest first when it can.
        try:
            queryset.model._meta.get_field("created")
            return ("-created", "-pk")
        except FieldDoesNotExist:
            return ("-pk",)

    def get_paginated_response(self, data: Any) -> Response:
        response = Response(data)
        response.pagination = {  # type: ignore[attr-defined]
            "next": self.get_next_link(),
            "previous": self.get_previous_link(),
            "page_size": self.page_size,
        }
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return schema  # the envelope is added by the schema hook


class VersionedPagination(BasePagination):
    page_size = 50

    def __init__(self) -> None:
        self._impl: BasePagination = BoundedLimitOffsetPagination()

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        if version_has(request, CURSOR_PAGINATION):
            self._impl = _Cursor()
        return self._impl.paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        return self._impl.get_paginated_response(data)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return self._impl.get_paginated_response_schema(schema)

    def to_html(self) -> str:
        return self._impl.to_html()

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        request = getattr(view, "request", None)
        if request is not None and version_has(request, CURSOR_PAGINATION):
            return _Cursor().get_schema_operation_parameters(view)
        return BoundedLimitOffsetPagination().get_schema_operation_parameters(view)
