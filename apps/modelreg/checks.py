from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

from apps.cad.features import DXF_VERSIONS


@register()
def modelreg_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors = []
    mode = settings.CADML_MODEL_HEALTHCHECK_MODE
    if mode not in (None, "", "inline", "thread", "celery"):
        errors.append(
            Error(
                "CADML_MODEL_HEALTHCHECK_MODE must be inline, thread or celery.",
                id="modelreg.E001",
            )
        )
    if mode == "celery" and not settings.CELERY_BROKER_URL:
        errors.append(
            Error(
                "CADML_MODEL_HEALTHCHECK_MODE=celery needs CELERY_BROKER_URL.",
                id="modelreg.E002",
            )
        )
    for name in ("CADML_MODEL_LATENCY_BUDGET_MS", "CADML_MODEL_CONFIDENCE_THRESHOLD"):
        value = getattr(settings, name)
        if not isinstance(value, int | float) or value <= 0:
            errors.append(
                Error(f"{name} must be a positive number.", id="modelreg.E003")
            )
    share = settings.CADML_MODEL_NOT_A_PART_SHARE
    if not isinstance(share, int | float) or not 0 < share <= 1:
        errors.append(
            Error(
                "CADML_MODEL_NOT_A_PART_SHARE must be a share above 0 and at most 1.",
                id="modelreg.E006",
            )
        )
    for name in (
        "CADML_TRAIN_RANDOM_FOREST_TREES",
        "CADML_TRAIN_EXTRA_TREES_TREES",
        "CADML_TRAIN_SELECTION_FOLDS",
    ):
        value = getattr(settings, name)
        if not isinstance(value, int) or value < 1:
            errors.append(
                Error(
                    f"{name} must be a whole number of at least 1.", id="modelreg.E004"
                )
            )
    synthetic = settings.CADML_SYNTHETIC_FEATURE_VERSION
    if synthetic not in DXF_VERSIONS:
        errors.append(
            Error(
                f"CADML_SYNTHETIC_FEATURE_VERSION is {synthetic!r}; known: "
                f"{', '.join(DXF_VERSIONS)}.",
                id="modelreg.E005",
            )
        )
    return errors
