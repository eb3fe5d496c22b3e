"""A skipped test says what is actually missing, so the fix is the right one."""

from __future__ import annotations

import socket

from tests.conftest import redis_missing


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unset_redis_url_is_reported_as_unset_not_unreachable() -> None:
    reason = redis_missing("")
    assert reason is not None
    assert "REDIS_URL is not set" in reason
    assert "not reachable" not in reason


def test_unreachable_redis_names_the_address_but_not_the_password() -> None:
    port = _closed_port()
    reason = redis_missing(f"redis://:s3cret@127.0.0.1:{port}/0")
    assert reason == f"Redis not reachable at 127.0.0.1:{port} (from REDIS_URL)"


def test_a_reachable_redis_is_not_missing() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert redis_missing(f"redis://127.0.0.1:{port}/0") is None
