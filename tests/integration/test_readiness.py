"""/readyz against a real Redis that stops: it must say 503 and name Redis."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest
from django.test import Client, override_settings

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_readyz_reports_a_stopped_redis_as_503(redis_server_binary, tmp_path):
    port = _free_port()
    server = subprocess.Popen(
        [
            redis_server_binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    cache_settings = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1},
        }
    }
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        with override_settings(REDIS_URL=url, CACHES=cache_settings):
            up = Client().get("/readyz")
            assert up.status_code == 200, up.json()
            assert up.json()["checks"]["redis"]["ok"] is True
            server.terminate()
            server.wait(timeout=10)
            down = Client().get("/readyz")
            assert down.status_code == 503
            body = down.json()
            assert body["status"] == "unavailable"
            assert body["checks"]["redis"]["ok"] is False
            assert body["checks"]["database"]["ok"] is True
    finally:
        if server.poll() is None:
            server.kill()


def test_readyz_on_the_configured_services(postgres, redis_url):
    body = Client().get("/readyz").json()
    assert body["checks"]["database"]["detail"] == "postgresql"
    assert body["checks"]["redis"]["ok"] is True
