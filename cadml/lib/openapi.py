"""Small helpers for documenting views with drf-spectacular."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

# cadml.lib.pagination.BoundedLimitOffsetPagination, as the list views use it.
LIMIT_OFFSET_PARAMETERS = [
    OpenApiParameter("limit", int, description="Page size (at most 500)."),
    OpenApiParameter("offset", int, description="Rows to skip."),
]


def limit_offset_page(name: str, item: Any) -> serializers.Serializer:
    """The body of a limit/offset page of ``item`` serializers."""
    return inline_serializer(
        name=name,
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )


def results_of(name: str, item: Any) -> serializers.Serializer:
    """``{"results": [item, ...]}`` (lists that are not paginated)."""
    return inline_serializer(name=name, fields={"results": item(many=True)})


def errors(**described: str) -> dict[int, OpenApiResponse]:
    """Error answers beyond the common ones, by status: ``errors(e409="...")``.

    The schema hook gives them the version's error body (problem+json in v2).
    """
    return {
        int(name.removeprefix("e")): OpenApiResponse(description=text)
        for name, text in described.items()
    }
