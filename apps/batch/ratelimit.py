"""What submitting a job costs the rate limiter: one unit per item."""

from __future__ import annotations

import json

from django.http import HttpRequest


def submission_cost(request: HttpRequest) -> int:
    """Files or drawing ids in the submission, at least 1. A zip counts once here
    (its members are only known after the safe extraction in the view)."""
    if request.method != "POST":
        return 1
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return 1  # the view answers 400 with the reason
        drawings = body.get("drawings") if isinstance(body, dict) else None
        return max(1, len(drawings)) if isinstance(drawings, list) else 1
    if (request.content_type or "").startswith("multipart/"):
        return max(
            1, len(request.FILES.getlist("files") or request.FILES.getlist("file"))
        )
    return 1
