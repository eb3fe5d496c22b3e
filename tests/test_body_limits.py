"""The body-size rule where Django sees the request first (test client, WSGI):
a declared length over the limit is a 413 problem before any parser runs."""

from __future__ import annotations

import pytest
from django.test import override_settings


@pytest.mark.django_db
@override_settings(CADML_MAX_REQUEST_BODY_MB=1)
@pytest.mark.parametrize("path", ["/api/v1/drawings", "/api/v1/jobs"])
def test_a_declared_length_over_the_limit_is_refused(path, api_client_a) -> None:  # type: ignore[no-untyped-def]
    response = api_client_a.generic(
        "POST",
        path,
        b"x" * 10,
        content_type="application/octet-stream",
        CONTENT_LENGTH=str(5 * 1024 * 1024),
    )
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "payload_too_large"
    assert "5.0 MB" in problem["detail"] and "limited to 1 MB" in problem["detail"]
