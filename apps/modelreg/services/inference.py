"""One prediction, on the hot path of every analysis:
route -> infer -> shadow -> record -> guardrail.

Reads only the in-memory runtime snapshot (no database query) unless the
guardrail trips."""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

import numpy as np
from django.conf import settings

from apps.cad.features import downgrade
from apps.cad.part_names import Named
from apps.modelreg import stats
from apps.modelreg.models import ActivationEvent, Deployment, RegisteredModel
from apps.modelreg.openset import (
    part_order,
    reads_named,
    set_aside,
    weighed,
    with_name,
)
from apps.modelreg.runtime import DeploymentView, LoadedVersion, runtime
from apps.modelreg.services.deployments import deployment_rollback, deployment_stop
from cadml import metrics, telemetry
from cadml.lib.errors import Conflict

logger = logging.getLogger(__name__)


class _NoAnswer(Exception):
    """No prediction for ``reason``; ``predict`` answers it instead of raising."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def predict(
    *,
    features: list[float],
    feature_version: str,
    tenant_id: int | None,
    user_id: int | None = None,
    request_key: str | None = None,
    model_name: str | None = None,
    named: Named | None = None,
    words: tuple[str, ...] = (),
    in_title: frozenset[str] = frozenset(),
    parts: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Classify one feature vector with what serves for this tenant;
    ``named``: the family the drawing's name or title gives, evidence beside
    the model's (``openset.with_name``); ``words``: the words of its file
    name and title, for a model that learned its labels' (``name_words``),
    ``in_title`` those of them only its title has; ``parts``: a STEP
    or IGES file's ``stats.solid.parts``, each answered too when there are several
    (``prediction.parts``, ``_answer_parts``).

    Returns ``{"prediction": {...}, "model_name", "model_version", "variant",
    "confidence"}`` or ``{"prediction": None, "reason": ...}``; never raises for
    a model failure (the analysis must still succeed).
    """
    with telemetry.span("model.predict", feature_version=feature_version):
        try:
            out = _predict(
                features=features,
                feature_version=feature_version,
                tenant_id=tenant_id,
                user_id=user_id,
                request_key=request_key,
                model_name=model_name,
                named=named,
                words=words,
                in_title=in_title,
                parts=parts or [],
            )
        except _NoAnswer as exc:
            out = {"prediction": None, "reason": exc.reason}
        telemetry.set_attributes(
            **{
                "model.name": out.get("model_name"),
                "model.version": out.get("model_version"),
            },
            variant=out.get("variant"),
        )
        return out


def _predict(
    *,
    features: list[float],
    feature_version: str,
    tenant_id: int | None,
    user_id: int | None,
    request_key: str | None,
    model_name: str | None,
    named: Named | None,
    words: tuple[str, ...],
    in_title: frozenset[str],
    parts: list[dict[str, Any]],
) -> dict[str, Any]:
    view, version, features = _route_model(
        runtime.snapshot(),
        tenant_id=tenant_id,
        feature_version=feature_version,
        features=features,
        name=model_name,
    )
    loaded, variant = _route_variant(
        view, tenant_id=tenant_id, user_id=user_id, request_key=request_key
    )
    loaded, variant, probs, latency = _infer_or_fall_back(
        view, loaded, variant, features
    )
    named, told, probs, outside = _weighed(view, loaded, probs, named, words, in_title)
    order = part_order(probs, loaded.labels)
    label = loaded.labels[int(order[0])]
    agreed = _shadow(
        view,
        features,
        label=label,
        request_key=request_key,
        family=named.family if named else None,
        words=words,
    )
    _record(
        view,
        loaded,
        variant,
        ok=True,
        latency=latency,
        confidence=float(probs[order[0]]),
        agreed=agreed,
    )
    out = _answer(view, loaded, variant, features, probs, order, latency, outside)
    # What the name said, when it counted: the person reading the answer sees
    # why a drawing the picture alone left unsure is now sure.
    out["prediction"]["named"] = named.as_json() if named else told
    if len(parts) > 1:
        # A file of several parts (an assembly, a bearing's rings and balls):
        # each part is answered too, by the version that answered the file.
        out["prediction"]["parts"] = _answer_parts(
            view, loaded, parts, source=feature_version, target=version
        )
    return out


# --- route ------------------------------------------------------------------


def _route_model(
    snap: Any,
    *,
    tenant_id: int | None,
    feature_version: str,
    features: list[float],
    name: str | None,
) -> tuple[DeploymentView, str, list[float]]:
    """The model that serves this vector (``Snapshot.serving``), the feature
    version it reads vectors as, and the vector as it reads it."""
    routed = snap.serving(
        tenant_id=tenant_id, feature_version=feature_version, name=name
    )
    if routed is None:
        raise _NoAnswer(f"no active model for {feature_version} features")
    view, version = routed
    active = view.active
    readable = downgrade(features, source=feature_version, target=version)
    # serving() picks active models, at versions these vectors read as.
    assert active is not None and readable is not None
    if len(readable) != active.width:
        raise _NoAnswer(
            f"the vector has {len(readable)} features, the model takes {active.width}"
        )
    return view, version, readable


def _bucket(salt: str, key: str) -> int:
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def _route_variant(
    view: DeploymentView,
    *,
    tenant_id: int | None,
    user_id: int | None,
    request_key: str | None,
) -> tuple[LoadedVersion, str]:
    """An A/B test sends its share of the sticky keys (tenant, user or request,
    as the deployment says) to the candidate."""
    active = view.active
    assert active is not None  # _route_model routes only to an active version
    if view.mode != Deployment.Mode.AB or view.candidate is None:
        return active, "primary"
    sticky = {"tenant": tenant_id, "user": user_id, "request": request_key}.get(
        view.sticky_by
    )
    if (
        _bucket(view.salt, str(sticky if sticky is not None else request_key))
        < view.candidate_percent
    ):
        return view.candidate, "candidate"
    return active, "primary"


# --- infer ------------------------------------------------------------------


def _infer(loaded: LoadedVersion, vector: list[float]) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    probs = loaded.predict_proba(vector)
    latency = (time.perf_counter() - t0) * 1000
    if probs.shape != (len(loaded.labels),) or not np.isfinite(probs).all():
        raise ValueError("the model returned NaN or malformed probabilities")
    return probs, latency


def _infer_or_fall_back(
    view: DeploymentView, loaded: LoadedVersion, variant: str, features: list[float]
) -> tuple[LoadedVersion, str, np.ndarray, float]:
    """Infer with the routed version; a failing candidate is recorded and the
    active version answers instead."""
    try:
        return (loaded, variant, *_infer(loaded, features))
    except Exception as exc:  # noqa: BLE001 - a model failure is an answer
        _record(view, loaded, variant, ok=False, latency=0.0, confidence=None)
        if variant != "candidate":
            raise _NoAnswer(f"inference failed: {exc}") from None
    active = view.active
    assert active is not None  # _route_model routes only to an active version
    try:
        return (active, "primary", *_infer(active, features))
    except Exception as exc:  # noqa: BLE001
        _record(view, active, "primary", ok=False, latency=0.0, confidence=None)
        raise _NoAnswer(f"inference failed: {exc}") from None


# --- shadow -----------------------------------------------------------------


def _shadow(
    view: DeploymentView,
    features: list[float],
    *,
    label: str,
    request_key: str | None,
    family: str | None = None,
    words: tuple[str, ...] = (),
) -> bool | None:
    """In shadow mode, the candidate also predicts a sample of the vectors; its
    outcome is recorded and never changes the answer. Returns whether it agreed
    with ``label`` (None when it did not run or failed)."""
    if view.mode != Deployment.Mode.SHADOW or view.candidate is None:
        return None
    rate = float(settings.CADML_MODEL_SHADOW_SAMPLE)
    if _bucket(view.salt, f"shadow:{request_key or time.monotonic_ns()}") >= rate * 100:
        return None
    shadow = view.candidate
    try:
        sprobs, slat = _infer(shadow, features)
    except Exception:  # noqa: BLE001 - shadow never changes the answer
        _record(view, shadow, "candidate", ok=False, latency=0.0, confidence=None)
        return None
    # Compared as answered: the most likely part, never ``not_a_part``, with
    # the drawing's name as evidence.
    sprobs = with_name(sprobs, shadow.labels, family)
    if shadow.open_set is not None and shadow.open_set.names is not None:
        sprobs = shadow.open_set.answered(sprobs, words)
    agreed = shadow.labels[int(part_order(sprobs, shadow.labels)[0])] == label
    _record(
        view,
        shadow,
        "candidate",
        ok=True,
        latency=slat,
        confidence=float(np.max(sprobs)),
        agreed=agreed,
    )
    return agreed


# --- record and guardrail ---------------------------------------------------


def _record(
    view: DeploymentView,
    loaded: LoadedVersion,
    variant: str,
    *,
    ok: bool,
    latency: float,
    confidence: float | None,
    agreed: bool | None = None,
) -> None:
    """Count the inference (metrics and the guardrail's window); trip the
    guardrail when the version's error rate passes its limit."""
    # The metric's variants are active / candidate / shadow (a shadow-mode
    # candidate), as the dashboards and the metric's help say.
    shadow = view.mode == Deployment.Mode.SHADOW and variant == "candidate"
    label = "shadow" if shadow else ("active" if variant == "primary" else variant)
    labels = (view.name, str(loaded.number), label)
    metrics.predictions.labels(*labels).inc()
    if ok:
        metrics.prediction_duration.labels(*labels).observe(latency / 1000)
    rate = stats.record(
        deployment_salt=view.salt,
        version_id=loaded.version_id,
        variant=variant,
        ok=ok,
        latency_ms=latency,
        confidence=confidence,
        agreed=agreed,
        window=view.guardrail_window,
    )
    limit = view.guardrail_max_error_rate
    if rate is not None and limit > 0 and rate > limit:
        guardrail_trip(view=view, version_id=loaded.version_id, error_rate=rate)


def guardrail_trip(*, view: DeploymentView, version_id: int, error_rate: float) -> None:
    """Auto-rollback: stop a failing candidate, or roll back a failing active."""
    model = RegisteredModel.objects.get(pk=view.model_id)
    dep = Deployment.objects.get(model=model)
    detail = (
        f"error rate {error_rate:.0%} over the last {view.guardrail_window} "
        f"predictions passed the guardrail of {view.guardrail_max_error_rate:.0%}"
    )
    auto = ActivationEvent.Kind.AUTO_ROLLBACK
    try:
        if dep.candidate_version_id == version_id:
            deployment_stop(model=model, kind=auto, detail=detail)
        elif dep.active_version_id == version_id:
            deployment_rollback(model=model, kind=auto, detail=detail)
    except Conflict as exc:
        logger.warning("guardrail tripped for %s but: %s", model, exc.message)


# --- answer -----------------------------------------------------------------


def _named_by_words(
    loaded: LoadedVersion,
    words: tuple[str, ...],
    in_title: frozenset[str] = frozenset(),
) -> dict[str, str] | None:
    """What a tenant's model read in the file name or title, as ``named``:
    the label its learned words point to, those words, and where they were
    read (the title block when only the title has them); None when they
    point to none, or the model learned no names."""
    names = loaded.open_set.names if loaded.open_set is not None else None
    told = names.telling(words) if names is not None and words else None
    if told is None:
        return None
    label, telling = told
    return {
        "family": loaded.labels[label],
        "word": " ".join(telling),
        "found_in": "title block" if set(telling) <= in_title else "file name",
    }


def _weighed(
    view: DeploymentView,
    loaded: LoadedVersion,
    probs: np.ndarray,
    named: Named | None,
    words: tuple[str, ...] = (),
    in_title: frozenset[str] = frozenset(),
) -> tuple[Named | None, dict[str, str] | None, np.ndarray, bool]:
    """The default reading of the name that counts (``openset.reads_named``),
    what the model's own learned words read in it (``_named_by_words``), the
    probabilities as answered (``openset.weighed``: calibrated, both weighed
    in; ``not_a_part`` set aside), and whether the vector is most like no
    part."""
    told = _named_by_words(loaded, words, in_title) if words else None
    names = loaded.open_set.names if loaded.open_set is not None else None
    if named is not None and not reads_named(
        named.family,
        loaded.labels,
        words,
        names,
        tenant_model=view.tenant_id is not None,
        on_default_base=loaded.on_default_base,
    ):
        named = None
    # Calibration never changes the ranking, only how sure the answer is; the
    # file name's words do, when the model learned its labels'. The name is
    # evidence beside the drawing, also of whether it is a part.
    rows = weighed(
        loaded.open_set,
        np.atleast_2d(probs),
        loaded.labels,
        [words],
        [named.family if named else None],
    )
    rows, outside = set_aside(
        rows, loaded.labels, share=float(settings.CADML_MODEL_NOT_A_PART_SHARE)
    )
    return named, told, rows[0], bool(outside[0])


def _verdict(
    loaded: LoadedVersion, features: list[float], outside: bool
) -> tuple[bool | None, str | None, float | None]:
    """Whether the vector is no part the model knows (None: the model cannot
    say), why, and its novelty. The reason is for the person reading the
    answer: most like another domain, far from every part's prototype, or a
    kind of drawing no part the model learned was (a lone rectangle)."""
    unknown = True if outside else None
    reason = "not_a_part" if outside else None
    if loaded.open_set is None:
        return unknown, reason, None
    X = np.asarray(features)
    novelty = float(loaded.open_set.novelty(X)[0])
    far = novelty > loaded.open_set.threshold
    shape = bool(loaded.open_set.unlearned_shape(X)[0])
    if not outside:
        reason = "far_from_known_parts" if far else "lone_rectangle" if shape else None
    return outside or far or shape, reason, novelty


def _answer_parts(
    view: DeploymentView,
    loaded: LoadedVersion,
    parts: list[dict[str, Any]],
    *,
    source: str,
    target: str,
) -> list[dict[str, Any]]:
    """Each part (with its own ``features`` of version ``source``) answered by
    ``loaded``, its product name weighed as a drawing's name is: ``index``,
    ``name``, ``label``, ``confidence``, ``unknown``, ``unknown_reason``,
    ``needs_review`` and ``named``. Not recorded in the model's statistics or
    shadowed: the whole file's answer is the prediction."""
    from apps.cad.part_names import named_product

    threshold = float(settings.CADML_MODEL_CONFIDENCE_THRESHOLD)
    out = []
    for part in parts:
        vector = downgrade(
            list(part.get("features") or []), source=source, target=target
        )
        if not vector or len(vector) != loaded.width:
            continue
        try:
            probs, _ = _infer(loaded, vector)
        except ValueError:
            continue
        named, told, probs, outside = _weighed(
            view, loaded, probs, named_product(part.get("name"))
        )
        unknown, reason, _ = _verdict(loaded, vector, outside)
        best = int(part_order(probs, loaded.labels)[0])
        confidence = float(probs[best])
        out.append(
            {
                "index": part.get("index"),
                "name": part.get("name"),
                "label": loaded.labels[best],
                "confidence": round(confidence, 6),
                "unknown": unknown,
                "unknown_reason": reason,
                "needs_review": confidence < threshold,
                "named": named.as_json() if named else told,
            }
        )
    return out


def _answer(
    view: DeploymentView,
    loaded: LoadedVersion,
    variant: str,
    features: list[float],
    probs: np.ndarray,
    order: np.ndarray,
    latency: float,
    outside: bool,
) -> dict[str, Any]:
    """``probs``: calibrated, ``not_a_part`` set aside (``outside``: it was
    the most likely label, so the drawing is no part the model knows)."""
    unknown, reason, novelty = _verdict(loaded, features, outside)
    confidence = float(probs[order[0]])
    threshold = float(settings.CADML_MODEL_CONFIDENCE_THRESHOLD)
    return {
        "prediction": {
            "label": loaded.labels[int(order[0])],
            "confidence": round(confidence, 6),
            "unknown": unknown,
            "unknown_reason": reason,
            "novelty": round(novelty, 4) if novelty is not None else None,
            "top3": [
                {
                    "label": loaded.labels[int(i)],
                    "confidence": round(float(probs[i]), 6),
                }
                for i in order[:3]
            ],
            "model_name": view.name,
            "model_version": loaded.number,
            # Whose model answered (a tenant's own model may share the
            # platform model's name): corrections are counted against it.
            "model_owner": "tenant" if view.tenant_id is not None else "platform",
            "variant": variant,
            "needs_review": confidence < threshold,
            "inference_ms": round(latency, 3),
        },
        "confidence": confidence,
        "model_name": view.name,
        "model_version": loaded.number,
        "variant": variant,
    }
