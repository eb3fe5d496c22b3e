"""Calibrated, open-set answers on top of a classifier's probabilities.

Training (``training.train``) fits two things on data the estimator did not
see, and stores them with the version's metrics under ``"open_set"``:

- a temperature ``T`` for the probabilities (``p ** (1 / T)``, renormalised),
  chosen by log-loss on the calibration split;
- class prototypes in a standardised feature space: each class's mean vector
  and its median member distance (its radius). A drawing's novelty is its
  smallest distance to a prototype in units of that class's radius; above the
  threshold (a high quantile of the calibration split's own novelty) the answer
  is ``unknown``.

All of it is a few numpy operations per drawing on the prediction path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

Z_CLIP = 10.0  # a slot far outside the training range counts, but not forever


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
    ) -> OpenSet:
        """Prototypes from ``X``/``y``; temperature and threshold from the
        calibration rows (which ``X`` must not contain)."""
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
        partial = cls(mean, scale, protos, radius, math.inf, 1.0)
        novelty = partial.novelty(X_cal)
        threshold = float(np.quantile(novelty, quantile)) if len(novelty) else math.inf
        y_idx = np.asarray([labels.index(str(v)) for v in y_cal])
        temperature = fit_temperature(probs_cal, y_idx)
        within = np.mean([z[y == label].var(axis=0) for label in labels], axis=0)
        fisher = protos.var(axis=0) / (within + 0.05)
        metric = fisher / fisher.mean() if fisher.mean() > 0 else np.ones_like(fisher)
        return cls(mean, scale, protos, radius, threshold, temperature, metric)

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
