"""Rotating the tenant's webhook secret: shown once, both secrets sign during the
grace period, and docs/webhooks.md's verifier accepts what we send."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from apps.accounts.models import Tenant
from apps.batch import runner, webhooks
from tests.batch.conftest import as_uploads, files, wait_for_job
from tests.batch.test_webhooks import receiver  # noqa: F401 - fixture
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.django_db(transaction=True)

ROTATE = "/api/v1/tenant/webhook-secret"


def _documented_verifier():  # type: ignore[no-untyped-def]
    """The Python block of docs/webhooks.md, as a customer would paste it."""
    text = (PROJECT_ROOT / "docs" / "webhooks.md").read_text()
    block = re.search(r"```python\n(.*?)```", text, re.S)
    assert block is not None
    namespace: dict = {}
    exec(block.group(1), namespace)  # noqa: S102 - our own documentation
    return namespace["verify_cadml_signature"]


def test_an_admin_rotates_the_secret_and_sees_it_once(
    admin_client_a, api_client_a, tenant_a, tenant_b
):
    old = tenant_a.webhook_secret
    other = tenant_b.webhook_secret
    response = admin_client_a.post(ROTATE)
    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    new = response.data["webhook_secret"]
    assert re.fullmatch(r"[0-9a-f]{64}", new) and new != old
    assert response.data["previous_valid_until"]
    tenant_a.refresh_from_db()
    assert tenant_a.webhook_signing_secrets() == [new, old]
    # Nowhere else to read it again.
    detail = admin_client_a.get("/api/v1/tenant")
    assert new not in detail.content.decode() and old not in detail.content.decode()
    # A key without the admin scope may not rotate it.
    assert api_client_a.post(ROTATE).status_code == 403
    assert Tenant.objects.get(pk=tenant_b.pk).webhook_secret == other


def test_the_grace_period_ends_and_a_zero_grace_drops_the_old_secret_at_once(
    admin_client_a, tenant_a, settings
):
    settings.CADML_WEBHOOK_SECRET_GRACE_S = 3600
    admin_client_a.post(ROTATE)
    tenant_a.refresh_from_db()
    until = tenant_a.webhook_secret_previous_until
    assert len(tenant_a.webhook_signing_secrets(now=until - timedelta(seconds=1))) == 2
    assert tenant_a.webhook_signing_secrets(now=until + timedelta(seconds=1)) == [
        tenant_a.webhook_secret
    ]
    settings.CADML_WEBHOOK_SECRET_GRACE_S = 0
    response = admin_client_a.post(ROTATE)
    assert response.data["previous_valid_until"] is None
    tenant_a.refresh_from_db()
    assert tenant_a.webhook_signing_secrets() == [response.data["webhook_secret"]]


def test_during_the_grace_period_webhooks_carry_both_signatures(
    api_client_a,
    admin_client_a,
    tenant_a,
    receiver,  # noqa: F811
):
    receiver.statuses = []
    old = tenant_a.webhook_secret
    new = admin_client_a.post(ROTATE).data["webhook_secret"]
    response = api_client_a.post(
        "/api/v1/jobs",
        {"files": as_uploads(files(1)), "callback_url": receiver.url},
        format="multipart",
    )
    assert response.status_code == 202, response.content
    wait_for_job(response.json()["id"])
    receiver.wait_calls(1)
    runner.wait_idle()
    headers, body = receiver.calls[0]
    header = headers["X-Cadml-Signature"]
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}", header), header
    verify = _documented_verifier()
    for check in (verify, webhooks.verify):
        assert check(new, body, header)
        assert check(old, body, header)
        assert not check("0" * 64, body, header)
        assert not check(new, body + b" ", header)
    stale = re.sub(r"t=\d+", "t=1000000000", header)
    assert not verify(new, body, stale)
