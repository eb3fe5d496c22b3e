"""One URL, one APIView per HTTP method.

Django routes by path only; ``by_method`` sends each method of one path to its own
APIView (HackSoft: one view per operation). The dispatcher keeps its views in
``views`` so the OpenAPI generator (``apps.versioning.schema``) documents each
one as the operation it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt


def by_method(**views: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Route one URL to one APIView per operation, keyed by lower-case method.

    The first view answers methods nobody claims, so DRF still gives a 405 with
    its Allow header. DRF views handle CSRF for session auth themselves.
    """
    fallback = next(iter(views.values()))

    @csrf_exempt
    def dispatch(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        view = views.get((request.method or "").lower(), fallback)
        return view(request, *args, **kwargs)

    dispatch.views = dict(views)  # type: ignore[attr-defined]
    return dispatch
