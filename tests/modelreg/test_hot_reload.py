"""Two real daphne processes on PostgreSQL and Redis: an activation or rollback
through one of them reaches both without a restart."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import key_client
from tests.modelreg.conftest import sklearn_onnx
from tests.servers import running_daphne, test_database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _wait(predicate, what: str, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_activation_and_rollback_reach_every_process(
    postgres, redis_url, tenant_a, owner_a, settings, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from apps.modelreg.services.registry import version_register

    settings.MEDIA_ROOT = str(tmp_path / "media")
    for seed in (0, 1):
        content, sample = sklearn_onnx(seed=seed)
        version_register(
            tenant=tenant_a,
            name="my-model",
            content=content,
            labels=["bracket", "flange", "gear"],
            feature_version="dxf-1",
            metrics={"accuracy": 1.0},
            validation_sample=sample,
        )
    key = key_client(tenant_a, owner_a, ["admin"]).plaintext  # type: ignore[attr-defined]
    headers = {"Authorization": f"Api-Key {key}"}
    base = redis_url.rsplit("/", 1)[0]
    env = {
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": f"{base}/5",
        "MEDIA_ROOT": settings.MEDIA_ROOT,
        "CADML_MODEL_HEALTHCHECK_MODE": "thread",
        "CADML_RATELIMIT_ENABLED": "0",
        "CELERY_BROKER_URL": "",
    }
    with (
        running_daphne(env) as a,
        running_daphne(env) as b,
        httpx.Client(headers=headers, timeout=10) as http,
    ):

        def served(server) -> int | None:  # type: ignore[no-untyped-def]
            r = http.post(
                f"{server.url}/api/v1/models/my-model/predict",
                json={"features": [0.5] * 47},
            )
            assert r.status_code == 200, r.text
            p = r.json()["prediction"]
            return p and p["model_version"]

        # Warm both: each has loaded its (empty) registry and its listener runs.
        assert served(a) is None and served(b) is None
        r = http.post(f"{a.url}/api/v1/models/my-model/activate", json={"version": 1})
        assert r.status_code == 202 and r.json()["status"] == "pending", r.text
        _wait(lambda: served(a) == 1 and served(b) == 1, "v1 on both processes")

        r = http.post(f"{b.url}/api/v1/models/my-model/activate", json={"version": 2})
        assert r.status_code == 202, r.text
        _wait(lambda: served(a) == 2 and served(b) == 2, "v2 on both processes")
        events = http.get(f"{a.url}/api/v1/models/my-model").json()["activations"]
        assert [(e["kind"], e["status"]) for e in events[:2]] == [
            ("activate", "succeeded"),
            ("activate", "succeeded"),
        ]

        r = http.post(f"{a.url}/api/v1/models/my-model/rollback")
        assert r.status_code == 200, r.text
        _wait(lambda: served(a) == 1 and served(b) == 1, "rollback on both processes")
