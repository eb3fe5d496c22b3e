"""System checks for the CAD core's settings (read when used, checked here)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register
from django.utils.module_loading import import_string

from apps.cad.formats.brep import BREP_VERSIONS

# Below this the worker cannot even import numpy and ezdxf under RLIMIT_AS.
MIN_MEMORY_MB = 400


@register()
def check_cad_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    positive = (
        "CADML_PARSE_TIMEOUT_S",
        "CADML_MAX_UPLOAD_MB",
        "CADML_SYNC_ANALYZE_MAX_MB",
        "CADML_PARSE_WORKERS",
    )
    for i, name in enumerate(positive, start=1):
        value = getattr(settings, name)
        if value is not None and not (isinstance(value, int | float) and value > 0):
            errors.append(
                Error(
                    f"{name} must be a positive number, not {value!r}.",
                    id=f"cad.E00{i}",
                )
            )
    memory = settings.CADML_PARSE_MEMORY_MB
    if not isinstance(memory, int) or memory < MIN_MEMORY_MB:
        errors.append(
            Error(
                f"CADML_PARSE_MEMORY_MB is {memory!r}; the isolation workers need at "
                f"least {MIN_MEMORY_MB} MB of address space to start.",
                id="cad.E005",
            )
        )
    predictor = settings.CADML_PREDICTOR
    if predictor:
        try:
            import_string(predictor)
        except ImportError as exc:
            errors.append(
                Error(
                    f"CADML_PREDICTOR {predictor!r} cannot be imported: {exc}",
                    id="cad.E006",
                )
            )
    body = settings.CADML_MAX_REQUEST_BODY_MB
    upload = settings.CADML_MAX_UPLOAD_MB
    if isinstance(body, int) and isinstance(upload, int) and body < upload:
        errors.append(
            Error(
                f"CADML_MAX_REQUEST_BODY_MB ({body}) is below CADML_MAX_UPLOAD_MB "
                f"({upload}): uploads the limit allows would be refused as bodies.",
                id="cad.E007",
            )
        )
    slots = settings.CADML_ANALYSIS_TENANT_SLOTS
    if (
        not isinstance(slots, dict)
        or not all(isinstance(v, int) and v >= 1 for v in slots.values())
        or "free" not in slots
    ):
        errors.append(
            Error(
                "CADML_ANALYSIS_TENANT_SLOTS must map plans (at least 'free') to "
                f"whole numbers >= 1, not {slots!r}.",
                id="cad.E008",
            )
        )
    metric = settings.CADML_SIMILARITY_METRIC
    if metric:
        try:
            import_string(metric)
        except ImportError as exc:
            errors.append(
                Error(
                    f"CADML_SIMILARITY_METRIC {metric!r} cannot be imported: {exc}",
                    id="cad.E009",
                )
            )
    brep = settings.CADML_BREP_FEATURE_VERSION
    if brep not in BREP_VERSIONS:
        errors.append(
            Error(
                f"CADML_BREP_FEATURE_VERSION is {brep!r}; known: "
                f"{', '.join(BREP_VERSIONS)}.",
                id="cad.E010",
            )
        )
    return errors
