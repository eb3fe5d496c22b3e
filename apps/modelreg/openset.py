"""Calibrated, open-set answers on top of a classifier's probabilities.

Training (``training.train``) fits two things on data the estimator did not
see, and stores them with the version's metrics under ``"open_set"``:

- a temperature ``T`` for the probabilities (``p ** (1 / T)``, renormalised),
  chosen by log-loss on the calibration split;
- class prototypes in a standardised feature space: each class's mean vector
  and its median member distance (its radius). A drawing's novelty is its
  smallest distance to a prototype in units of that class's radius; above the
  threshold (a high quantile of the training parts' novelty, each row measured
  out of fold) the answer is ``unknown``.

A model trained with drawings labelled ``not_a_part`` (the default model: other
domains from ``apps.cad.synth.other``) also answers ``unknown`` when that label
is its most likely one, or holds at least ``CADML_MODEL_NOT_A_PART_SHARE`` of
the calibrated probability; it has no prototype, and the answer's label is the most
likely part (``set_aside``).

All of it is a few numpy operations per drawing on the prediction path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from apps.cad.synth import NOT_A_PART

Z_CLIP = 10.0  # a slot far outside the training range counts, but not forever
FOLDS = 5


@dataclass(frozen=True)
class OpenSet:
    mean: np.ndarray
    scale: np.ndarray
    prototypes: np.ndarray  # (classes, width), standardised
    radius: np.ndarray  # (classes,)
    threshold: float
    temperature: float
    # Per-slot weights of a diagonal metric learned from the labels (between-
    # over within-class variance, mean 1): what similar-drawing search uses.
    metric: np.ndarray | None = None

    @classmethod
    def fit(
        cls,
        X: np.ndarray,
        y: np.ndarray,
        labels: list[str],
        *,
        X_cal: np.ndarray,
        probs_cal: np.ndarray,
        y_cal: np.ndarray,
        quantile: float,
        margin: float = 1.0,
    ) -> OpenSet:
        """Prototypes of the part labels (all but ``not_a_part``) from
        ``X``/``y``; temperature and threshold from the calibration rows (which
        ``X`` must not contain). The threshold is ``margin`` times the
        ``quantile`` of the parts' novelty."""
        y_idx = np.asarray([labels.index(str(v)) for v in y_cal])
        temperature = fit_temperature(probs_cal, y_idx)
        parts = known_labels(labels)
        X, y = X[np.isin(y, parts)], y[np.isin(y, parts)]
        cal = np.isin(y_cal, parts)
        X_cal, y_cal = X_cal[cal], y_cal[cal]
        mean, scale, z, protos, radius = _prototypes(X, y, parts)
        # The threshold is a high quantile, so it is set on every row's novelty
        # out of fold (five folds of the training and calibration rows), not
        # on the calibration split alone: a 0.99 quantile of a hundred rows
        # is its largest value and moves with every retraining.
        X_all, y_all = np.vstack([X, X_cal]), np.concatenate([y, y_cal])
        fold = np.zeros(len(y_all), dtype=int)
        for label in parts:
            rows = np.flatnonzero(y_all == label)
            fold[rows] = np.arange(len(rows)) % FOLDS
        novelty = np.empty(len(y_all))
        for k in range(FOLDS):
            rest = fold != k
            if not (fold == k).any() or any(
                not (rest & (y_all == label)).any() for label in parts
            ):
                novelty[fold == k] = np.nan
                continue
            f_mean, f_scale, _, f_protos, f_radius = _prototypes(
                X_all[rest], y_all[rest], parts
            )
            partial = cls(f_mean, f_scale, f_protos, f_radius, math.inf, 1.0)
            novelty[fold == k] = partial.novelty(X_all[fold == k])
        novelty = novelty[np.isfinite(novelty)]
        threshold = (
            margin * float(np.quantile(novelty, quantile)) if len(novelty) else math.inf
        )
        metric = _fisher(z, y, protos, parts)
        return cls(mean, scale, protos, radius, threshold, temperature, metric)

    def refitted(self, X: np.ndarray, y: np.ndarray, labels: list[str]) -> OpenSet:
        """The same temperature and threshold; standardisation, prototypes,
        radii and metric from ``X``/``y`` (every labelled row, once the
        calibration rows have set the rest)."""
        parts = known_labels(labels)
        X, y = X[np.isin(y, parts)], y[np.isin(y, parts)]
        mean, scale, z, protos, radius = _prototypes(X, y, parts)
        return replace(
            self,
            mean=mean,
            scale=scale,
            prototypes=protos,
            radius=radius,
            metric=_fisher(z, y, protos, parts),
        )

    def novelty(self, X: np.ndarray) -> np.ndarray:
        z = np.clip((np.atleast_2d(X) - self.mean) / self.scale, -Z_CLIP, Z_CLIP)
        d = np.linalg.norm(z[:, None, :] - self.prototypes[None, :, :], axis=2)
        return (d / self.radius[None, :]).min(axis=1)

    def calibrate(self, probs: np.ndarray) -> np.ndarray:
        return temper(probs, self.temperature)

    def as_json(self) -> dict[str, Any]:
        return {
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "prototypes": [
                [round(float(v), 5) for v in row] for row in self.prototypes
            ],
            "radius": [round(float(v), 6) for v in self.radius],
            "threshold": self.threshold if math.isfinite(self.threshold) else None,
            "temperature": self.temperature,
            "metric": None
            if self.metric is None
            else [round(float(v), 6) for v in self.metric],
        }

    @classmethod
    def from_json(cls, data: Any, *, width: int, classes: int) -> OpenSet | None:
        """The stored parameters, or None when absent or not of this model's
        shape (a version registered by hand carries none)."""
        if not isinstance(data, dict):
            return None
        try:
            mean = np.asarray(data["mean"], dtype=float)
            scale = np.asarray(data["scale"], dtype=float)
            protos = np.asarray(data["prototypes"], dtype=float)
            radius = np.asarray(data["radius"], dtype=float)
            threshold = data.get("threshold")
            temperature = float(data.get("temperature") or 1.0)
            metric = (
                np.asarray(data["metric"], dtype=float)
                if data.get("metric") is not None
                else None
            )
        except (KeyError, TypeError, ValueError):
            return None
        if metric is not None and metric.shape != (width,):
            metric = None
        if (
            mean.shape != (width,)
            or scale.shape != (width,)
            or protos.shape != (classes, width)
            or radius.shape != (classes,)
            or not (np.all(scale > 0) and np.all(radius > 0) and temperature > 0)
        ):
            return None
        return cls(
            mean,
            scale,
            protos,
            radius,
            math.inf if threshold is None else float(threshold),
            temperature,
            metric,
        )


def _prototypes(
    X: np.ndarray, y: np.ndarray, labels: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Standardisation, standardised rows, class means and radii."""
    mean = X.mean(axis=0)
    scale = np.maximum(X.std(axis=0), 1e-3)
    z = np.clip((X - mean) / scale, -Z_CLIP, Z_CLIP)
    protos = np.stack([z[y == label].mean(axis=0) for label in labels])
    radius = np.asarray(
        [
            max(
                float(np.median(np.linalg.norm(z[y == label] - protos[i], axis=1))),
                1e-3,
            )
            for i, label in enumerate(labels)
        ]
    )
    return mean, scale, z, protos, radius


def _fisher(
    z: np.ndarray, y: np.ndarray, protos: np.ndarray, parts: list[str]
) -> np.ndarray:
    """Per-slot between- over within-class variance of the standardised rows,
    mean 1 (the diagonal metric)."""
    within = np.mean([z[y == label].var(axis=0) for label in parts], axis=0)
    fisher = protos.var(axis=0) / (within + 0.05)
    return fisher / fisher.mean() if fisher.mean() > 0 else np.ones_like(fisher)


def known_labels(labels: list[str] | tuple[str, ...]) -> list[str]:
    """The labels that have prototypes: every label but ``not_a_part``."""
    return [label for label in labels if label != NOT_A_PART]


def set_aside(
    probs: np.ndarray, labels: list[str] | tuple[str, ...], share: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """``probs`` (one row or many) with ``not_a_part``'s share set to 0 (not
    renormalised: the parts keep their own probabilities), and for each row
    whether the drawing is no part the model knows: ``not_a_part`` is its most
    likely label, or holds at least ``share`` of the probability."""
    if NOT_A_PART not in labels:
        return probs, np.zeros(np.shape(probs)[:-1], dtype=bool)
    i = list(labels).index(NOT_A_PART)
    probs = np.array(probs, dtype=float, copy=True)
    outside = (np.argmax(probs, axis=-1) == i) | (probs[..., i] >= share)
    probs[..., i] = 0.0
    return probs, outside


def part_order(probs: np.ndarray, labels: list[str] | tuple[str, ...]) -> np.ndarray:
    """Label indexes, most likely first, without ``not_a_part``."""
    order = np.argsort(-np.asarray(probs))
    return np.asarray([i for i in order if labels[int(i)] != NOT_A_PART], dtype=int)


def temper(probs: np.ndarray, temperature: float) -> np.ndarray:
    p = np.clip(np.asarray(probs, dtype=float), 1e-12, 1.0) ** (1.0 / temperature)
    return p / p.sum(axis=-1, keepdims=True)


def fit_temperature(probs: np.ndarray, y_idx: np.ndarray) -> float:
    """The temperature with the smallest log-loss on held-out rows."""
    if len(y_idx) == 0:
        return 1.0
    best_t, best_loss = 1.0, math.inf
    for t in np.exp(np.linspace(math.log(0.2), math.log(5.0), 41)):
        p = temper(probs, float(t))
        loss = float(-np.log(np.clip(p[np.arange(len(y_idx)), y_idx], 1e-12, 1)).mean())
        if loss < best_loss:
            best_t, best_loss = float(t), loss
    return round(best_t, 4)
