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


def test_versions_show_the_families_mixed_up_and_labels_on_one_drawing(
    admin_browser, register
) -> None:  # type: ignore[no-untyped-def]
    v = register()
    ModelVersion.objects.filter(pk=v.pk).update(
        evaluation={
            "most_confused": [{"label": "nut", "answered": "bolt", "drawings": 3}],
            "deduplication": {
                "conflicting_labels": [
                    {
                        "labels": ["<b>valve</b>", "flange"],
                        "drawings": 2,
                        "examples": [7, 9],
                    }
                ]
            },
        }
    )
    page = admin_browser.get(
        f"/admin/modelreg/modelversion/{v.pk}/change/"
    ).content.decode()
    assert "nut → bolt: 3 held-out drawings" in page
    # A label is the tenant's text: shown, never markup.
    assert (
        "&lt;b&gt;valve&lt;/b&gt; + flange → one drawing: 2 drawings, ids [7, 9]"
        in page
    )
    assert "<b>valve</b>" not in page


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


def test_a_trained_versions_page_shows_both_pictures_and_the_guardrails(
    admin_browser, register
) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from apps.modelreg import evaluation

    v = register(metrics={"confusion_matrix": [[2, 0, 0], [0, 1, 1], [0, 0, 2]]})
    probs = np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.3, 0.3, 0.4]])
    bins = evaluation.reliability(probs, np.array([0, 1, 0]))
    v.evaluation = {
        "cross_validation": {"folds": 3, "macro_f1_mean": 0.91, "macro_f1_std": 0.02},
        "svg": {
            "confusion": "<svg>confusion</svg>",
            "calibration": evaluation.calibration_svg(bins, ece=0.12),
        },
    }
    v.save()
    page = admin_browser.get(
        f"/admin/modelreg/modelversion/{v.pk}/change/"
    ).content.decode()
    assert "reliability (ECE 0.120)" in page
    assert "0.91 ± 0.02 (3 folds)" in page
    assert "predicted →" in page
    model_page = admin_browser.get(
        f"/admin/modelreg/registeredmodel/{v.model_id}/change/"
    ).content.decode()
    assert "guardrail_min_accuracy" in model_page
