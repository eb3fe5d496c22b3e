"""Two activations racing on PostgreSQL: exactly one wins, the other is 409."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from apps.modelreg.models import ActivationEvent
from apps.modelreg.services.deployments import deployment_request
from cadml.lib.errors import Conflict

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_concurrent_activations_exactly_one_wins(postgres, register, settings) -> None:  # type: ignore[no-untyped-def]
    settings.CADML_MODEL_HEALTHCHECK_MODE = "thread"
    model = register(seed=0).model
    register(seed=1)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def activate(number: int) -> None:
        barrier.wait()
        try:
            deployment_request(model=model, number=number)
            outcomes.append("accepted")
        except Conflict as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=activate, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["accepted", "activation_in_progress"]
    deadline = time.monotonic() + 30
    while ActivationEvent.objects.filter(status="pending").exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert ActivationEvent.objects.get().status == "succeeded"
    model.deployment.refresh_from_db()
    assert model.deployment.active_version is not None
