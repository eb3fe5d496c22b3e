"""Feature flags per API version, enforced in one place: the versioning middleware.

A view opts in with ``requires_feature = "async_analysis"``: in a version whose
registry entry lacks it, the endpoint answers 404 naming the versions that have
it. Query parameters that belong to a feature (``?fields=``) are refused with a
400 in versions without it, rather than silently ignored.
"""

from __future__ import annotations

from typing import Any

from apps.versioning import registry

FIELDS_SELECTION = "fields_selection"
EXPANDED_PREDICTIONS = "expanded_predictions"
ASYNC_ANALYSIS = "async_analysis"
CURSOR_PAGINATION = "cursor_pagination"
TITLE_BLOCK_EVIDENCE = "title_block_evidence"

# Query parameter -> the feature it needs.
PARAMETERS = {"fields": FIELDS_SELECTION}


def versions_with(feature: str) -> list[str]:
    return [n for n in registry.supported_names() if registry.get(n).has(feature)]  # type: ignore[union-attr]


def view_feature(view_func: Any) -> str | None:
    view_class = getattr(view_func, "cls", None) or getattr(
        view_func, "view_class", None
    )
    return getattr(view_class, "requires_feature", None)


def version_has(request: Any, feature: str) -> bool:
    """For views that vary within a version: does the caller's version have it?"""
    name = getattr(request, "version", None) or getattr(request, "api_version", None)
    version = registry.get(name) if name else None
    return bool(version and version.has(feature))
