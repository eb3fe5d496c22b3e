"""The health check a version passes before it serves: its artefact is intact and
valid, it predicts its validation sample within the latency budget, finitely,
and no less accurately than its recorded accuracy allows."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import numpy as np
from django.conf import settings

from apps.modelreg.models import ModelVersion
from apps.modelreg.validation import (
    _ort_session,
    check_onnx,
    feature_width,
    max_model_bytes,
)
from cadml import metrics

Result = tuple[bool, str, dict[str, Any]]


class _Failed(Exception):
    """The check failed for ``reason``; never leaves this module."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def version_health_check(*, version: ModelVersion) -> Result:
    """Load the version, check it, predict its validation sample.

    Returns (passed, reason, figures); never raises for a bad model.
    """
    figures: dict[str, Any] = {}
    try:
        _check(version, figures)
        passed, reason = True, ""
    except _Failed as exc:
        passed, reason = False, exc.reason
    outcome = "passed" if passed else "failed"
    metrics.model_health_checks.labels(version.model.name, outcome).inc()
    return passed, reason, figures


def _check(version: ModelVersion, figures: dict[str, Any]) -> None:
    content = _intact_artefact(version)
    session = _ort_session(content)
    sample = version.validation_sample or {}
    rows = sample.get("features") or []
    truth = sample.get("labels") or []
    if not rows:
        width = feature_width(version.model.feature_version)
        rows = np.random.default_rng(1).random((8, width)).tolist()
    predicted, latencies = _predict_rows(session, rows, version.class_labels())
    _judge_latency(latencies, figures)
    if truth:
        _judge_accuracy(version, predicted, truth, figures)


def _intact_artefact(version: ModelVersion) -> bytes:
    """The artefact's bytes, once they match the recorded hash and pass the same
    validation as at registration."""
    try:
        with version.artefact.open("rb") as fh:
            content = fh.read()
    except OSError as exc:
        raise _Failed(f"artefact unreadable: {exc}") from None
    if hashlib.sha256(content).hexdigest() != version.sha256:
        raise _Failed("artefact does not match its recorded sha256")
    try:
        check_onnx(
            content,
            feature_version=version.model.feature_version,
            labels=version.class_labels(),
            max_bytes=max_model_bytes(),
        )
    except Exception as exc:  # noqa: BLE001 - any failure fails the check
        raise _Failed(getattr(exc, "message", str(exc))) from None
    return content


def _predict_rows(
    session: Any, rows: list[list[float]], labels: list[str]
) -> tuple[list[str], list[float]]:
    """One row at a time, as serving runs: the label of each and its latency (ms)."""
    input_name = session.get_inputs()[0].name
    prob_name = next(
        o.name
        for o in session.get_outputs()
        if o.type == "tensor(float)" and len(o.shape or []) == 2
    )
    latencies = []
    predicted = []
    for row in rows:
        x = np.asarray([row], dtype=np.float32)
        t0 = time.perf_counter()
        (probs,) = session.run([prob_name], {input_name: x})
        latencies.append((time.perf_counter() - t0) * 1000)
        if not np.isfinite(probs).all():
            raise _Failed("the model outputs NaN on the validation sample")
        predicted.append(labels[int(np.argmax(probs[0]))])
    return predicted, latencies


def _judge_latency(latencies: list[float], figures: dict[str, Any]) -> None:
    p95 = float(np.percentile(latencies, 95))
    figures["latency_ms_p95"] = round(p95, 3)
    budget = float(settings.CADML_MODEL_LATENCY_BUDGET_MS)
    if p95 > budget:
        raise _Failed(f"latency p95 {p95:.1f} ms is over the budget of {budget} ms")


def _judge_accuracy(
    version: ModelVersion,
    predicted: list[str],
    truth: list[str],
    figures: dict[str, Any],
) -> None:
    accuracy = sum(p == t for p, t in zip(predicted, truth, strict=True)) / len(truth)
    figures["accuracy"] = round(accuracy, 4)
    metrics = version.metrics or {}
    # A trained version records its accuracy on the very rows of its sample
    # (up to 200 of the held-out ones): the held-out accuracy would fail a
    # healthy version by the sample's chance alone.
    recorded = metrics.get("validation_sample_accuracy", metrics.get("accuracy"))
    tolerance = float(settings.CADML_MODEL_ACCURACY_TOLERANCE)
    if isinstance(recorded, int | float) and accuracy < recorded - tolerance:
        raise _Failed(
            f"accuracy {accuracy:.3f} on the validation sample is below the "
            f"recorded {recorded:.3f} minus the tolerance {tolerance}"
        )
