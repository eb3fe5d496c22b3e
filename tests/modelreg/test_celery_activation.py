"""With Celery configured, an activation's health check runs on a real worker."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.conf import settings

from apps.modelreg.models import ActivationEvent
from tests.conftest import require
from tests.servers import running_celery_worker, test_database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_the_health_check_runs_on_a_celery_worker(
    postgres, redis_url, admin_client_a, tenant_a, register, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    require(bool(settings.CELERY_BROKER_URL), "CELERY_BROKER_URL not set")
    settings.CADML_MODEL_HEALTHCHECK_MODE = "celery"
    register("my-model", tenant=tenant_a)
    env = {
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "MEDIA_ROOT": settings.MEDIA_ROOT,
        "CADML_MODEL_HEALTHCHECK_MODE": "celery",
    }
    with running_celery_worker(env, tmp_path / "worker.log", concurrency=1):
        r = admin_client_a.post(
            "/api/v1/models/my-model/activate", {"version": 1}, format="json"
        )
        assert r.status_code == 202 and r.data["status"] == "pending", r.data
        deadline = time.monotonic() + 60
        while ActivationEvent.objects.get(pk=r.data["id"]).status == "pending":
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            time.sleep(0.1)
    assert ActivationEvent.objects.get(pk=r.data["id"]).status == "succeeded"
    r = admin_client_a.post(
        "/api/v1/models/my-model/predict", {"features": [0.5] * 47}, format="json"
    )
    assert r.data["prediction"]["model_version"] == 1
