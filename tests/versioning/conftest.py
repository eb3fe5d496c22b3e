from __future__ import annotations

import pytest
from django.core.cache import cache

from apps.versioning import notices, usage


@pytest.fixture(autouse=True)
def _fresh_versioning_state():  # type: ignore[no-untyped-def]
    """Per-process memories (today's notices, the unflushed tally) start empty."""
    notices._noticed.clear()
    with usage._lock:  # earlier tests' tenants are gone: drop, don't write
        usage._pending.clear()
        usage._last_seen.clear()
    yield
    notices._noticed.clear()


@pytest.fixture
def deprecated_v1(settings):  # type: ignore[no-untyped-def]
    """v1 deprecated since 2026-01-01, sunset on 2099-07-01."""
    versions = {k: dict(v) for k, v in settings.CADML_API_VERSIONS.items()}
    versions["v1"].update(
        status="supported",
        deprecated_at="2026-01-01T00:00:00Z",
        sunset_at="2099-07-01T00:00:00Z",
    )
    settings.CADML_API_VERSIONS = versions
    cache.clear()
    return versions
