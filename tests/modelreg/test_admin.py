"""The Django admin: metrics, confusion matrix, history and actions."""

from __future__ import annotations

import pytest

from apps.modelreg.models import ModelVersion, RegisteredModel

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_browser(client, django_user_model):  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_superuser(
        "root", "r@example.com", "pw-root-123"
    )
    client.force_login(user)
    return client


def test_versions_show_metrics_and_the_confusion_matrix(
    admin_browser, register
) -> None:  # type: ignore[no-untyped-def]
    v = register(
        metrics={
            "accuracy": 1.0,
            "macro_f1": 1.0,
            "confusion_matrix": [[2, 0, 0], [0, 1, 1], [0, 0, 2]],
        }
    )
    page = admin_browser.get(
        f"/admin/modelreg/modelversion/{v.pk}/change/"
    ).content.decode()
    assert "predicted →" in page and "Macro-F1" in page and ">flange</text>" in page


def test_admin_actions_activate_and_roll_back(admin_browser, register) -> None:  # type: ignore[no-untyped-def]
    v1, v2 = register(seed=0), register(seed=1)
    for v in (v1, v2):
        r = admin_browser.post(
            "/admin/modelreg/modelversion/",
            {"action": "activate", "_selected_action": [v.pk]},
            follow=True,
        )
        assert r.status_code == 200
    model = RegisteredModel.objects.get()
    assert model.deployment.active_version_id == v2.pk
    r = admin_browser.post(
        "/admin/modelreg/registeredmodel/",
        {"action": "rollback", "_selected_action": [model.pk]},
        follow=True,
    )
    model.deployment.refresh_from_db()
    assert model.deployment.active_version_id == v1.pk
    page = admin_browser.get(
        f"/admin/modelreg/registeredmodel/{model.pk}/change/"
    ).content.decode()
    assert "activation history" in page.lower() and "Roll back" in page
    # A second rollback has no history: the admin says so instead of failing.
    r = admin_browser.post(
        "/admin/modelreg/registeredmodel/",
        {"action": "rollback", "_selected_action": [model.pk]},
        follow=True,
    )
    assert "no previous version" in r.content.decode()


def test_admin_archive_refuses_a_serving_version(admin_browser, register) -> None:  # type: ignore[no-untyped-def]
    v1 = register(seed=0)
    admin_browser.post(
        "/admin/modelreg/modelversion/",
        {"action": "activate", "_selected_action": [v1.pk]},
    )
    r = admin_browser.post(
        "/admin/modelreg/modelversion/",
        {"action": "archive", "_selected_action": [v1.pk]},
        follow=True,
    )
    assert "is serving" in r.content.decode()
    assert ModelVersion.objects.get().status == "ready"
