"""The spaces in which similar drawings are searched.

- ``unsupervised`` (``dxf-2``): every slot standardised over the tenant's own
  drawings (median and spread, so a few odd drawings do not set the scale),
  then each view (geometry, picture, words) scaled to the same total weight,
  so the 64 word buckets do not outvote the picture or the other way round.
- ``learned``: the standardisation the tenant's model was trained with, each
  slot weighted by how well it separated the tenant's labels (between-class
  over within-class variance, a diagonal linear metric). Used when the tenant
  has a trained model that serves its drawings' feature version.

Neighbours are ranked by cosine similarity in the chosen space.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from apps.cad import features

Z_CLIP = 10.0


@dataclass(frozen=True)
class Space:
    name: str
    centre: np.ndarray
    scale: np.ndarray
    weight: np.ndarray

    def embed(self, X: np.ndarray) -> np.ndarray:
        X = np.atleast_2d(np.asarray(X, dtype=float))
        z = np.clip(
            (X[:, : len(self.centre)] - self.centre) / self.scale, -Z_CLIP, Z_CLIP
        )
        return z * self.weight

    @classmethod
    def unsupervised(cls, X: np.ndarray) -> Space:
        X = np.atleast_2d(np.asarray(X, dtype=float))
        width = X.shape[1]
        if len(X) == 0:
            centre, spread = np.zeros(width), np.ones(width)
        else:
            centre = np.median(X, axis=0)
            q75, q25 = np.percentile(X, [75, 25], axis=0)
            # Slots constant over most drawings fall back to their std.
            spread = np.where(q75 - q25 > 1e-6, (q75 - q25) / 1.349, X.std(axis=0))
        scale = np.maximum(spread, 1e-3)
        weight = np.ones(width)
        if width == len(features.DXF2_SLOTS):
            for lo, hi in features.DXF2_VIEWS.values():
                weight[lo:hi] = 1.0 / np.sqrt(hi - lo)
        else:
            weight /= np.sqrt(width)
        return cls(f"{_version(width)}-unsupervised", centre, scale, weight)

    @classmethod
    def learned(cls, open_set: Any, *, name: str = "model-metric") -> Space | None:
        """The model's metric, or None when the model carries none."""
        if open_set is None or getattr(open_set, "metric", None) is None:
            return None
        return cls(
            name,
            np.asarray(open_set.mean, dtype=float),
            np.asarray(open_set.scale, dtype=float),
            np.sqrt(np.asarray(open_set.metric, dtype=float)),
        )


def _version(width: int) -> str:
    for version, slots in features.SLOTS.items():
        if len(slots) == width:
            return version
    return "features"
