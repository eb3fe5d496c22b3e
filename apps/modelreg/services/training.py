"""Train a classifier (``train_classifier``, ``ensure_default_model``) and
optionally register and activate it. The training itself is
``apps.modelreg.training``; training from a tenant's labels is
``apps.modelreg.learning``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings

from apps.modelreg import training
from apps.modelreg.models import RegisteredModel
from apps.modelreg.services.deployments import deployment_request
from apps.modelreg.services.registry import version_register
from cadml.lib.errors import InvalidInput


def classifier_train(
    *,
    data_dir: str | None = None,
    synthetic_per_class: int | None = None,
    seed: int = 0,
    name: str = "part-classifier",
    tenant: Any = None,
    register: bool = False,
    activate: bool = False,
    actor: Any = None,
    workers: int = 2,
    estimators: list[str] | None = None,
    progress: Any = None,
    solids: bool = False,
    base: str = "none",
) -> dict[str, Any]:
    """Train on a labelled folder or synthetic drawings (generated 3D solids
    with ``solids``); optionally register (platform model when ``tenant`` is
    None) and activate. ``base`` "default": the labelled folder beside the
    default model's generated set, as ``POST /train`` trains on that base.
    Returns the held-out metrics, ``version`` (None unless registered) and the
    activation outcome."""
    if base not in training.BASES:
        raise InvalidInput(f"base must be one of {', '.join(training.BASES)}.")
    if base == "default" and data_dir is None:
        raise InvalidInput("--base default goes with --data DIR (the drawings taught).")
    data = _dataset(
        data_dir=data_dir,
        synthetic_per_class=synthetic_per_class,
        seed=seed,
        workers=workers,
        progress=progress,
        solids=solids,
        min_labels=1 if base == "default" else 2,
    )
    if base == "default":
        data = training.on_base(
            training.generated_base(workers=workers, progress=progress), data
        )
    result = training.train(
        data,
        seed=seed,
        threshold=float(settings.CADML_MODEL_CONFIDENCE_THRESHOLD),
        only=estimators,
        progress=progress,
        # The generated sets are balanced but for their deliberate share of
        # other domains; on the default base the taught drawings all count.
        labelled=bool(data_dir) and base == "none",
    )
    out: dict[str, Any] = {
        "name": name,
        "version": None,
        "feature_version": result.feature_version,
        "labels": result.labels,
        # The open-set parameters (thousands of numbers) travel with the
        # registered version, not in what the caller reads.
        **{k: v for k, v in result.metrics.items() if k != "open_set"},
        "training_summary": result.summary,
        "confusion_svg": training.confusion_svg(
            result.labels, result.metrics["confusion_matrix"]
        ),
    }
    if register or activate:
        out.update(
            _register(result, name=name, tenant=tenant, actor=actor, activate=activate)
        )
    return out


def _dataset(
    *,
    data_dir: str | None,
    synthetic_per_class: int | None,
    seed: int,
    workers: int,
    progress: Any,
    solids: bool = False,
    min_labels: int = 2,
) -> Any:
    if (data_dir is None) == (synthetic_per_class is None):
        raise InvalidInput("Give exactly one of a data directory or --synthetic N.")
    if data_dir is not None:
        return training.directory_dataset(
            root=Path(data_dir),
            workers=workers,
            progress=progress,
            min_labels=min_labels,
        )
    if synthetic_per_class is None or synthetic_per_class < 4:
        raise InvalidInput("--synthetic needs at least 4 drawings per class.")
    if solids:
        return training.synthetic_dataset(
            per_class=synthetic_per_class,
            seed=seed,
            workers=workers,
            progress=progress,
            solids=True,
        )
    # Kept on disk: a tenant's training on the default base reads it back.
    return training.generated_base(
        per_class=synthetic_per_class, seed=seed, workers=workers, progress=progress
    )


def _register(
    result: Any, *, name: str, tenant: Any, actor: Any, activate: bool
) -> dict[str, Any]:
    version = version_register(
        tenant=tenant,
        name=name,
        content=result.onnx,
        labels=result.labels,
        feature_version=result.feature_version,
        metrics=result.metrics,
        validation_sample=result.validation_sample,
        training_summary=result.summary,
        created_by=actor,
    )
    out: dict[str, Any] = {"version": version.number}
    if activate:
        event = deployment_request(
            model=version.model, number=version.number, actor=actor, run_now=True
        )
        out["activation"] = {"status": event.status, "detail": event.detail}
    return out


def default_model_ensure(
    *,
    per_class: int | None = None,
    seed: int = 0,
    progress: Any = None,
    solids: bool = False,
) -> dict[str, Any]:
    """Train and activate the platform's default classifier unless one serves:
    ``CADML_MODEL_NAME`` on generated drawings, or with ``solids``
    ``CADML_MODEL_NAME_3D`` on generated STEP/IGES solids of the same families
    (the model STEP and IGES analyses reach)."""
    name = settings.CADML_MODEL_NAME_3D if solids else settings.CADML_MODEL_NAME
    existing = RegisteredModel.objects.filter(
        tenant__isnull=True, name=name, deployment__active_version__isnull=False
    ).first()
    if existing is not None:
        active = existing.deployment.active_version
        assert active is not None  # the filter above asked for one
        return {"created": False, "name": name, "version": active.number}
    if per_class is None:
        per_class = (
            training.DEFAULT_PER_CLASS_3D if solids else training.DEFAULT_PER_CLASS
        )
    out = classifier_train(
        synthetic_per_class=per_class,
        seed=seed,
        name=name,
        activate=True,
        progress=progress,
        solids=solids,
    )
    return {"created": True, **out}
